package mcpserver

import (
	"context"
	"net/http"
	"testing"

	sage "github.com/sage-mcp/sage/daemon"
	"github.com/sage-mcp/sage/shared/api"
)

// TestSearchContextInjection: search_memory with max_chars takes
// exclude_session and min_score, and each block it returns is recorded in
// the injection audit for the request's session; without max_chars those
// arguments are refused, and nothing is recorded.
func TestSearchContextInjection(t *testing.T) {
	svc := MustService(t)
	url := MustServe(t, svc, Options{})
	h := http.Header{}
	h.Set(HeaderProject, "web")
	h.Set(HeaderSession, "now")
	cs := MustClientWithHeaders(t, url, tokenAlpha, h)
	var a, b api.SaveResult
	MustCall(t, cs, ToolRemember, map[string]any{"content": "The vite dev server listens on port 5173.", "session_id": "now"}, &a)
	MustCall(t, cs, ToolRemember, map[string]any{"content": "The vite dev server proxies /api to port 8080.", "session_id": "before"}, &b)

	tests := []struct {
		name     string
		args     map[string]any
		want     []int64
		recorded int // audit rows after the call
	}{
		{"plain search records nothing", map[string]any{}, []int64{a.ID, b.ID}, 0},
		{"block recorded", map[string]any{"max_chars": 2000}, []int64{a.ID, b.ID}, 1},
		{"exclude session", map[string]any{"max_chars": 2000, "exclude_session": "now"}, []int64{b.ID}, 2},
		{"min score drops all, nothing recorded", map[string]any{"max_chars": 2000, "min_score": 50}, nil, 2},
	}
	ctx := sage.WithNamespace(context.Background(), "alpha")
	for _, tt := range tests {
		args := map[string]any{"query": "vite dev server port"}
		for k, v := range tt.args {
			args[k] = v
		}
		var out SearchMemoryOutput
		MustCall(t, cs, ToolSearchMemory, args, &out)
		if len(out.Results) != len(tt.want) || (len(tt.want) > 0 && !sameIDs(out.Results, tt.want)) {
			t.Errorf("%s: %d results %+v, want %v", tt.name, len(out.Results), out.Results, tt.want)
		}
		got, err := svc.Injections(ctx, sage.InjectionFilter{})
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != tt.recorded {
			t.Fatalf("%s: %d injections recorded, want %d", tt.name, len(got), tt.recorded)
		}
		if len(got) > 0 && (got[0].Source != sage.SourceSearch || got[0].SessionID != "now" || got[0].Project != "web" || got[0].PromptHead != "vite dev server port") {
			t.Errorf("%s: recorded %+v", tt.name, got[0])
		}
	}
	MustFail(t, cs, ToolSearchMemory, map[string]any{"query": "x", "exclude_session": "now"}, "exclude_session", "max_chars")
	MustFail(t, cs, ToolSearchMemory, map[string]any{"query": "x", "min_score": 0.1}, "min_score", "max_chars")
	MustFail(t, cs, ToolSearchMemory, map[string]any{"query": "x", "max_chars": 100, "min_score": -1}, "min_score")
}

func sameIDs(ms []api.Memory, ids []int64) bool {
	in := map[int64]bool{}
	for _, m := range ms {
		in[m.ID] = true
	}
	for _, id := range ids {
		if !in[id] {
			return false
		}
	}
	return len(ms) == len(ids)
}
