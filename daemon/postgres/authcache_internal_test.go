package postgres

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	sage "github.com/sage-mcp/sage/daemon"
)

// clock is a settable time source.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }

func (c *clock) add(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

// TestAuthCache checks what Authenticate's cache may and may not hide: a
// revocation through the same store is seen at once, one by another daemon
// within AuthCacheTTL, and expiry always exactly.
func TestAuthCache(t *testing.T) {
	ctx := context.Background()
	db := mustDB(t)
	clk := &clock{t: time.Now()}
	a, b := NewTokenStore(db.Pool()), NewTokenStore(db.Pool()) // two daemons
	a.now = clk.now

	mustIssue := func(spec sage.TokenSpec) (sage.Token, string) {
		t.Helper()
		tok, secret, err := a.IssueToken(ctx, spec)
		if err != nil {
			t.Fatal(err)
		}
		return tok, secret
	}
	mustAuth := func(s *TokenStore, secret string, want error) {
		t.Helper()
		_, err := s.Authenticate(ctx, secret)
		if !errors.Is(err, want) || (want == nil && err != nil) {
			t.Fatalf("authenticate: %v, want %v", err, want)
		}
	}

	// Revoked through the same store: refused at once.
	k1, s1 := mustIssue(sage.TokenSpec{Name: "one"})
	mustAuth(a, s1, nil)
	if err := a.RevokeToken(ctx, k1.ID); err != nil {
		t.Fatal(err)
	}
	mustAuth(a, s1, sage.ErrUnauthenticated)

	// Revoked by another daemon: refused once AuthCacheTTL has passed.
	k2, s2 := mustIssue(sage.TokenSpec{Name: "two"})
	mustAuth(a, s2, nil)
	if err := b.RevokeToken(ctx, k2.ID); err != nil {
		t.Fatal(err)
	}
	mustAuth(b, s2, sage.ErrUnauthenticated)
	mustAuth(a, s2, nil) // still trusted from the cache
	clk.add(AuthCacheTTL)
	mustAuth(a, s2, sage.ErrUnauthenticated)

	// Expiring before AuthCacheTTL: refused from the moment it expires.
	_, s3 := mustIssue(sage.TokenSpec{Name: "three", TTL: time.Hour})
	clk.add(time.Hour - time.Second)
	mustAuth(a, s3, nil)
	clk.add(time.Second)
	mustAuth(a, s3, sage.ErrUnauthenticated)
}
