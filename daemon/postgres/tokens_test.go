package postgres_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	sage "github.com/sage-mcp/sage/daemon"
	"github.com/sage-mcp/sage/daemon/postgres"
)

// MustTokenStore returns a token store on a fresh migrated database.
func MustTokenStore(t testing.TB) *postgres.TokenStore {
	t.Helper()
	db := MustOpen(t, MustDatabase(t))
	return postgres.NewTokenStore(db.Pool())
}

// MustIssue issues a key or fails t.
func MustIssue(t testing.TB, s *postgres.TokenStore, spec sage.TokenSpec) (sage.Token, string) {
	t.Helper()
	tok, secret, err := s.IssueToken(context.Background(), spec)
	if err != nil {
		t.Fatalf("issue %+v: %v", spec, err)
	}
	return tok, secret
}

func TestTokenLifecycle(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := MustTokenStore(t)

	plain, plainSecret := MustIssue(t, s, sage.TokenSpec{Name: "laptop", Namespace: "alice"})
	admin, adminSecret := MustIssue(t, s, sage.TokenSpec{Name: "ops", Scopes: []string{sage.ScopeAdmin}})
	short, shortSecret := MustIssue(t, s, sage.TokenSpec{Name: "short", TTL: time.Millisecond})
	revoked, revokedSecret := MustIssue(t, s, sage.TokenSpec{Name: "gone"})
	if err := s.RevokeToken(ctx, revoked.ID); err != nil {
		t.Fatalf("revoke: %v", err)
	}
	time.Sleep(5 * time.Millisecond) // let "short" expire

	if !strings.HasPrefix(plainSecret, postgres.TokenPrefix) || len(plainSecret) < 40 {
		t.Fatalf("secret %q: want prefix %q and 32 random bytes", plainSecret[:5], postgres.TokenPrefix)
	}
	tests := []struct {
		name    string
		secret  string
		wantID  string
		wantNS  string
		wantErr error
	}{
		{"plain key", plainSecret, plain.ID, "alice", nil},
		{"admin key", adminSecret, admin.ID, sage.DefaultNamespace, nil},
		{"expired", shortSecret, "", "", sage.ErrUnauthenticated},
		{"revoked", revokedSecret, "", "", sage.ErrUnauthenticated},
		{"unknown", postgres.NewSecret(), "", "", sage.ErrUnauthenticated},
		{"empty", "", "", "", sage.ErrUnauthenticated},
		{"prefix of a real one", plainSecret[:len(plainSecret)-1], "", "", sage.ErrUnauthenticated},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := s.Authenticate(ctx, tt.secret)
			if !errors.Is(err, tt.wantErr) || (tt.wantErr == nil && err != nil) {
				t.Fatalf("Authenticate: err = %v, want %v", err, tt.wantErr)
			}
			if got.ID != tt.wantID || got.Namespace != tt.wantNS {
				t.Fatalf("Authenticate = %s/%s, want %s/%s", got.ID, got.Namespace, tt.wantID, tt.wantNS)
			}
		})
	}
	if !admin.HasScope(sage.ScopeMemories) || plain.HasScope(sage.ScopeAdmin) {
		t.Fatalf("scopes: admin %v, plain %v", admin.Scopes, plain.Scopes)
	}
	_ = short

	list, err := s.Tokens(ctx)
	if err != nil || len(list) != 4 {
		t.Fatalf("Tokens = %d, %v; want 4", len(list), err)
	}
	if n, err := s.CountActiveKeys(ctx); err != nil || n != 2 {
		t.Fatalf("CountActiveKeys = %d, %v; want 2", n, err)
	}
	if err := s.RevokeToken(ctx, "tok_nope"); !errors.Is(err, sage.ErrNotFound) {
		t.Fatalf("revoke unknown: %v, want ErrNotFound", err)
	}
}

func TestValidateTokenSpec(t *testing.T) {
	tests := []struct {
		spec    sage.TokenSpec
		wantErr bool
	}{
		{sage.TokenSpec{}, false},
		{sage.TokenSpec{Namespace: "team-a.b_c"}, false},
		{sage.TokenSpec{Namespace: "bad ns"}, true},
		{sage.TokenSpec{Namespace: strings.Repeat("n", sage.MaxNamespaceBytes+1)}, true},
		{sage.TokenSpec{Scopes: []string{"root"}}, true},
		{sage.TokenSpec{Name: strings.Repeat("x", postgres.MaxTokenNameBytes+1)}, true},
		{sage.TokenSpec{TTL: -time.Second}, true},
	}
	for _, tt := range tests {
		got, err := postgres.ValidateTokenSpec(tt.spec)
		if (err != nil) != tt.wantErr {
			t.Errorf("ValidateTokenSpec(%+v) err = %v, want error %v", tt.spec, err, tt.wantErr)
		}
		if err == nil && (got.Namespace == "" || len(got.Scopes) == 0) {
			t.Errorf("ValidateTokenSpec(%+v) = %+v: defaults not filled", tt.spec, got)
		}
		if err != nil && !errors.Is(err, sage.ErrInvalid) {
			t.Errorf("ValidateTokenSpec(%+v) err = %v, want ErrInvalid", tt.spec, err)
		}
	}
}

