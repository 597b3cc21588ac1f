package sage

import (
	"errors"
	"slices"
	"time"
)

// Errors of access tokens and OAuth grants.
var (
	// ErrUnauthenticated: the access token is unknown, expired or revoked.
	ErrUnauthenticated = errors.New("invalid, expired or revoked token")
	// ErrInvalidGrant: an authorization code or refresh token is unknown,
	// used, expired or revoked, or was issued to another client.
	ErrInvalidGrant = errors.New("invalid grant")
)

// Token scopes. A token with ScopeAdmin may do everything; ScopeMemories
// may read and write memories of its namespace.
const (
	ScopeMemories = "memories"
	ScopeAdmin    = "admin"
)

// Scopes lists every valid scope.
var Scopes = []string{ScopeMemories, ScopeAdmin}

// Token kinds.
const (
	TokenKey          = "key"           // an access key, issued by an admin or at first start
	TokenOAuthAccess  = "oauth_access"  // an OAuth access token, issued from a key
	TokenOAuthRefresh = "oauth_refresh" // an OAuth refresh token, issued from a key
)

// Token is an access token's record. Its secret is never stored, only a hash.
type Token struct {
	ID        string
	Kind      string
	Name      string
	Namespace string
	Scopes    []string
	// ParentID is the key an OAuth token was issued from.
	ParentID   string
	ClientID   string
	CreatedAt  time.Time
	ExpiresAt  time.Time // zero: never
	RevokedAt  time.Time // zero: not revoked
	LastUsedAt time.Time // zero: never used
}

// HasScope reports whether t grants scope; ScopeAdmin grants every scope.
func (t Token) HasScope(scope string) bool {
	return slices.Contains(t.Scopes, scope) || slices.Contains(t.Scopes, ScopeAdmin)
}

// TokenSpec describes a token to issue.
type TokenSpec struct {
	Name      string
	Namespace string   // empty means DefaultNamespace
	Scopes    []string // empty means ScopeMemories
	TTL       time.Duration
}

// OAuthClient is a client registered by RFC 7591 dynamic registration.
// Only public clients exist: no secret, PKCE required.
type OAuthClient struct {
	ID           string
	Name         string
	RedirectURIs []string
	CreatedAt    time.Time
}

// OAuthCode is an authorization code's grant, consumed once.
type OAuthCode struct {
	ClientID      string
	RedirectURI   string
	CodeChallenge string // S256 challenge
	Resource      string
	ParentID      string // the key the user approved with
	Scopes        []string
	ExpiresAt     time.Time
}

// OAuthTokens is a newly issued access and refresh token pair.
type OAuthTokens struct {
	Access        Token
	AccessSecret  string
	RefreshSecret string
	RefreshExpiry time.Time
}
