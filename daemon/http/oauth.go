package http

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"html/template"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	sage "github.com/sage-mcp/sage/daemon"
)

// Limits on dynamic client registration.
const (
	maxRedirectURIs   = 10
	maxRedirectURILen = 2000
	maxClientNameLen  = 200
)

// metadata returns the handler of a GET-only metadata document, made by
// doc from the server's base URL for r.
func (s *Server) metadata(doc func(base string) map[string]any) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet {
			oauthError(w, http.StatusMethodNotAllowed, "invalid_request", "use GET")
			return
		}
		writeJSON(w, http.StatusOK, doc(s.baseURL(r)))
	}
}

// resourceMetadata is RFC 9728 protected resource metadata for /mcp.
func resourceMetadata(base string) map[string]any {
	return map[string]any{
		"resource":                 base + "/mcp",
		"authorization_servers":    []string{base},
		"scopes_supported":         sage.Scopes,
		"bearer_methods_supported": []string{"header"},
		"resource_name":            "Sage memory",
	}
}

// authServerMetadata is RFC 8414 authorization server metadata.
func authServerMetadata(base string) map[string]any {
	return map[string]any{
		"issuer":                                         base,
		"authorization_endpoint":                         base + "/authorize",
		"token_endpoint":                                 base + "/token",
		"registration_endpoint":                          base + "/register",
		"introspection_endpoint":                         base + "/mcp/auth",
		"scopes_supported":                               sage.Scopes,
		"response_types_supported":                       []string{"code"},
		"grant_types_supported":                          []string{"authorization_code", "refresh_token"},
		"token_endpoint_auth_methods_supported":          []string{"none"},
		"code_challenge_methods_supported":               []string{"S256"},
		"authorization_response_iss_parameter_supported": true,
	}
}

// oauthUnavailable logs err, the failure of what, and answers 503
// temporarily_unavailable with message.
func (s *Server) oauthUnavailable(w http.ResponseWriter, what string, err error, message string) {
	s.log.Warn(what, "err", err)
	oauthError(w, http.StatusServiceUnavailable, "temporarily_unavailable", message)
}

// oauthTokens returns the token store, or answers 503 temporarily_unavailable
// in OAuth's error format while the database is not connected.
func (s *Server) oauthTokens(w http.ResponseWriter) (TokenStore, bool) {
	tokens, err := s.backendTokens()
	if err != nil {
		oauthError(w, http.StatusServiceUnavailable, "temporarily_unavailable", "database unavailable")
		return nil, false
	}
	return tokens, true
}

// oauthError writes an OAuth error response (RFC 6749 §5.2).
func oauthError(w http.ResponseWriter, status int, code, desc string) {
	writeJSON(w, status, map[string]string{"error": code, "error_description": desc})
}

// validRedirectURI accepts https URIs and http URIs on a loopback host
// (RFC 8252 §7.3), without fragment.
func validRedirectURI(raw string) bool {
	if len(raw) > maxRedirectURILen {
		return false
	}
	u, err := url.Parse(raw)
	if err != nil || u.Fragment != "" || u.Host == "" || u.User != nil {
		return false
	}
	switch u.Scheme {
	case "https":
		return true
	case "http":
		return isLoopbackHost(u.Hostname())
	}
	return false
}

// redirectMatches reports whether the requested redirect URI is one the
// client registered. For loopback URIs the port may differ (RFC 8252 §7.3).
func redirectMatches(registered []string, requested string) bool {
	if slices.Contains(registered, requested) {
		return true
	}
	ru, err := url.Parse(requested)
	if err != nil || ru.Scheme != "http" || !isLoopbackHost(ru.Hostname()) {
		return false
	}
	for _, reg := range registered {
		gu, err := url.Parse(reg)
		if err != nil {
			continue
		}
		if gu.Scheme == ru.Scheme && gu.Hostname() == ru.Hostname() && gu.Path == ru.Path && gu.RawQuery == ru.RawQuery {
			return true
		}
	}
	return false
}

