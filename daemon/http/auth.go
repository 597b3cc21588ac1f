package http

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/modelcontextprotocol/go-sdk/auth"

	sage "github.com/sage-mcp/sage/daemon"
	"github.com/sage-mcp/sage/shared/api"
)

type tokenKey struct{}

// TokenFrom returns the token that authenticated the request of ctx.
func TokenFrom(ctx context.Context) (sage.Token, bool) {
	t, ok := ctx.Value(tokenKey{}).(sage.Token)
	return t, ok
}

// devToken stands for the caller when auth is off.
var devToken = sage.Token{ID: "auth-off", Kind: sage.TokenKey, Name: "auth off", Namespace: sage.DefaultNamespace,
	Scopes: []string{sage.ScopeAdmin}}

// bearer returns the token of an "Authorization: Bearer" header.
func bearer(r *http.Request) (string, bool) {
	f := strings.Fields(r.Header.Get("Authorization"))
	if len(f) != 2 || !strings.EqualFold(f[0], "bearer") {
		return "", false
	}
	return f[1], true
}

// baseURL is the daemon's external base URL: SAGE_PUBLIC_URL, or derived
// from the request.
func (s *Server) baseURL(r *http.Request) string {
	if s.opts.PublicURL != "" {
		return s.opts.PublicURL
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}

// challenge sets the WWW-Authenticate header that points MCP clients at
// the protected resource metadata (RFC 9728 §5.1).
func (s *Server) challenge(w http.ResponseWriter, r *http.Request, oauthErr string) {
	v := `Bearer resource_metadata="` + s.baseURL(r) + `/.well-known/oauth-protected-resource/mcp"`
	if oauthErr != "" {
		v += `, error="` + oauthErr + `"`
	}
	w.Header().Set("WWW-Authenticate", v)
}

// verify authenticates a bearer token. It returns the token, or writes the
// failure (401, 429, 503) and returns false.
func (s *Server) verify(w http.ResponseWriter, r *http.Request) (sage.Token, bool) {
	if s.opts.NoAuth {
		return devToken, true
	}
	secret, ok := bearer(r)
	if !ok {
		s.challenge(w, r, "")
		writeErr(w, http.StatusUnauthorized, api.CodeUnauthorized,
			"authentication required: send Authorization: Bearer <token> (see SAGE_DATA_DIR/token) or use OAuth")
		return sage.Token{}, false
	}
	// The throttle never refuses a valid key: the token is checked even
	// while its address is throttled, and only a failure then gets 429.
	wait := s.throttle.wait(clientIP(r))
	tokens, err := s.backendTokens()
	if err != nil {
		s.fail(w, r, err)
		return sage.Token{}, false
	}
	ctx, cancel := context.WithTimeout(r.Context(), 5*time.Second)
	defer cancel()
	t, err := tokens.Authenticate(ctx, secret)
	if errors.Is(err, sage.ErrUnauthenticated) {
		s.authFailed(r)
		if s.throttled(w, wait) {
			return sage.Token{}, false
		}
		s.challenge(w, r, "invalid_token")
		writeErr(w, http.StatusUnauthorized, api.CodeUnauthorized, "invalid, expired or revoked token")
		return sage.Token{}, false
	}
	if err != nil {
		s.fail(w, r, err)
		return sage.Token{}, false
	}
	return t, true
}

// authenticate requires a valid bearer token with scope before h. The
// token's namespace becomes the namespace of every Service call. For MCP
// (mcp true) the token also reaches the go-sdk as auth.TokenInfo, with the
// namespace in Extra["namespace"].
func (s *Server) authenticate(scope string, mcp bool, h http.Handler) http.Handler {
	if mcp {
		h = auth.RequireBearerToken(func(ctx context.Context, _ string, _ *http.Request) (*auth.TokenInfo, error) {
			t, ok := TokenFrom(ctx)
			if !ok {
				return nil, auth.ErrInvalidToken
			}
			user := t.ID
			if t.ParentID != "" {
				user = t.ParentID // stable across OAuth refreshes
			}
			return &auth.TokenInfo{Scopes: t.Scopes, Expiration: t.ExpiresAt, UserID: user,
				Extra: map[string]any{"namespace": t.Namespace, "token_id": t.ID}}, nil
		}, &auth.RequireBearerTokenOptions{AllowMissingExpiration: true})(h)
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		t, ok := s.verify(w, r)
		if !ok {
			return
		}
		if !t.HasScope(scope) {
			writeErr(w, http.StatusForbidden, api.CodeForbidden, "this token lacks the "+scope+" scope")
			return
		}
		if mcp && s.opts.NoAuth {
			r.Header.Set("Authorization", "Bearer auth-off")
		}
		ctx := context.WithValue(r.Context(), tokenKey{}, t)
		ctx = sage.WithNamespace(ctx, t.Namespace)
		h.ServeHTTP(w, r.WithContext(ctx))
	})
}
