package metrics

import (
	"context"
	"slices"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// MCP returns a go-sdk receiving middleware that records every MCP request
// the server handles by JSON-RPC method and, for tools/call, tool name:
// one of tools, else OtherTool. Add it last (outermost) so that it times
// the whole request.
//
// The go-sdk dispatches only the methods it knows, so the method label is
// bounded too; messages it refuses before dispatch (unknown methods,
// responses, malformed JSON) are counted by the HTTP route only.
func (r *Registry) MCP(tools []string) mcp.Middleware {
	tools = slices.Clone(tools)
	return func(next mcp.MethodHandler) mcp.MethodHandler {
		return func(ctx context.Context, method string, req mcp.Request) (mcp.Result, error) {
			start := time.Now()
			res, err := next(ctx, method, req)
			tool := ""
			if call, ok := req.(*mcp.CallToolRequest); ok {
				tool = OtherTool
				if call.Params != nil && slices.Contains(tools, call.Params.Name) {
					tool = call.Params.Name
				}
			}
			r.mcpDuration.WithLabelValues(method, tool).Observe(time.Since(start).Seconds())
			return res, err
		}
	}
}
