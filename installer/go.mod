module github.com/sage-mcp/sage/installer

go 1.26
