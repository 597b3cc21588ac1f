package http_test

import (
	"crypto/sha256"
	"encoding/base64"
	"net/url"
	"strings"
	"testing"

	"github.com/sage-mcp/sage/shared/api"

	sage "github.com/sage-mcp/sage/daemon"
	sagehttp "github.com/sage-mcp/sage/daemon/http"
)

// MustForm posts a form and returns the answer.
func MustForm(t testing.TB, u string, form url.Values) response {
	t.Helper()
	return MustDo(t, "POST", u, "", []byte(form.Encode()), "Content-Type", "application/x-www-form-urlencoded")
}

func pkce(verifier string) string {
	sum := sha256.Sum256([]byte(verifier))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

func TestOAuthFlowEndToEnd(t *testing.T) {
	t.Parallel()
	st := MustStack(t, sagehttp.Options{}, "")
	key := st.MustKey(t, "carol")

	// Discovery, as an MCP client does it after a 401.
	r := MustDo(t, "POST", st.URL+"/mcp", "", `{}`).MustStatus(t, 401)
	if !strings.Contains(r.Header.Get("WWW-Authenticate"), "/.well-known/oauth-protected-resource/mcp") {
		t.Fatalf("WWW-Authenticate %q", r.Header.Get("WWW-Authenticate"))
	}
	var prm struct {
		Resource             string   `json:"resource"`
		AuthorizationServers []string `json:"authorization_servers"`
	}
	MustDo(t, "GET", st.URL+"/.well-known/oauth-protected-resource/mcp", "", nil).MustStatus(t, 200).MustJSON(t, &prm)
	if prm.Resource != st.URL+"/mcp" || len(prm.AuthorizationServers) != 1 || prm.AuthorizationServers[0] != st.URL {
		t.Fatalf("protected resource metadata %+v", prm)
	}
	var asm struct {
		Issuer, AuthorizationEndpoint, TokenEndpoint, RegistrationEndpoint string
		CodeChallengeMethods                                               []string `json:"code_challenge_methods_supported"`
	}
	r = MustDo(t, "GET", st.URL+"/.well-known/oauth-authorization-server", "", nil).MustStatus(t, 200)
	r.MustJSON(t, &asm)
	var raw map[string]any
	r.MustJSON(t, &raw)
	if raw["token_endpoint"] != st.URL+"/token" || raw["registration_endpoint"] != st.URL+"/register" ||
		raw["authorization_endpoint"] != st.URL+"/authorize" || len(asm.CodeChallengeMethods) != 1 {
		t.Fatalf("authorization server metadata %s", r.Body)
	}

	// Dynamic client registration.
	redirect := "http://localhost:33418/callback"
	var reg struct {
		ClientID string `json:"client_id"`
	}
	MustDo(t, "POST", st.URL+"/register", "", map[string]any{"client_name": "Claude Code (sage)", "redirect_uris": []string{redirect},
		"token_endpoint_auth_method": "none", "grant_types": []string{"authorization_code", "refresh_token"}}).
		MustStatus(t, 201).MustJSON(t, &reg)
	if reg.ClientID == "" {
		t.Fatal("no client_id")
	}
	MustDo(t, "POST", st.URL+"/register", "", map[string]any{"redirect_uris": []string{"http://evil.example.com/cb"}}).MustStatus(t, 400)

	// Authorization page, then approval with the access key.
	verifier := strings.Repeat("v3r1f13r", 6)
	q := url.Values{"response_type": {"code"}, "client_id": {reg.ClientID}, "redirect_uri": {redirect},
		"code_challenge": {pkce(verifier)}, "code_challenge_method": {"S256"}, "state": {"xyz"}, "resource": {st.URL + "/mcp"}}
	page := MustDo(t, "GET", st.URL+"/authorize?"+q.Encode(), "", nil).MustStatus(t, 200)
	if !strings.Contains(string(page.Body), "Claude Code (sage)") || !strings.Contains(string(page.Body), `name="access_key"`) ||
		strings.Contains(string(page.Body), "<script") || strings.Contains(string(page.Body), "http://") && strings.Contains(string(page.Body), "<link") {
		t.Fatalf("authorize page:\n%s", page.Body)
	}
	noPKCE := url.Values{"response_type": {"code"}, "client_id": {reg.ClientID}, "redirect_uri": {redirect}, "state": {"s"}}
	r = MustDo(t, "GET", st.URL+"/authorize?"+noPKCE.Encode(), "", nil).MustStatus(t, 302)
	if loc := r.Header.Get("Location"); !strings.Contains(loc, "error=invalid_request") {
		t.Fatalf("no PKCE: Location %q", loc)
	}
	wrong := url.Values{}
	for k, v := range q {
		wrong[k] = v
	}
	wrong.Set("access_key", "sage_not-a-key")
	MustForm(t, st.URL+"/authorize", wrong).MustStatus(t, 401)
	approve := url.Values{}
	for k, v := range q {
		approve[k] = v
	}
	approve.Set("access_key", key)
	r = MustForm(t, st.URL+"/authorize", approve).MustStatus(t, 302)
	loc, err := url.Parse(r.Header.Get("Location"))
	if err != nil || !strings.HasPrefix(loc.String(), redirect) || loc.Query().Get("state") != "xyz" {
		t.Fatalf("redirect %q", r.Header.Get("Location"))
	}
	code := loc.Query().Get("code")

	// Token exchange: PKCE checked, code single use.
	exchange := url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {redirect},
		"client_id": {reg.ClientID}, "code_verifier": {verifier}}
	var tok struct {
		AccessToken  string `json:"access_token"`
		RefreshToken string `json:"refresh_token"`
		TokenType    string `json:"token_type"`
		ExpiresIn    int    `json:"expires_in"`
	}
	MustForm(t, st.URL+"/token", exchange).MustStatus(t, 200).MustJSON(t, &tok)
	if tok.AccessToken == "" || tok.RefreshToken == "" || tok.TokenType != "Bearer" || tok.ExpiresIn <= 0 {
		t.Fatalf("token response %+v", tok)
	}
	r = MustForm(t, st.URL+"/token", exchange).MustStatus(t, 400)
	if !strings.Contains(string(r.Body), "invalid_grant") {
		t.Fatalf("code reuse: %s", r.Body)
	}

	// A second code with a wrong verifier fails.
	r = MustForm(t, st.URL+"/authorize", approve).MustStatus(t, 302)
	loc, _ = url.Parse(r.Header.Get("Location"))
	bad := url.Values{"grant_type": {"authorization_code"}, "code": {loc.Query().Get("code")}, "redirect_uri": {redirect},
		"client_id": {reg.ClientID}, "code_verifier": {strings.Repeat("x", 48)}}
	MustForm(t, st.URL+"/mcp/token", bad).MustStatus(t, 400)

	// The OAuth access token works for MCP, in the key's namespace.
	cs := MustMCP(t, st.URL, tok.AccessToken)
	if out, isErr := MustTool(t, cs, "remember", map[string]any{"content": "carol's oauth memory"}); isErr {
		t.Fatalf("remember via oauth token: %s", out)
	}
	var status api.Status
	MustDo(t, "GET", st.URL+"/api/v1/status", key, nil).MustStatus(t, 200).MustJSON(t, &status)
	if status.Namespace != "carol" || status.Memories != 1 {
		t.Fatalf("the OAuth token's memory is not in the key's namespace: %+v", status)
	}

	// Introspection.
	var intro map[string]any
	MustForm(t, st.URL+"/mcp/auth", url.Values{"token": {tok.AccessToken}}).MustStatus(t, 200).MustJSON(t, &intro)
	if intro["active"] != true || intro["namespace"] != "carol" || intro["exp"] == nil {
		t.Fatalf("introspection %+v", intro)
	}
	MustForm(t, st.URL+"/mcp/auth", url.Values{"token": {"sage_nope"}}).MustStatus(t, 200).MustJSON(t, &intro)
	if intro["active"] != false {
		t.Fatalf("introspection of a wrong token %+v", intro)
	}

	// Refresh rotates.
	refresh := url.Values{"grant_type": {"refresh_token"}, "refresh_token": {tok.RefreshToken}, "client_id": {reg.ClientID}}
	var tok2 struct {
		AccessToken string `json:"access_token"`
	}
	MustForm(t, st.URL+"/token", refresh).MustStatus(t, 200).MustJSON(t, &tok2)
	MustForm(t, st.URL+"/token", refresh).MustStatus(t, 400)
	MustDo(t, "GET", st.URL+"/api/v1/status", tok2.AccessToken, nil).MustStatus(t, 200)
}

