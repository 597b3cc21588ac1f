package mcpserver

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/auth"
	"github.com/modelcontextprotocol/go-sdk/mcp"

	sage "github.com/sage-mcp/sage/daemon"
	"github.com/sage-mcp/sage/daemon/embed"
	"github.com/sage-mcp/sage/daemon/postgres"
	"github.com/sage-mcp/sage/daemon/postgres/postgrestest"
)

// Test tokens and the namespaces they stand for. tokenNoNS carries token
// info without a namespace (the default namespace).
const (
	tokenAlpha = "token-alpha"
	tokenBeta  = "token-beta"
	tokenNoNS  = "token-no-namespace"
)

var tokenNamespaces = map[string]string{tokenAlpha: "alpha", tokenBeta: "beta"}

// verify is a bearer token verifier like the HTTP layer's: it attaches the
// token's namespace to the token info.
func verify(_ context.Context, token string, _ *http.Request) (*auth.TokenInfo, error) {
	if token == tokenNoNS {
		return &auth.TokenInfo{Expiration: time.Now().Add(time.Hour)}, nil
	}
	ns, ok := tokenNamespaces[token]
	if !ok {
		return nil, auth.ErrInvalidToken
	}
	return &auth.TokenInfo{
		Scopes:     []string{sage.ScopeMemories},
		Expiration: time.Now().Add(time.Hour),
		UserID:     token,
		Extra:      map[string]any{NamespaceKey: ns},
	}, nil
}

// MustService returns a memory service on a fresh, migrated database with
// the builtin embedder.
func MustService(t testing.TB) sage.Service {
	t.Helper()
	svc, _ := MustServiceDB(t)
	return svc
}

// MustServiceDB returns a memory service on a fresh, migrated database with
// the builtin embedder, and the database.
func MustServiceDB(t testing.TB) (sage.Service, *postgres.DB) {
	t.Helper()
	db := postgrestest.MustOpen(t)
	emb, err := embed.NewBuiltin(0)
	if err != nil {
		t.Fatalf("builtin embedder: %v", err)
	}
	return postgres.NewMemoryService(db, emb, nil), db
}

// withHeaders sets headers on every request.
type withHeaders struct {
	h    http.Header
	next http.RoundTripper
}

func (w withHeaders) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	for k, v := range w.h {
		r.Header[k] = v
	}
	return w.next.RoundTrip(r)
}

// MustServe serves Handler(svc, opts) behind bearer auth (as the HTTP layer
// does) on a test server and returns its URL.
func MustServe(t testing.TB, svc sage.Service, opts Options) string {
	t.Helper()
	h := auth.RequireBearerToken(verify, nil)(Handler(svc, opts))
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv.URL
}

// MustClient connects an MCP client with token (empty: none) to the
// Streamable HTTP endpoint at url.
func MustClient(t testing.TB, url, token string) *mcp.ClientSession {
	t.Helper()
	return MustClientWithHeaders(t, url, token, nil)
}

// MustClientWithHeaders is MustClient with extra headers on every request
// (the token's Authorization wins over one in h).
func MustClientWithHeaders(t testing.TB, url, token string, h http.Header) *mcp.ClientSession {
	t.Helper()
	h = h.Clone()
	if h == nil {
		h = http.Header{}
	}
	if token != "" {
		h.Set("Authorization", "Bearer "+token)
	}
	hc := &http.Client{Transport: withHeaders{h, http.DefaultTransport}}
	c := mcp.NewClient(&mcp.Implementation{Name: "sage-test", Version: "1"}, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cs, err := c.Connect(ctx, &mcp.StreamableClientTransport{Endpoint: url, HTTPClient: hc, MaxRetries: -1}, nil)
	if err != nil {
		t.Fatalf("connect to %s: %v", url, err)
	}
	t.Cleanup(func() { _ = cs.Close() })
	return cs
}

// postMCP POSTs one raw JSON-RPC message to the MCP endpoint at url with
// the headers of a client, token and session included when not empty; it
// returns the status, the session id answered and the body.
func postMCP(url, token, session, msg string) (int, string, []byte, error) {
	req, err := http.NewRequest("POST", url, strings.NewReader(msg))
	if err != nil {
		return 0, "", nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json, text/event-stream")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if session != "" {
		req.Header.Set("Mcp-Session-Id", session)
		req.Header.Set("Mcp-Protocol-Version", "2025-06-18")
	}
	resp, err := (&http.Client{Timeout: 30 * time.Second}).Do(req)
	if err != nil {
		return 0, "", nil, err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body) // what arrived is the answer
	return resp.StatusCode, resp.Header.Get("Mcp-Session-Id"), b, nil
}

// MustConnect connects a client to s in memory (no HTTP, no token).
func MustConnect(t testing.TB, s *mcp.Server) *mcp.ClientSession {
	t.Helper()
	st, ct := mcp.NewInMemoryTransports()
	ctx := context.Background()
	ss, err := s.Connect(ctx, st, nil)
	if err != nil {
		t.Fatalf("server connect: %v", err)
	}
	t.Cleanup(func() { _ = ss.Close() })
	cs, err := mcp.NewClient(&mcp.Implementation{Name: "sage-test", Version: "1"}, nil).Connect(ctx, ct, nil)
	if err != nil {
		t.Fatalf("client connect: %v", err)
	}
	t.Cleanup(func() { _ = cs.Close() })
	return cs
}

// call calls a tool and returns its result; a protocol error fails the test.
func call(t testing.TB, cs *mcp.ClientSession, tool string, args any) *mcp.CallToolResult {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	res, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: tool, Arguments: args})
	if err != nil {
		t.Fatalf("%s: protocol error: %v", tool, err)
	}
	return res
}

// MustCall calls a tool that must succeed and decodes its structured
// content into out (when not nil).
func MustCall(t testing.TB, cs *mcp.ClientSession, tool string, args, out any) *mcp.CallToolResult {
	t.Helper()
	res := call(t, cs, tool, args)
	if res.IsError {
		t.Fatalf("%s(%v) failed: %s", tool, args, text(res))
	}
	if out != nil {
		b, err := json.Marshal(res.StructuredContent)
		if err != nil {
			t.Fatalf("%s: structured content: %v", tool, err)
		}
		if err := json.Unmarshal(b, out); err != nil {
			t.Fatalf("%s: decode %s: %v", tool, b, err)
		}
	}
	return res
}

// MustFail calls a tool that must fail with an IsError result whose text
// contains every one of want, and returns the text.
func MustFail(t testing.TB, cs *mcp.ClientSession, tool string, args any, want ...string) string {
	t.Helper()
	res := call(t, cs, tool, args)
	msg := text(res)
	if !res.IsError {
		t.Fatalf("%s(%v) succeeded (%s), want an error", tool, args, msg)
	}
	for _, w := range want {
		if !strings.Contains(msg, w) {
			t.Errorf("%s(%v): error %q, want it to contain %q", tool, args, msg, w)
		}
	}
	return msg
}

// text joins the text contents of a result.
func text(res *mcp.CallToolResult) string {
	var parts []string
	for _, c := range res.Content {
		if tc, ok := c.(*mcp.TextContent); ok {
			parts = append(parts, tc.Text)
		}
	}
	return strings.Join(parts, "\n")
}
