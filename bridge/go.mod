module github.com/sage-mcp/sage/bridge

go 1.26
