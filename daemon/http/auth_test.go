package http_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	sage "github.com/sage-mcp/sage/daemon"
	sagehttp "github.com/sage-mcp/sage/daemon/http"
	"github.com/sage-mcp/sage/daemon/mock"
	"github.com/sage-mcp/sage/shared/api"
)

func TestAuthRequired(t *testing.T) {
	t.Parallel()
	st := MustStack(t, sagehttp.Options{}, "")
	ctx := context.Background()
	good := st.MustKey(t, "default")
	expiring, expiringSecret, err := st.Tokens.IssueToken(ctx, sage.TokenSpec{Name: "short", TTL: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	_ = expiring
	revoked, revokedSecret, err := st.Tokens.IssueToken(ctx, sage.TokenSpec{Name: "gone"})
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Tokens.RevokeToken(ctx, revoked.ID); err != nil {
		t.Fatal(err)
	}
	time.Sleep(5 * time.Millisecond)

	tests := []struct {
		name, method, path, token string
		want                      int
	}{
		{"rest without token", "GET", "/api/v1/status", "", 401},
		{"mcp without token", "POST", "/mcp", "", 401},
		{"wrong token", "GET", "/api/v1/status", "sage_wrong", 401},
		{"expired token", "GET", "/api/v1/status", expiringSecret, 401},
		{"revoked token", "GET", "/api/v1/status", revokedSecret, 401},
		{"good token", "GET", "/api/v1/status", good, 200},
		{"plain token on admin route", "GET", "/api/v1/tokens", good, 403},
		{"health needs no token", "GET", "/healthz", "", 200},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var body any
			if tt.method == "POST" {
				body = `{"jsonrpc":"2.0","id":1,"method":"ping"}`
			}
			r := MustDo(t, tt.method, st.URL+tt.path, tt.token, body, "Accept", "application/json, text/event-stream")
			r.MustStatus(t, tt.want)
			if tt.want == 401 {
				wa := r.Header.Get("WWW-Authenticate")
				if !strings.Contains(wa, `resource_metadata="`+st.URL+`/.well-known/oauth-protected-resource/mcp"`) {
					t.Fatalf("WWW-Authenticate = %q", wa)
				}
				var eb api.ErrorBody
				r.MustJSON(t, &eb)
				if eb.Error.Code != api.CodeUnauthorized {
					t.Fatalf("error body %s", r.Body)
				}
				for _, secret := range []string{expiringSecret, revokedSecret} {
					if strings.Contains(string(r.Body), secret) {
						t.Fatal("error body contains the token")
					}
				}
			}
		})
	}
}

func TestNamespaceIsolationREST(t *testing.T) {
	t.Parallel()
	st := MustStack(t, sagehttp.Options{}, "")
	alice, bob := st.MustKey(t, "alice"), st.MustKey(t, "bob")
	var saved api.SaveResult
	MustDo(t, "POST", st.URL+"/api/v1/notes", alice, api.Note{Content: "alice prefers tabs over spaces", Project: "p1"}).
		MustStatus(t, 200).MustJSON(t, &saved)
	MustDo(t, "POST", st.URL+"/api/v1/turns", alice, api.SaveTurnsRequest{Turns: []api.Turn{{
		IdempotencyKey: "s1:1", SessionID: "s1", Project: "p1", UserPrompt: "what about tabs", AssistantResponse: "tabs it is"}}}).
		MustStatus(t, 200)

	search := func(token string) api.SearchResponse {
		var sr api.SearchResponse
		MustDo(t, "GET", st.URL+"/api/v1/search?q=tabs&mode=keyword", token, nil).MustStatus(t, 200).MustJSON(t, &sr)
		return sr
	}
	if got := search(alice); len(got.Results) != 2 {
		t.Fatalf("alice sees %d memories, want 2: %+v", len(got.Results), got)
	}
	if got := search(bob); len(got.Results) != 0 {
		t.Fatalf("bob sees alice's memories: %+v", got)
	}
	var ss api.SessionsResponse
	MustDo(t, "GET", st.URL+"/api/v1/sessions", bob, nil).MustStatus(t, 200).MustJSON(t, &ss)
	if len(ss.Sessions) != 0 {
		t.Fatalf("bob sees sessions %+v", ss)
	}
	MustDo(t, "GET", st.URL+"/api/v1/sessions/s1", bob, nil).MustStatus(t, 404)
	MustDo(t, "DELETE", st.URL+"/api/v1/memories/"+itoa(saved.ID), bob, nil).MustStatus(t, 404)
	MustDo(t, "GET", st.URL+"/api/v1/export", bob, nil).MustStatus(t, 200)
	if got := search(alice); len(got.Results) != 2 {
		t.Fatalf("bob's delete reached alice: %+v", got)
	}
	var status api.Status
	MustDo(t, "GET", st.URL+"/api/v1/status", bob, nil).MustStatus(t, 200).MustJSON(t, &status)
	if status.Namespace != "bob" || status.Memories != 0 {
		t.Fatalf("bob's status %+v", status)
	}
}

