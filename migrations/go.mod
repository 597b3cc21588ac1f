module github.com/sage-mcp/sage/migrations

go 1.26