func TestWellKnown(t *testing.T) {
	t.Parallel()
	st := MustStack(t, sagehttp.Options{PublicURL: "https://sage.example.com"}, "")
	tests := []struct {
		path string
		want int
	}{
		{"/.well-known/oauth-protected-resource", 200},
		{"/.well-known/oauth-protected-resource/mcp", 200},
		{"/.well-known/oauth-authorization-server", 200},
		{"/.well-known/oauth-authorization-server/mcp", 200},
		{"/.well-known/openid-configuration", 404},
		{"/.well-known/anything/else", 404},
		{"/nope", 404},
	}
	for _, tt := range tests {
		r := MustDo(t, "GET", st.URL+tt.path, "", nil).MustStatus(t, tt.want)
		if ct := r.Header.Get("Content-Type"); ct != "application/json" {
			t.Errorf("%s: Content-Type %q, want JSON", tt.path, ct)
		}
		if tt.want == 200 {
			if !strings.Contains(string(r.Body), "https://sage.example.com") {
				t.Errorf("%s: SAGE_PUBLIC_URL not used: %s", tt.path, r.Body)
			}
			if r.Header.Get("Access-Control-Allow-Origin") != "*" {
				t.Errorf("%s: no CORS", tt.path)
			}
		}
	}
	// The public host is allowed as Host.
	MustDo(t, "GET", st.URL+"/healthz", "", nil, "Host", "sage.example.com").MustStatus(t, 200)
	// Scopes are advertised.
	r := MustDo(t, "GET", st.URL+"/.well-known/oauth-protected-resource", "", nil)
	if !strings.Contains(string(r.Body), sage.ScopeAdmin) {
		t.Fatalf("scopes not advertised: %s", r.Body)
	}
}