func TestNamespaceIsolationMCP(t *testing.T) {
	t.Parallel()
	st := MustStack(t, sagehttp.Options{}, "")
	alice := MustMCP(t, st.URL, st.MustKey(t, "alice"))
	bob := MustMCP(t, st.URL, st.MustKey(t, "bob"))
	if out, isErr := MustTool(t, alice, "remember", map[string]any{"content": "the deploy password rotates on fridays"}); isErr {
		t.Fatalf("remember: %s", out)
	}
	out, isErr := MustTool(t, alice, "search_memory", map[string]any{"query": "deploy password fridays", "mode": "keyword"})
	if isErr || !strings.Contains(out, "rotates on fridays") {
		t.Fatalf("alice's search: %s", out)
	}
	out, isErr = MustTool(t, bob, "search_memory", map[string]any{"query": "deploy password fridays", "mode": "keyword"})
	if isErr || strings.Contains(out, "rotates on fridays") {
		t.Fatalf("bob sees alice's memory: %s", out)
	}
}

func TestTokenAdminREST(t *testing.T) {
	t.Parallel()
	st := MustStack(t, sagehttp.Options{}, "")
	admin := st.MustKey(t, "default", sage.ScopeAdmin)
	var issued api.IssuedToken
	MustDo(t, "POST", st.URL+"/api/v1/tokens", admin, api.IssueTokenRequest{Name: "ci", Namespace: "ci", TTL: "1h"}).
		MustStatus(t, 201).MustJSON(t, &issued)
	if issued.Secret == "" || issued.Namespace != "ci" || issued.ExpiresAt == nil {
		t.Fatalf("issued %+v", issued)
	}
	MustDo(t, "GET", st.URL+"/api/v1/status", issued.Secret, nil).MustStatus(t, 200)
	var list api.TokensResponse
	MustDo(t, "GET", st.URL+"/api/v1/tokens", admin, nil).MustStatus(t, 200).MustJSON(t, &list)
	if len(list.Tokens) != 2 || strings.Contains(string(MustDo(t, "GET", st.URL+"/api/v1/tokens", admin, nil).Body), issued.Secret) {
		t.Fatalf("list %+v (must hold 2 tokens and no secret)", list)
	}
	MustDo(t, "DELETE", st.URL+"/api/v1/tokens/"+issued.ID, admin, nil).MustStatus(t, 204)
	MustDo(t, "GET", st.URL+"/api/v1/status", issued.Secret, nil).MustStatus(t, 401)
	MustDo(t, "DELETE", st.URL+"/api/v1/tokens/tok_nope", admin, nil).MustStatus(t, 404)
	MustDo(t, "POST", st.URL+"/api/v1/tokens", admin, api.IssueTokenRequest{Scopes: []string{"root"}}).MustStatus(t, 400)
	MustDo(t, "POST", st.URL+"/api/v1/tokens", admin, api.IssueTokenRequest{TTL: "soon"}).MustStatus(t, 400)
}

func TestForeignHostAndOrigin(t *testing.T) {
	t.Parallel()
	// The guard comes before authentication: no database or token needed.
	svc := &mock.Service{StatusFn: func(context.Context) (sage.Status, error) { return sage.Status{}, nil }}
	_, base := MustMockStack(t, svc, sagehttp.Options{AllowedOrigins: []string{"https://app.example.com"}})
	port := base[strings.LastIndex(base, ":")+1:]
	tests := []struct {
		name   string
		header []string
		want   int
	}{
		{"loopback host", []string{"Host", "localhost:" + port}, 200},
		{"foreign host (DNS rebinding)", []string{"Host", "evil.example.com:" + port}, 403},
		{"foreign origin", []string{"Origin", "https://evil.example.com"}, 403},
		{"loopback origin", []string{"Origin", "http://localhost:3000"}, 200},
		{"allowed origin", []string{"Origin", "https://app.example.com"}, 200},
		{"same origin", []string{"Origin", base}, 200},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, path := range []string{"/api/v1/status", "/healthz"} {
				r := MustDo(t, "GET", base+path, "", nil, tt.header...)
				r.MustStatus(t, tt.want)
				if tt.want == 403 {
					var eb api.ErrorBody
					r.MustJSON(t, &eb)
					if eb.Error.Code != api.CodeForbidden {
						t.Fatalf("body %s", r.Body)
					}
				}
			}
		})
	}
	// MCP too.
	r := MustDo(t, "POST", base+"/mcp", "", `{"jsonrpc":"2.0","id":1,"method":"ping"}`,
		"Origin", "https://evil.example.com", "Accept", "application/json, text/event-stream")
	r.MustStatus(t, 403)
}

