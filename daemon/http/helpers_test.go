package http_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	sage "github.com/sage-mcp/sage/daemon"
	"github.com/sage-mcp/sage/daemon/embed"
	sagehttp "github.com/sage-mcp/sage/daemon/http"
	"github.com/sage-mcp/sage/daemon/mcpserver"
	"github.com/sage-mcp/sage/daemon/metrics"
	"github.com/sage-mcp/sage/daemon/postgres"
	"github.com/sage-mcp/sage/daemon/postgres/postgrestest"
	"github.com/sage-mcp/sage/shared/api"
)

// stack is a Server on a real database, served on 127.0.0.1.
type stack struct {
	URL    string
	Server *sagehttp.Server
	Tokens *postgres.TokenStore
	DB     *postgres.DB
}

// MustBackend opens url and returns the Server's backend on it.
func MustBackend(t testing.TB, srv *sagehttp.Server, url string) (*sagehttp.Backend, *postgres.DB) {
	t.Helper()
	db := postgrestest.MustOpenURL(t, url, postgres.Options{ConnectTimeout: 2 * time.Second})
	emb, err := embed.NewBuiltin(384)
	if err != nil {
		t.Fatal(err)
	}
	svc := postgres.NewMemoryService(db, srv.Metrics().Embedder(emb), nil)
	return &sagehttp.Backend{Service: svc, Tokens: postgres.NewTokenStore(db.Pool()), Pool: db.Pool()}, db
}

// mcpHandler is the MCP handler as the daemon mounts it, with its metrics.
func mcpHandler(svc sage.Service, m *metrics.Registry) http.Handler {
	return mcpserver.Handler(svc, mcpserver.Options{Middleware: []mcp.Middleware{m.MCP(mcpserver.ToolNames)}})
}

// MustStack serves a Server with opts (MCP mounted) on a database at url
// (a fresh one when empty).
func MustStack(t testing.TB, opts sagehttp.Options, url string) *stack {
	t.Helper()
	if url == "" {
		url = postgrestest.MustDatabase(t)
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.NewTextHandler(t.Output(), nil))
	}
	opts.MCP = mcpHandler
	srv := sagehttp.New(opts)
	b, db := MustBackend(t, srv, url)
	srv.SetBackend(b)
	hs := httptest.NewServer(srv)
	t.Cleanup(hs.Close)
	return &stack{URL: hs.URL, Server: srv, Tokens: b.Tokens.(*postgres.TokenStore), DB: db}
}

// MustREST is MustStack with default options on a fresh database; u is
// the base URL of its REST API, key a key of the default namespace.
func MustREST(t testing.TB) (st *stack, u, key string) {
	t.Helper()
	st = MustStack(t, sagehttp.Options{}, "")
	return st, st.URL + api.Version, st.MustKey(t, "default")
}

// MustKey issues a key in namespace ns and returns its secret.
func (s *stack) MustKey(t testing.TB, ns string, scopes ...string) string {
	t.Helper()
	_, secret, err := s.Tokens.IssueToken(context.Background(), sage.TokenSpec{Name: "test", Namespace: ns, Scopes: scopes})
	if err != nil {
		t.Fatal(err)
	}
	return secret
}

// response is an HTTP answer with its body read.
type response struct {
	*http.Response
	Body []byte
}

// MustDo sends a request with an optional bearer token and JSON (or raw
// []byte / string) body.
func MustDo(t testing.TB, method, url, token string, body any, header ...string) response {
	t.Helper()
	var r io.Reader
	switch b := body.(type) {
	case nil:
	case []byte:
		r = bytes.NewReader(b)
	case string:
		r = strings.NewReader(b)
	default:
		j, err := json.Marshal(b)
		if err != nil {
			t.Fatal(err)
		}
		r = bytes.NewReader(j)
	}
	req, err := http.NewRequest(method, url, r)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(header); i += 2 {
		if strings.EqualFold(header[i], "Host") {
			req.Host = header[i+1]
			continue
		}
		req.Header.Set(header[i], header[i+1])
	}
	client := &http.Client{Timeout: 30 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return response{resp, b}
}

// MustStatus fails t unless r has status want.
func (r response) MustStatus(t testing.TB, want int) response {
	t.Helper()
	if r.StatusCode != want {
		t.Fatalf("%s %s: status %d, want %d; body %s", r.Request.Method, r.Request.URL.Path, r.StatusCode, want, r.Body)
	}
	return r
}

// MustJSON decodes the body into v.
func (r response) MustJSON(t testing.TB, v any) {
	t.Helper()
	if err := json.Unmarshal(r.Body, v); err != nil {
		t.Fatalf("decode %s: %v", r.Body, err)
	}
}

// bearerTransport adds a bearer token to every request.
type bearerTransport struct{ token string }

func (b bearerTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("Authorization", "Bearer "+b.token)
	return http.DefaultTransport.RoundTrip(r)
}

// MustMCP connects an MCP client with token to the stack's /mcp.
func MustMCP(t testing.TB, url, token string) *mcp.ClientSession {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c := mcp.NewClient(&mcp.Implementation{Name: "sage-test", Version: "1"}, nil)
	cs, err := c.Connect(ctx, &mcp.StreamableClientTransport{Endpoint: url + "/mcp",
		HTTPClient: &http.Client{Transport: bearerTransport{token}}}, nil)
	if err != nil {
		t.Fatalf("mcp connect: %v", err)
	}
	t.Cleanup(func() { _ = cs.Close() })
	return cs
}

// MustTool calls a tool and returns its result as JSON text.
func MustTool(t testing.TB, cs *mcp.ClientSession, name string, args map[string]any) (string, bool) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	res, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: name, Arguments: args})
	if err != nil {
		t.Fatalf("call %s: %v", name, err)
	}
	b, _ := json.Marshal(res)
	return string(b), res.IsError
}

// newLoopbackServer serves h on 127.0.0.1 until t ends and returns its URL.
func newLoopbackServer(t testing.TB, h http.Handler) string {
	t.Helper()
	hs := httptest.NewServer(h)
	t.Cleanup(hs.Close)
	return hs.URL
}

// MustMockStack serves a Server without authentication (NoAuth: an admin
// of the default namespace) whose backend is svc, with MCP mounted, and
// returns it with its URL. No database: for tests of the edges.
func MustMockStack(t testing.TB, svc sage.Service, opts sagehttp.Options) (*sagehttp.Server, string) {
	t.Helper()
	opts.NoAuth = true
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.NewTextHandler(t.Output(), nil))
	}
	if opts.MCP == nil {
		opts.MCP = mcpHandler
	}
	srv := sagehttp.New(opts)
	srv.SetBackend(&sagehttp.Backend{Service: svc})
	return srv, newLoopbackServer(t, srv)
}