func TestEnsureTokenIdempotent(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := MustTokenStore(t)
	secret := "my-very-own-admin-token"
	spec := sage.TokenSpec{Name: "SAGE_TOKEN", Scopes: []string{sage.ScopeAdmin}}
	first, created, err := s.EnsureToken(ctx, spec, secret)
	if err != nil || !created {
		t.Fatalf("first EnsureToken: created %v, %v", created, err)
	}
	again, created, err := s.EnsureToken(ctx, spec, secret)
	if err != nil || created || again.ID != first.ID {
		t.Fatalf("second EnsureToken: %s created %v, %v; want %s, not created", again.ID, created, err, first.ID)
	}
	if _, _, err := s.EnsureToken(ctx, spec, "short"); !errors.Is(err, sage.ErrInvalid) {
		t.Fatalf("short secret: %v, want ErrInvalid", err)
	}
	got, err := s.Authenticate(ctx, secret)
	if err != nil || got.ID != first.ID || !got.HasScope(sage.ScopeAdmin) {
		t.Fatalf("Authenticate = %+v, %v", got, err)
	}
}

func TestOAuthCodesAndRefresh(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := MustTokenStore(t)
	key, _ := MustIssue(t, s, sage.TokenSpec{Name: "k", Namespace: "bob", Scopes: []string{sage.ScopeAdmin}})
	client, err := s.RegisterClient(ctx, "Claude Code", []string{"http://localhost:4567/callback"})
	if err != nil {
		t.Fatal(err)
	}
	if got, err := s.Client(ctx, client.ID); err != nil || got.Name != "Claude Code" || len(got.RedirectURIs) != 1 {
		t.Fatalf("Client = %+v, %v", got, err)
	}
	if _, err := s.Client(ctx, "client_nope"); !errors.Is(err, sage.ErrNotFound) {
		t.Fatalf("unknown client: %v", err)
	}

	grant := sage.OAuthCode{ClientID: client.ID, RedirectURI: "http://localhost:4567/callback", CodeChallenge: "c",
		ParentID: key.ID, Scopes: []string{sage.ScopeMemories}, ExpiresAt: time.Now().Add(time.Minute)}
	code, err := s.CreateCode(ctx, grant)
	if err != nil {
		t.Fatal(err)
	}
	got, err := s.ConsumeCode(ctx, code)
	if err != nil || got.ParentID != key.ID || got.CodeChallenge != "c" {
		t.Fatalf("ConsumeCode = %+v, %v", got, err)
	}
	if _, err := s.ConsumeCode(ctx, code); !errors.Is(err, sage.ErrInvalidGrant) {
		t.Fatalf("second ConsumeCode: %v, want ErrInvalidGrant (single use)", err)
	}
	grant.ExpiresAt = time.Now().Add(-time.Second)
	old, _ := s.CreateCode(ctx, grant)
	if _, err := s.ConsumeCode(ctx, old); !errors.Is(err, sage.ErrInvalidGrant) {
		t.Fatalf("expired code: %v, want ErrInvalidGrant", err)
	}

	pair, err := s.IssueOAuthTokens(ctx, key.ID, client.ID, got.Scopes, time.Hour, 24*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	at, err := s.Authenticate(ctx, pair.AccessSecret)
	if err != nil || at.Namespace != "bob" || at.HasScope(sage.ScopeAdmin) || !at.HasScope(sage.ScopeMemories) {
		t.Fatalf("access token = %+v, %v; want namespace bob, scope memories only", at, err)
	}
	if _, err := s.Authenticate(ctx, pair.RefreshSecret); !errors.Is(err, sage.ErrUnauthenticated) {
		t.Fatalf("refresh token used as bearer: %v, want ErrUnauthenticated", err)
	}
	if _, err := s.RefreshOAuthTokens(ctx, pair.RefreshSecret, "client_other", time.Hour, time.Hour); !errors.Is(err, sage.ErrInvalidGrant) {
		t.Fatalf("refresh by another client: %v", err)
	}
	next, err := s.RefreshOAuthTokens(ctx, pair.RefreshSecret, client.ID, time.Hour, time.Hour)
	if err != nil {
		t.Fatalf("refresh: %v", err)
	}
	if _, err := s.RefreshOAuthTokens(ctx, pair.RefreshSecret, client.ID, time.Hour, time.Hour); !errors.Is(err, sage.ErrInvalidGrant) {
		t.Fatalf("reused refresh token: %v, want ErrInvalidGrant (rotation)", err)
	}
	if _, err := s.Authenticate(ctx, next.AccessSecret); err != nil {
		t.Fatalf("new access token: %v", err)
	}

	// Revoking the key kills every OAuth token issued from it.
	if err := s.RevokeToken(ctx, key.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Authenticate(ctx, next.AccessSecret); !errors.Is(err, sage.ErrUnauthenticated) {
		t.Fatalf("access token after key revoked: %v", err)
	}
	if _, err := s.RefreshOAuthTokens(ctx, next.RefreshSecret, client.ID, time.Hour, time.Hour); !errors.Is(err, sage.ErrInvalidGrant) {
		t.Fatalf("refresh after key revoked: %v", err)
	}
	if _, err := s.IssueOAuthTokens(ctx, key.ID, client.ID, nil, time.Hour, time.Hour); !errors.Is(err, sage.ErrInvalidGrant) {
		t.Fatalf("issue from revoked key: %v", err)
	}
}