// TestAuthorizePageShowsRedirectHost: the approval page names the host the
// code goes to, and says that the client's name is its own claim.
func TestAuthorizePageShowsRedirectHost(t *testing.T) {
	t.Parallel()
	st := MustStack(t, sagehttp.Options{}, "")
	tests := []struct{ name, redirect, host string }{
		{"remote https", "https://app.example.net:8443/oauth/cb", "app.example.net:8443"},
		{"loopback", "http://127.0.0.1:33418/callback", "127.0.0.1:33418"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var reg struct {
				ClientID string `json:"client_id"`
			}
			MustDo(t, "POST", st.URL+"/register", "", map[string]any{"client_name": "Claude Code", "redirect_uris": []string{tt.redirect}}).
				MustStatus(t, 201).MustJSON(t, &reg)
			q := url.Values{"response_type": {"code"}, "client_id": {reg.ClientID}, "redirect_uri": {tt.redirect},
				"code_challenge": {pkce(strings.Repeat("v", 43))}, "code_challenge_method": {"S256"}, "state": {"s"}}
			page := string(MustDo(t, "GET", st.URL+"/authorize?"+q.Encode(), "", nil).MustStatus(t, 200).Body)
			for _, want := range []string{`<strong class="host">` + tt.host + `</strong>`, "self-declared", "not verified"} {
				if !strings.Contains(page, want) {
					t.Errorf("page lacks %q:\n%s", want, page)
				}
			}
		})
	}
}
