module github.com/sage-mcp/sage/bridge

go 1.26.0

require (
	github.com/gofrs/flock v0.13.2
	github.com/hashicorp/go-retryablehttp v0.7.8
	github.com/kardianos/service v1.3.0
	github.com/sage-mcp/sage/shared v0.0.0
)

require (
	github.com/hashicorp/go-cleanhttp v0.5.2 // indirect
	github.com/sage-mcp/sage/testkit v0.0.0
	golang.org/x/sys v0.49.0 // indirect
)

replace github.com/sage-mcp/sage/shared => ../shared

replace github.com/sage-mcp/sage/testkit => ../testkit
