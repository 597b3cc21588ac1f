package mcpserver

import (
	"context"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	sage "github.com/sage-mcp/sage/daemon"
)

// blockingService answers Search only once release is closed, after
// signalling entered.
type blockingService struct {
	sage.Service
	entered chan struct{}
	release chan struct{}
}

func (b *blockingService) Search(ctx context.Context, q sage.SearchQuery) ([]sage.Result, error) {
	b.entered <- struct{}{}
	select {
	case <-b.release:
	case <-ctx.Done():
	}
	return nil, nil
}

// mcpPost posts one JSON-RPC message to url within session (empty: none)
// and returns the status, the session id answered and the body (status 0
// after an error, reported with t.Error: it may run in a goroutine).
func mcpPost(t testing.TB, url, session, msg string) (int, string, string) {
	t.Helper()
	status, id, b, err := postMCP(url, "", session, msg)
	if err != nil {
		t.Error(err)
		return 0, "", ""
	}
	return status, id, string(b)
}

const initMsg = `{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"t","version":"1"}}}`

// MustSession initializes a stateful session at url and returns its id.
func MustSession(t testing.TB, url string) string {
	t.Helper()
	status, id, body := mcpPost(t, url, "", initMsg)
	if status != 200 || id == "" {
		t.Fatalf("initialize: %d %q %s", status, id, body)
	}
	if status, _, body := mcpPost(t, url, id, `{"jsonrpc":"2.0","method":"notifications/initialized"}`); status != 202 {
		t.Fatalf("initialized: %d %s", status, body)
	}
	return id
}

// TestSessionCap: beyond MaxSessions a new session closes the longest
// idle one; when every session is busy it is refused with 503.
func TestSessionCap(t *testing.T) {
	t.Parallel()
	svc := &blockingService{entered: make(chan struct{}), release: make(chan struct{})}
	srv := httptest.NewServer(Handler(svc, Options{Stateful: true, MaxSessions: 2}))
	t.Cleanup(srv.Close)
	ping := `{"jsonrpc":"2.0","id":2,"method":"ping"}`

	a := MustSession(t, srv.URL)
	b := MustSession(t, srv.URL)
	if status, _, body := mcpPost(t, srv.URL, a, ping); status != 200 { // a is now used more recently than b
		t.Fatalf("ping a: %d %s", status, body)
	}
	c := MustSession(t, srv.URL) // closes b, the longest idle
	tests := []struct {
		name, id string
		want     int
	}{
		{"a (used recently)", a, 200},
		{"b (longest idle)", b, 404},
		{"c (new)", c, 200},
	}
	for _, tt := range tests {
		if status, _, body := mcpPost(t, srv.URL, tt.id, ping); status != tt.want {
			t.Errorf("ping %s: %d, want %d: %s", tt.name, status, tt.want, body)
		}
	}

	// Both sessions busy: a new one is refused, and nothing is closed.
	done := make(chan int, 2)
	for _, id := range []string{a, c} {
		go func() {
			status, _, _ := mcpPost(t, srv.URL, id, `{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"search_memory","arguments":{"query":"x"}}}`)
			done <- status
		}()
		select {
		case <-svc.entered:
		case <-time.After(30 * time.Second):
			t.Fatal("search never started")
		}
	}
	if status, _, body := mcpPost(t, srv.URL, "", initMsg); status != 503 || !strings.Contains(body, "SAGE_MAX_SESSIONS") {
		t.Errorf("initialize with every session busy: %d %s, want 503", status, body)
	}
	close(svc.release)
	for range 2 {
		if status := <-done; status != 200 {
			t.Errorf("busy call: %d", status)
		}
	}
}
