package http_test

import (
	"context"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"testing"

	sage "github.com/sage-mcp/sage/daemon"
	sagehttp "github.com/sage-mcp/sage/daemon/http"
	"github.com/sage-mcp/sage/daemon/mcpserver"
	"github.com/sage-mcp/sage/daemon/mock"
)

// TestMCPMetricLabelsBounded: tool names and methods a client makes up
// create no metric series: an unknown tool counts as "other", an unknown
// method is not counted by method at all.
func TestMCPMetricLabelsBounded(t *testing.T) {
	t.Parallel()
	svc := &mock.Service{StatusFn: func(context.Context) (sage.Status, error) { return sage.Status{}, nil }}
	_, base := MustMockStack(t, svc, sagehttp.Options{})
	const flood = 40
	for i := range flood {
		for _, msg := range []string{
			fmt.Sprintf(`{"jsonrpc":"2.0","id":%d,"method":"tools/call","params":{"name":"bogus_%d","arguments":{}}}`, i, i),
			fmt.Sprintf(`{"jsonrpc":"2.0","id":%d,"method":"bogus/%d","params":{}}`, i, i),
		} {
			MustDo(t, "POST", base+"/mcp", "", msg, "Accept", "application/json, text/event-stream")
		}
	}
	MustDo(t, "POST", base+"/mcp", "", `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"get_status","arguments":{}}}`,
		"Accept", "application/json, text/event-stream").MustStatus(t, 200)

	r := MustDo(t, "GET", base+"/metrics", "", nil).MustStatus(t, 200)
	series := regexp.MustCompile(`(?m)^sage_mcp_request_duration_seconds_count\{method="([^"]*)",tool="([^"]*)"\} (\d+)$`).
		FindAllStringSubmatch(string(r.Body), -1)
	tools := append([]string{"", "other"}, mcpserver.ToolNames...)
	counts := map[string]string{}
	for _, s := range series {
		if strings.Contains(s[1], "bogus") || !slices.Contains(tools, s[2]) {
			t.Errorf("a made-up name became a label: %s", s[0])
		}
		counts[s[1]+" "+s[2]] = s[3]
	}
	if got := counts["tools/call other"]; got != fmt.Sprint(flood) {
		t.Errorf("unknown tools counted %q times as other, want %d; series %v", got, flood, counts)
	}
	if got := counts["tools/call get_status"]; got != "1" {
		t.Errorf("get_status counted %q times, want 1; series %v", got, counts)
	}
}
