module github.com/sage-mcp/sage/installer

go 1.26.0

require github.com/sage-mcp/sage/shared v0.0.0

require github.com/sage-mcp/sage/testkit v0.0.0

replace github.com/sage-mcp/sage/shared => ../shared

replace github.com/sage-mcp/sage/testkit => ../testkit
