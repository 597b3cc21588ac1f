module github.com/sage-mcp/sage/bridge

go 1.26

require github.com/sage-mcp/sage/shared v0.0.0

require (
	github.com/gofrs/flock v0.13.2 // indirect
	github.com/hashicorp/go-cleanhttp v0.5.2 // indirect
	github.com/hashicorp/go-retryablehttp v0.7.8 // indirect
	github.com/kardianos/service v1.3.0 // indirect
	github.com/modelcontextprotocol/go-sdk v1.8.0 // indirect
	golang.org/x/sys v0.49.0 // indirect
)

replace github.com/sage-mcp/sage/shared => ../shared