// register is RFC 7591 dynamic client registration, for public clients.
func (s *Server) register(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		oauthError(w, http.StatusMethodNotAllowed, "invalid_request", "use POST")
		return
	}
	var req struct {
		RedirectURIs            []string `json:"redirect_uris"`
		ClientName              string   `json:"client_name"`
		TokenEndpointAuthMethod string   `json:"token_endpoint_auth_method"`
		GrantTypes              []string `json:"grant_types"`
		ResponseTypes           []string `json:"response_types"`
		Scope                   string   `json:"scope"`
	}
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			oauthError(w, http.StatusRequestEntityTooLarge, "invalid_client_metadata", "request body too large")
			return
		}
		oauthError(w, http.StatusBadRequest, "invalid_client_metadata", "body must be JSON client metadata")
		return
	}
	if len(req.RedirectURIs) == 0 || len(req.RedirectURIs) > maxRedirectURIs {
		oauthError(w, http.StatusBadRequest, "invalid_redirect_uri", "give 1 to 10 redirect_uris")
		return
	}
	for _, u := range req.RedirectURIs {
		if !validRedirectURI(u) {
			oauthError(w, http.StatusBadRequest, "invalid_redirect_uri",
				"redirect URIs must be https, or http on a loopback host (localhost, 127.0.0.1, [::1])")
			return
		}
	}
	if len(req.ClientName) > maxClientNameLen {
		req.ClientName = req.ClientName[:maxClientNameLen]
	}
	for _, g := range req.GrantTypes {
		if g != "authorization_code" && g != "refresh_token" {
			oauthError(w, http.StatusBadRequest, "invalid_client_metadata", "grant types: authorization_code and refresh_token only")
			return
		}
	}
	tokens, ok := s.oauthTokens(w)
	if !ok {
		return
	}
	c, err := tokens.RegisterClient(r.Context(), req.ClientName, req.RedirectURIs)
	if err != nil {
		s.oauthUnavailable(w, "register client", err, "could not register the client; retry later")
		return
	}
	writeJSON(w, http.StatusCreated, map[string]any{
		"client_id":                  c.ID,
		"client_id_issued_at":        c.CreatedAt.Unix(),
		"client_name":                c.Name,
		"redirect_uris":              c.RedirectURIs,
		"grant_types":                []string{"authorization_code", "refresh_token"},
		"response_types":             []string{"code"},
		"token_endpoint_auth_method": "none",
	})
}

// authzRequest is an authorization request (RFC 6749 §4.1.1 with PKCE).
type authzRequest struct {
	ResponseType, ClientID, RedirectURI, State, Scope, Resource string
	CodeChallenge, CodeChallengeMethod                          string
}

func parseAuthz(v url.Values) authzRequest {
	return authzRequest{
		ResponseType: v.Get("response_type"), ClientID: v.Get("client_id"), RedirectURI: v.Get("redirect_uri"),
		State: v.Get("state"), Scope: v.Get("scope"), Resource: v.Get("resource"),
		CodeChallenge: v.Get("code_challenge"), CodeChallengeMethod: v.Get("code_challenge_method"),
	}
}

// check validates an authorization request. A bad client or redirect URI
// is shown to the user (never redirected to); other problems are
// redirected back to the client as OAuth errors (redirect true).
func (s *Server) checkAuthz(ctx context.Context, a authzRequest) (client sage.OAuthClient, oauthErr, msg string, redirect bool) {
	tokens, err := s.backendTokens()
	if err != nil {
		return client, "temporarily_unavailable", "The database is unavailable; try again in a moment.", false
	}
	if a.ClientID == "" {
		return client, "invalid_request", "The request names no client (client_id).", false
	}
	client, err = tokens.Client(ctx, a.ClientID)
	if errors.Is(err, sage.ErrNotFound) {
		return client, "invalid_client", "This client is not registered with Sage; reconnect from your MCP client.", false
	}
	if err != nil {
		return client, "temporarily_unavailable", "The database is unavailable; try again in a moment.", false
	}
	if !redirectMatches(client.RedirectURIs, a.RedirectURI) {
		return client, "invalid_request", "The redirect URI is not one this client registered.", false
	}
	if a.ResponseType != "code" {
		return client, "unsupported_response_type", "response_type must be code", true
	}
	if a.CodeChallenge == "" || a.CodeChallengeMethod != "S256" {
		return client, "invalid_request", "PKCE with code_challenge_method=S256 is required", true
	}
	if len(a.CodeChallenge) < 43 || len(a.CodeChallenge) > 128 {
		return client, "invalid_request", "code_challenge must be 43 to 128 characters", true
	}
	return client, "", "", false
}

