package client_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"

	"github.com/sage-mcp/sage/bridge/client"
	"github.com/sage-mcp/sage/shared/api"
	"github.com/sage-mcp/sage/testkit/daemontest"
)

// TestContextParams: each ContextParams field becomes its query parameter,
// and zero fields are not sent.
func TestContextParams(t *testing.T) {
	var got url.Values
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got = r.URL.Query()
		_ = json.NewEncoder(w).Encode(api.ContextResponse{})
	}))
	t.Cleanup(srv.Close)
	c := client.New(srv.URL, "t")
	tests := []struct {
		p    client.ContextParams
		want url.Values
	}{
		{client.ContextParams{Query: "q"}, url.Values{"q": {"q"}}},
		{client.ContextParams{Query: "q", MaxResults: 8, MaxChars: 900, Project: "p", ExcludeSession: "s1", MinScore: 0.25, Gate: true, Source: "hook"},
			url.Values{"q": {"q"}, "max_results": {"8"}, "max_chars": {"900"}, "project": {"p"}, "exclude_session": {"s1"}, "min_score": {"0.25"}, "gate": {"true"}, "source": {"hook"}}},
		{client.ContextParams{Query: "q", SessionID: "s2", DryRun: true}, url.Values{"q": {"q"}, "session_id": {"s2"}, "dry_run": {"true"}}},
	}
	for _, tt := range tests {
		if _, err := c.Context(context.Background(), tt.p); err != nil {
			t.Fatal(err)
		}
		if got.Encode() != tt.want.Encode() {
			t.Errorf("%+v sent %s, want %s", tt.p, got.Encode(), tt.want.Encode())
		}
	}
}

// TestInjections: a hook's context is recorded in the daemon's audit and
// listed by session; a dry run records nothing.
func TestInjections(t *testing.T) {
	d := daemontest.Start(t)
	ctx := context.Background()
	c := client.New(d.URL, d.Token)
	if _, err := c.SaveTurns(ctx, []api.Turn{
		{SessionID: "old", Project: "p", UserPrompt: "Which port does the vite dev server use?", AssistantResponse: "Vite serves on port 5173."},
	}); err != nil {
		t.Fatal(err)
	}
	p := client.ContextParams{Query: "vite dev server port 5173", Project: "p", ExcludeSession: "new", Source: "hook"}
	dry := p
	dry.DryRun = true
	cr, err := c.Context(ctx, dry)
	if err != nil || cr.Context == "" || cr.Recorded != 0 || len(cr.Candidates) != 1 || !cr.Candidates[0].Injected {
		t.Fatalf("dry run: %v %+v", err, cr)
	}
	cr, err = c.Context(ctx, p)
	if err != nil || cr.Recorded == 0 {
		t.Fatalf("context: %v %+v", err, cr)
	}
	for _, tt := range []struct {
		session string
		want    int
	}{{"", 1}, {"new", 1}, {"old", 0}} {
		got, err := c.Injections(ctx, tt.session, 0)
		if err != nil || len(got) != tt.want {
			t.Fatalf("injections(%q): %v, %d, want %d", tt.session, err, len(got), tt.want)
		}
		if tt.want > 0 && (got[0].ID != cr.Recorded || got[0].Source != "hook" || len(got[0].Memories) != 1) {
			t.Errorf("injection %+v", got[0])
		}
	}
}