func TestBodyLimits(t *testing.T) {
	t.Parallel()
	st := MustStack(t, sagehttp.Options{MaxBodyBytes: 64 << 10, MaxImportBytes: 128 << 10}, "")
	key := st.MustKey(t, "default")
	big := `{"content":"` + strings.Repeat("a", 100<<10) + `"}`
	r := MustDo(t, "POST", st.URL+"/api/v1/notes", key, big).MustStatus(t, 413)
	var eb api.ErrorBody
	r.MustJSON(t, &eb)
	if eb.Error.Code != api.CodeTooLarge {
		t.Fatalf("body %s", r.Body)
	}
	MustDo(t, "POST", st.URL+"/mcp", key, `{"jsonrpc":"2.0","id":1,"method":"ping","params":{"x":"`+strings.Repeat("a", 100<<10)+`"}}`,
		"Accept", "application/json, text/event-stream").MustStatus(t, 413)
	// The import has its own, larger limit.
	line, _ := json.Marshal(api.Memory{Kind: "note", Text: strings.Repeat("b", 90<<10), OccurredAt: time.Now()})
	MustDo(t, "POST", st.URL+"/api/v1/import", key, line).MustStatus(t, 200)
	MustDo(t, "POST", st.URL+"/api/v1/import", key, strings.Repeat(string(line)+"\n", 2)).MustStatus(t, 413)
}

func TestAuthThrottle(t *testing.T) {
	t.Parallel()
	st := MustStack(t, sagehttp.Options{AuthBurst: 3, AuthEvery: time.Hour}, "")
	good := st.MustKey(t, "default")
	for i := 0; i < 3; i++ {
		MustDo(t, "GET", st.URL+"/api/v1/status", "sage_wrong", nil).MustStatus(t, 401)
	}
	r := MustDo(t, "GET", st.URL+"/api/v1/status", "sage_wrong", nil).MustStatus(t, 429)
	if ra := r.Header.Get("Retry-After"); ra == "" || ra == "0" {
		t.Fatalf("Retry-After = %q", ra)
	}
	var eb api.ErrorBody
	r.MustJSON(t, &eb)
	if eb.Error.Code != api.CodeRateLimited {
		t.Fatalf("body %s", r.Body)
	}
	// While throttled, a valid key is still accepted (the bridge and hooks
	// of this address keep working), over REST and MCP; wrong ones get 429.
	MustDo(t, "GET", st.URL+"/api/v1/status", good, nil).MustStatus(t, 200)
	MustDo(t, "POST", st.URL+"/mcp", good, `{"jsonrpc":"2.0","id":1,"method":"ping"}`,
		"Accept", "application/json, text/event-stream").MustStatus(t, 200)
	MustDo(t, "GET", st.URL+"/api/v1/status", "sage_wrong", nil).MustStatus(t, 429)
	// Requests without a token are not failures and still get 401 + discovery.
	MustDo(t, "GET", st.URL+"/api/v1/status", "", nil).MustStatus(t, 401)
}

func TestAuthOff(t *testing.T) {
	t.Parallel()
	svc := &mock.Service{StatusFn: func(ctx context.Context) (sage.Status, error) {
		return sage.Status{Namespace: sage.NamespaceFrom(ctx)}, nil
	}}
	_, base := MustMockStack(t, svc, sagehttp.Options{})
	var status api.Status
	MustDo(t, "GET", base+"/api/v1/status", "", nil).MustStatus(t, 200).MustJSON(t, &status)
	if status.Namespace != sage.DefaultNamespace {
		t.Fatalf("status %+v", status)
	}
	cs := MustMCP(t, base, "ignored")
	if out, isErr := MustTool(t, cs, "get_status", map[string]any{}); isErr {
		t.Fatalf("get_status: %s", out)
	}
}

func itoa(n int64) string {
	b, _ := json.Marshal(n)
	return string(b)
}
