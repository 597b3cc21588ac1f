module github.com/sage-mcp/sage/shared

go 1.26
