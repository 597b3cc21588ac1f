package hook

import (
	"context"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/sage-mcp/sage/bridge/client"
	"github.com/sage-mcp/sage/shared/api"
)

// contextAPI answers Context with fn (a function-field mock of API).
type contextAPI struct {
	recorder
	fn func(client.ContextParams) api.ContextResponse
}

func (c *contextAPI) Context(_ context.Context, p client.ContextParams) (api.ContextResponse, error) {
	return c.fn(p), nil
}
func (c *contextAPI) Sessions(context.Context, string, int) ([]api.Session, error) { return nil, nil }
func (c *contextAPI) Search(context.Context, client.SearchParams) ([]api.Memory, error) {
	return nil, nil
}

// TestRecallAsksDaemon: UserPromptSubmit asks the daemon for gated context
// without its own session, within the budget the markers leave, and
// injects the daemon's block as is between the markers (nothing when the
// block is empty, even with items).
func TestRecallAsksDaemon(t *testing.T) {
	const block = "Relevant memories (from Sage):\n- [2026-11-20 · web · abc] Vite serves on port 5173.\n"
	tests := []struct {
		name     string
		maxChars int
		minScore float64
		resp     api.ContextResponse
		want     string
	}{
		{"block as is", 2000, 0, api.ContextResponse{Context: block, Items: []api.Memory{{ID: 1}}},
			"<sage-memory>\n" + strings.TrimSuffix(block, "\n") + "\n</sage-memory>"},
		{"nothing passed the gate", 2000, 0.5, api.ContextResponse{Items: []api.Memory{{ID: 1, SessionID: "other"}}}, ""},
		{"oversized block cut to budget", 60, 0, api.ContextResponse{Context: block + strings.Repeat("x", 100)}, "cut"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got client.ContextParams
			fake := &contextAPI{fn: func(p client.ContextParams) api.ContextResponse { got = p; return tt.resp }}
			r, _ := newTestRunner(t, fake, Options{Inject: true, MaxChars: tt.maxChars, MinScore: tt.minScore})
			out, err := r.userPromptSubmit(context.Background(), Input{SessionID: "sess-1", CWD: "/w/web", PromptID: "p1",
				Prompt: "Which port does the vite dev server use?"})
			if err != nil {
				t.Fatal(err)
			}
			markers := utf8.RuneCountInString("<sage-memory>\n</sage-memory>")
			want := client.ContextParams{Query: "Which port does the vite dev server use?", MaxResults: ContextResults,
				MaxChars: tt.maxChars - markers, Project: "web", ExcludeSession: "sess-1", MinScore: tt.minScore, Gate: true, Source: "hook"}
			if got != want {
				t.Errorf("asked %+v, want %+v", got, want)
			}
			switch {
			case tt.want == "cut":
				if n := utf8.RuneCountInString(out); n > tt.maxChars || !strings.HasPrefix(out, "<sage-memory>\nRelevant") || !strings.HasSuffix(out, "…\n</sage-memory>") {
					t.Errorf("injected %d runes %q, want a cut block within %d", n, out, tt.maxChars)
				}
			case out != tt.want:
				t.Errorf("injected %q, want %q", out, tt.want)
			}
		})
	}
}