// redirectError sends the user back to the client with an OAuth error.
func redirectError(w http.ResponseWriter, r *http.Request, a authzRequest, iss, code, desc string) {
	u, _ := url.Parse(a.RedirectURI)
	q := u.Query()
	q.Set("error", code)
	q.Set("error_description", desc)
	if a.State != "" {
		q.Set("state", a.State)
	}
	q.Set("iss", iss)
	u.RawQuery = q.Encode()
	http.Redirect(w, r, u.String(), http.StatusFound)
}

var authorizeTmpl = template.Must(template.New("authorize").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Sage: connect {{.ClientName}}</title>
<style>
body{font-family:system-ui,sans-serif;max-width:28rem;margin:4rem auto;padding:0 1rem;color:#222}
h1{font-size:1.3rem}input[type=password]{width:100%;padding:.5rem;font-size:1rem;box-sizing:border-box}
button{margin-top:1rem;padding:.5rem 1.2rem;font-size:1rem}.err{color:#b00020}.hint{color:#555;font-size:.9rem}
</style></head><body>
<h1>Connect {{.ClientName}} to Sage</h1>
{{if .Fatal}}<p class="err">{{.Fatal}}</p>{{else}}
<p>{{.ClientName}} asks to read and write your memories. Approve by entering your Sage access key.</p>
<p>After approval your browser returns to <strong class="host">{{.RedirectHost}}</strong>, which receives the access.
The name &ldquo;{{.ClientName}}&rdquo; is self-declared by the client and not verified: approve only if you started
this connection and expect that address.</p>
{{if .Error}}<p class="err">{{.Error}}</p>{{end}}
<form method="post" action="authorize">
{{range $k, $v := .Hidden}}<input type="hidden" name="{{$k}}" value="{{$v}}">
{{end}}<label for="key">Sage access key</label>
<input type="password" id="key" name="access_key" autocomplete="current-password" required autofocus>
<p class="hint">The key is in the daemon's data directory (file <code>token</code>), or ask your Sage admin for one
(<code>sage-daemon token issue</code>).</p>
<button type="submit">Approve</button>
</form>{{end}}
</body></html>
`))

type authorizeView struct {
	ClientName, RedirectHost, Error, Fatal string
	Hidden                                 map[string]string
}

func (s *Server) renderAuthorize(w http.ResponseWriter, status int, a authzRequest, client sage.OAuthClient, errMsg, fatal string) {
	name := client.Name
	if name == "" {
		name = "an MCP client"
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'")
	host := "(unknown)"
	if u, err := url.Parse(a.RedirectURI); err == nil && u.Host != "" {
		host = u.Host
	}
	w.WriteHeader(status)
	_ = authorizeTmpl.Execute(w, authorizeView{ClientName: name, RedirectHost: host, Error: errMsg, Fatal: fatal, Hidden: map[string]string{
		"response_type": a.ResponseType, "client_id": a.ClientID, "redirect_uri": a.RedirectURI, "state": a.State,
		"scope": a.Scope, "resource": a.Resource, "code_challenge": a.CodeChallenge,
		"code_challenge_method": a.CodeChallengeMethod,
	}})
}

// authorizePage shows the approval page.
func (s *Server) authorizePage(w http.ResponseWriter, r *http.Request) {
	a := parseAuthz(r.URL.Query())
	client, code, msg, redirect := s.checkAuthz(r.Context(), a)
	if code != "" {
		if redirect {
			redirectError(w, r, a, s.baseURL(r), code, msg)
			return
		}
		status := http.StatusBadRequest
		if code == "temporarily_unavailable" {
			status = http.StatusServiceUnavailable
		}
		s.renderAuthorize(w, status, a, client, "", msg)
		return
	}
	s.renderAuthorize(w, http.StatusOK, a, client, "", "")
}

// authorizeSubmit checks the access key and redirects back with a code.
func (s *Server) authorizeSubmit(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		s.renderAuthorize(w, http.StatusBadRequest, authzRequest{}, sage.OAuthClient{}, "", "The form could not be read.")
		return
	}
	a := parseAuthz(r.PostForm)
	client, code, msg, redirect := s.checkAuthz(r.Context(), a)
	if code != "" {
		if redirect {
			redirectError(w, r, a, s.baseURL(r), code, msg)
			return
		}
		s.renderAuthorize(w, http.StatusBadRequest, a, client, "", msg)
		return
	}
	wait := s.throttle.wait(clientIP(r)) // a valid key passes even so
	tokens, err := s.backendTokens()
	if err != nil {
		s.renderAuthorize(w, http.StatusServiceUnavailable, a, client, "The database is unavailable; try again in a moment.", "")
		return
	}
	key, err := tokens.Authenticate(r.Context(), strings.TrimSpace(r.PostForm.Get("access_key")))
	if errors.Is(err, sage.ErrUnauthenticated) {
		s.authFailed(r)
		if wait > 0 {
			s.metrics.AuthThrottled()
			w.Header().Set("Retry-After", retryAfter(wait))
			s.renderAuthorize(w, http.StatusTooManyRequests, a, client, "Too many wrong keys: wait "+retryAfter(wait)+" seconds and try again.", "")
			return
		}
		s.renderAuthorize(w, http.StatusUnauthorized, a, client, "That key is not valid (wrong, expired or revoked).", "")
		return
	}
	if err != nil {
		s.renderAuthorize(w, http.StatusServiceUnavailable, a, client, "The database is unavailable; try again in a moment.", "")
		return
	}
	parent := key.ID
	if key.ParentID != "" {
		parent = key.ParentID
	}
	grant := sage.OAuthCode{ClientID: client.ID, RedirectURI: a.RedirectURI, CodeChallenge: a.CodeChallenge,
		Resource: a.Resource, ParentID: parent, Scopes: scopeList(a.Scope), ExpiresAt: time.Now().Add(s.opts.CodeTTL)}
	secret, err := tokens.CreateCode(r.Context(), grant)
	if err != nil {
		s.log.Warn("create authorization code", "err", err)
		s.renderAuthorize(w, http.StatusServiceUnavailable, a, client, "The database is unavailable; try again in a moment.", "")
		return
	}
	s.log.Info("oauth client approved", "client_id", client.ID, "client_name", client.Name, "key_id", parent)
	u, _ := url.Parse(a.RedirectURI)
	q := u.Query()
	q.Set("code", secret)
	if a.State != "" {
		q.Set("state", a.State)
	}
	q.Set("iss", s.baseURL(r))
	u.RawQuery = q.Encode()
	http.Redirect(w, r, u.String(), http.StatusFound)
}

// scopeList keeps the known scopes of a space-separated scope parameter.
func scopeList(scope string) []string {
	var out []string
	for _, sc := range strings.Fields(scope) {
		if slices.Contains(sage.Scopes, sc) && !slices.Contains(out, sc) {
			out = append(out, sc)
		}
	}
	return out
}

func retryAfter(d time.Duration) string {
	secs := int((d + time.Second - 1) / time.Second)
	if secs < 1 {
		secs = 1
	}
	return strconv.Itoa(secs)
}

// pkceOK checks an S256 code verifier against its challenge (RFC 7636).
func pkceOK(verifier, challenge string) bool {
	if len(verifier) < 43 || len(verifier) > 128 {
		return false
	}
	sum := sha256.Sum256([]byte(verifier))
	got := base64.RawURLEncoding.EncodeToString(sum[:])
	return subtle.ConstantTimeCompare([]byte(got), []byte(challenge)) == 1
}

// postForm reads the form of a POST request, or answers the OAuth error
// and returns false.
func postForm(w http.ResponseWriter, r *http.Request) bool {
	if r.Method != http.MethodPost {
		oauthError(w, http.StatusMethodNotAllowed, "invalid_request", "use POST")
		return false
	}
	if err := r.ParseForm(); err != nil {
		oauthError(w, http.StatusBadRequest, "invalid_request", "body must be application/x-www-form-urlencoded")
		return false
	}
	return true
}

// token is the token endpoint: authorization_code (with PKCE) and
// refresh_token grants. Codes work once; refresh tokens rotate.
func (s *Server) token(w http.ResponseWriter, r *http.Request) {
	if !postForm(w, r) {
		return
	}
	wait := s.throttle.wait(clientIP(r)) // a valid grant passes even so
	tokens, ok := s.oauthTokens(w)
	if !ok {
		return
	}
	f := r.PostForm
	clientID := f.Get("client_id")
	var pair sage.OAuthTokens
	var err error
	switch f.Get("grant_type") {
	case "authorization_code":
		var g sage.OAuthCode
		g, err = tokens.ConsumeCode(r.Context(), f.Get("code"))
		if err == nil {
			switch {
			case g.ClientID != clientID:
				err = errors.New("code issued to another client")
			case g.RedirectURI != f.Get("redirect_uri"):
				err = errors.New("redirect_uri differs from the authorization request")
			case !pkceOK(f.Get("code_verifier"), g.CodeChallenge):
				err = errors.New("code_verifier does not match the code_challenge")
			}
			if err != nil {
				err = errors.Join(sage.ErrInvalidGrant, err)
			}
		}
		if err == nil {
			pair, err = tokens.IssueOAuthTokens(r.Context(), g.ParentID, clientID, g.Scopes, s.opts.AccessTTL, s.opts.RefreshTTL)
		}
	case "refresh_token":
		pair, err = tokens.RefreshOAuthTokens(r.Context(), f.Get("refresh_token"), clientID, s.opts.AccessTTL, s.opts.RefreshTTL)
	default:
		oauthError(w, http.StatusBadRequest, "unsupported_grant_type", "grant_type must be authorization_code or refresh_token")
		return
	}
	if errors.Is(err, sage.ErrInvalidGrant) {
		s.authFailed(r)
		if wait > 0 {
			s.metrics.AuthThrottled()
			w.Header().Set("Retry-After", retryAfter(wait))
			oauthError(w, http.StatusTooManyRequests, "slow_down", "too many failed attempts; retry later")
			return
		}
		oauthError(w, http.StatusBadRequest, "invalid_grant", "the code or refresh token is invalid, used, expired or revoked, or does not match this request")
		return
	}
	if err != nil {
		s.oauthUnavailable(w, "token endpoint", err, "database unavailable; retry later")
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"access_token":  pair.AccessSecret,
		"token_type":    "Bearer",
		"expires_in":    int(time.Until(pair.Access.ExpiresAt).Seconds()),
		"refresh_token": pair.RefreshSecret,
		"scope":         strings.Join(pair.Access.Scopes, " "),
	})
}

// introspect is RFC 7662-like token introspection: POST token=… (or a
// bearer header) answers whether it is active, and its namespace, scope
// and expiry. Unknown tokens count as failed authentications.
func (s *Server) introspect(w http.ResponseWriter, r *http.Request) {
	if !postForm(w, r) {
		return
	}
	secret := r.PostForm.Get("token")
	if secret == "" {
		secret, _ = bearer(r)
	}
	if secret == "" {
		oauthError(w, http.StatusBadRequest, "invalid_request", "give the token to introspect as token=…")
		return
	}
	wait := s.throttle.wait(clientIP(r)) // a valid token passes even so
	tokens, ok := s.oauthTokens(w)
	if !ok {
		return
	}
	t, err := tokens.Authenticate(r.Context(), secret)
	if errors.Is(err, sage.ErrUnauthenticated) {
		s.authFailed(r)
		if s.throttled(w, wait) {
			return
		}
		writeJSON(w, http.StatusOK, map[string]any{"active": false})
		return
	}
	if err != nil {
		oauthError(w, http.StatusServiceUnavailable, "temporarily_unavailable", "database unavailable")
		return
	}
	out := map[string]any{
		"active":     true,
		"namespace":  t.Namespace,
		"scope":      strings.Join(t.Scopes, " "),
		"token_type": "Bearer",
		"client_id":  t.ClientID,
		"iat":        t.CreatedAt.Unix(),
	}
	if !t.ExpiresAt.IsZero() {
		out["exp"] = t.ExpiresAt.Unix()
	}
	writeJSON(w, http.StatusOK, out)
}
