package http_test

import (
	"context"
	"strings"
	"testing"

	sage "github.com/sage-mcp/sage/daemon"
	sagehttp "github.com/sage-mcp/sage/daemon/http"
	"github.com/sage-mcp/sage/daemon/mock"
)

// TestJSONRPCIDsExact: over direct HTTP, every request id comes back byte
// for byte, in JSON and in SSE answers, including those a float64 decoder
// would change.
func TestJSONRPCIDsExact(t *testing.T) {
	t.Parallel()
	svc := &mock.Service{StatusFn: func(context.Context) (sage.Status, error) { return sage.Status{}, nil }}
	_, base := MustMockStack(t, svc, sagehttp.Options{})
	ids := []string{`1.5`, `9007199254740993123`, `1e3`, `-0`, `"\u0041b"`, `"plain"`, `42`}
	accepts := []struct{ name, accept string }{
		{"sse", "application/json, text/event-stream"},
	}
	for _, a := range accepts {
		for _, id := range ids {
			t.Run(a.name+" "+id, func(t *testing.T) {
				for _, msg := range []string{
					`{"jsonrpc":"2.0","id":` + id + `,"method":"ping"}`,
					`{"jsonrpc":"2.0","id":` + id + `,"method":"tools/call","params":{"name":"get_status","arguments":{}}}`,
				} {
					r := MustDo(t, "POST", base+"/mcp", "", msg, "Accept", a.accept).MustStatus(t, 200)
					body := string(r.Body)
					if !strings.Contains(body, `"id":`+id+`,`) || strings.Contains(body, "sage-id-") {
						t.Errorf("%s: answer %s, want id %s unchanged", msg, body, id)
					}
				}
			})
		}
	}
}
