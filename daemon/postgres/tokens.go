package postgres

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	sage "github.com/sage-mcp/sage/daemon"
)

// TokenPrefix starts every secret the daemon issues, so a leaked one is easy
// to recognise (and to scan for).
const TokenPrefix = "sage_"

// Limits on token fields.
const (
	MaxTokenNameBytes = sage.MaxTokenNameBytes
	tokenSecretBytes  = 32
)

// AuthCacheTTL is how long Authenticate trusts a token it has checked
// without asking the database again (two queries a request otherwise). A
// revocation through this TokenStore takes effect at once; one made by
// another daemon on the same database, within AuthCacheTTL. Expiry is always
// exact.
const AuthCacheTTL = 5 * time.Second

// maxAuthCache bounds the tokens Authenticate remembers.
const maxAuthCache = 1024

// TokenStore keeps access tokens and OAuth state in PostgreSQL (tables of
// migration 002). Secrets are stored only as SHA-256 hashes: they are
// high-entropy random strings, so a fast hash is enough.
type TokenStore struct {
	pool *pgxpool.Pool
	now  func() time.Time

	authMu  sync.Mutex
	auth    map[[sha256.Size]byte]authEntry // by secret hash
	authGen uint64                          // bumped by forgetAuth
}

// authEntry is a token Authenticate checked.
type authEntry struct {
	t     sage.Token
	until time.Time // trusted until then (AuthCacheTTL, or the token's or its key's expiry)
}

// NewTokenStore returns a TokenStore on pool.
func NewTokenStore(pool *pgxpool.Pool) *TokenStore {
	return &TokenStore{pool: pool, now: time.Now, auth: map[[sha256.Size]byte]authEntry{}}
}

// NewSecret returns a fresh random token secret.
func NewSecret() string {
	b := make([]byte, tokenSecretBytes)
	_, _ = rand.Read(b) // crypto/rand.Read never fails
	return TokenPrefix + base64.RawURLEncoding.EncodeToString(b)
}

// HashSecret returns the stored form of a secret.
func HashSecret(secret string) []byte {
	sum := sha256.Sum256([]byte(secret))
	return sum[:]
}

func newTokenID() string {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	return "tok_" + hex.EncodeToString(b)
}

// ValidateTokenSpec checks spec (sage.TokenSpec.Validate) and fills its
// defaults.
func ValidateTokenSpec(spec sage.TokenSpec) (sage.TokenSpec, error) {
	if err := spec.Validate(); err != nil {
		return spec, err
	}
	if spec.Namespace == "" {
		spec.Namespace = sage.DefaultNamespace
	}
	if len(spec.Scopes) == 0 {
		spec.Scopes = []string{sage.ScopeMemories}
	}
	spec.Scopes = slices.Compact(slices.Sorted(slices.Values(spec.Scopes)))
	return spec, nil
}

// IssueToken creates an access key and returns it with its secret, which
// is not stored and cannot be shown again.
func (s *TokenStore) IssueToken(ctx context.Context, spec sage.TokenSpec) (sage.Token, string, error) {
	spec, err := ValidateTokenSpec(spec)
	if err != nil {
		return sage.Token{}, "", err
	}
	secret := NewSecret()
	t, err := s.insertKey(ctx, spec, secret)
	if err != nil {
		return sage.Token{}, "", err
	}
	return t, secret, nil
}

// EnsureToken makes sure a key with this secret exists (SAGE_TOKEN): it is
// created on the first call and found on later ones. created says which.
func (s *TokenStore) EnsureToken(ctx context.Context, spec sage.TokenSpec, secret string) (t sage.Token, created bool, err error) {
	if len(secret) < 16 {
		return sage.Token{}, false, sage.Invalidf("token", "must be at least 16 characters")
	}
	spec, err = ValidateTokenSpec(spec)
	if err != nil {
		return sage.Token{}, false, err
	}
	t, err = s.lookup(ctx, HashSecret(secret))
	if err == nil {
		return t, false, nil
	}
	if !errors.Is(err, sage.ErrNotFound) {
		return sage.Token{}, false, err
	}
	t, err = s.insertKey(ctx, spec, secret)
	if err != nil {
		return sage.Token{}, false, err
	}
	return t, true, nil
}

func (s *TokenStore) insertKey(ctx context.Context, spec sage.TokenSpec, secret string) (sage.Token, error) {
	var expires *time.Time
	if spec.TTL > 0 {
		e := s.now().Add(spec.TTL)
		expires = &e
	}
	row := s.pool.QueryRow(ctx, `
		INSERT INTO auth_tokens (id, kind, name, namespace, scopes, hash, expires_at)
		VALUES ($1, 'key', $2, $3, $4, $5, $6)
		RETURNING `+tokenColumns, newTokenID(), spec.Name, spec.Namespace, spec.Scopes, HashSecret(secret), expires)
	t, _, err := scanToken(row)
	if err != nil {
		return sage.Token{}, tokenErr("issue token", err)
	}
	return t, nil
}

const tokenColumns = `id, kind, name, namespace, scopes, hash, coalesce(parent_id, ''), coalesce(client_id, ''),
	created_at, expires_at, revoked_at, last_used_at`

func scanToken(row pgx.Row) (sage.Token, []byte, error) {
	var t sage.Token
	var hash []byte
	var expires, revoked, used *time.Time
	err := row.Scan(&t.ID, &t.Kind, &t.Name, &t.Namespace, &t.Scopes, &hash, &t.ParentID, &t.ClientID,
		&t.CreatedAt, &expires, &revoked, &used)
	if expires != nil {
		t.ExpiresAt = *expires
	}
	if revoked != nil {
		t.RevokedAt = *revoked
	}
	if used != nil {
		t.LastUsedAt = *used
	}
	return t, hash, err
}

func (s *TokenStore) lookup(ctx context.Context, hash []byte) (sage.Token, error) {
	t, stored, err := scanToken(s.pool.QueryRow(ctx, `SELECT `+tokenColumns+` FROM auth_tokens WHERE hash = $1`, hash))
	if errors.Is(err, pgx.ErrNoRows) {
		return sage.Token{}, sage.ErrNotFound
	}
	if err != nil {
		return sage.Token{}, tokenErr("look up token", err)
	}
	if subtle.ConstantTimeCompare(stored, hash) != 1 {
		return sage.Token{}, sage.ErrNotFound
	}
	return t, nil
}

// Authenticate returns the token whose secret this is: an access key or an
// OAuth access token. It fails with sage.ErrUnauthenticated when the token
// is unknown, expired or revoked (or its parent key is), and with
// sage.ErrUnavailable when the database cannot be reached.
func (s *TokenStore) Authenticate(ctx context.Context, secret string) (sage.Token, error) {
	if secret == "" || len(secret) > 512 {
		return sage.Token{}, sage.ErrUnauthenticated
	}
	sum := sha256.Sum256([]byte(secret))
	now := s.now()
	s.authMu.Lock()
	e, ok := s.auth[sum]
	gen := s.authGen
	s.authMu.Unlock()
	if ok && now.Before(e.until) {
		return e.t, nil
	}
	t, err := s.lookup(ctx, sum[:])
	if errors.Is(err, sage.ErrNotFound) {
		return sage.Token{}, sage.ErrUnauthenticated
	}
	if err != nil {
		return sage.Token{}, err
	}
	if t.Kind == sage.TokenOAuthRefresh {
		return sage.Token{}, sage.ErrUnauthenticated
	}
	expires, err := s.usable(ctx, t)
	if err != nil {
		return sage.Token{}, err
	}
	// Record use at most once a minute per token; a failure here is harmless.
	_, _ = s.pool.Exec(ctx, `UPDATE auth_tokens SET last_used_at = now()
		WHERE id = $1 AND (last_used_at IS NULL OR last_used_at < now() - interval '1 minute')`, t.ID)
	until := now.Add(AuthCacheTTL)
	if !expires.IsZero() && expires.Before(until) {
		until = expires
	}
	s.authMu.Lock()
	if gen == s.authGen { // no revocation since the lookup
		if len(s.auth) >= maxAuthCache {
			clear(s.auth)
		}
		s.auth[sum] = authEntry{t: t, until: until}
	}
	s.authMu.Unlock()
	return t, nil
}

// forgetAuth drops every token Authenticate remembers.
func (s *TokenStore) forgetAuth() {
	s.authMu.Lock()
	clear(s.auth)
	s.authGen++
	s.authMu.Unlock()
}

// usable checks that t and its parent key are neither revoked nor expired,
// and returns when the first of them expires (zero: never).
func (s *TokenStore) usable(ctx context.Context, t sage.Token) (time.Time, error) {
	now := s.now()
	if !t.RevokedAt.IsZero() {
		return time.Time{}, fmt.Errorf("token revoked: %w", sage.ErrUnauthenticated)
	}
	if !t.ExpiresAt.IsZero() && !now.Before(t.ExpiresAt) {
		return time.Time{}, fmt.Errorf("token expired: %w", sage.ErrUnauthenticated)
	}
	if t.ParentID == "" {
		return t.ExpiresAt, nil
	}
	p, err := s.Token(ctx, t.ParentID)
	if errors.Is(err, sage.ErrNotFound) {
		return time.Time{}, fmt.Errorf("access key deleted: %w", sage.ErrUnauthenticated)
	}
	if err != nil {
		return time.Time{}, err
	}
	if !p.RevokedAt.IsZero() {
		return time.Time{}, fmt.Errorf("access key revoked: %w", sage.ErrUnauthenticated)
	}
	if !p.ExpiresAt.IsZero() && !now.Before(p.ExpiresAt) {
		return time.Time{}, fmt.Errorf("access key expired: %w", sage.ErrUnauthenticated)
	}
	if t.ExpiresAt.IsZero() || (!p.ExpiresAt.IsZero() && p.ExpiresAt.Before(t.ExpiresAt)) {
		return p.ExpiresAt, nil
	}
	return t.ExpiresAt, nil
}

// Token returns the token with this id, or sage.ErrNotFound.
func (s *TokenStore) Token(ctx context.Context, id string) (sage.Token, error) {
	if err := sage.ValidateTokenID(id); err != nil {
		return sage.Token{}, err
	}
	t, _, err := scanToken(s.pool.QueryRow(ctx, `SELECT `+tokenColumns+` FROM auth_tokens WHERE id = $1`, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return sage.Token{}, sage.ErrNotFound
	}
	if err != nil {
		return sage.Token{}, tokenErr("get token", err)
	}
	return t, nil
}

// Tokens lists the access keys (not the OAuth tokens issued from them),
// oldest first, revoked ones included.
func (s *TokenStore) Tokens(ctx context.Context) ([]sage.Token, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+tokenColumns+` FROM auth_tokens WHERE kind = 'key' ORDER BY created_at, id`)
	if err != nil {
		return nil, tokenErr("list tokens", err)
	}
	defer rows.Close()
	var out []sage.Token
	for rows.Next() {
		t, _, err := scanToken(rows)
		if err != nil {
			return nil, tokenErr("list tokens", err)
		}
		out = append(out, t)
	}
	if err := rows.Err(); err != nil {
		return nil, tokenErr("list tokens", err)
	}
	return out, nil
}

// CountActiveKeys counts the keys that are neither revoked nor expired.
func (s *TokenStore) CountActiveKeys(ctx context.Context) (int, error) {
	var n int
	err := s.pool.QueryRow(ctx, `SELECT count(*) FROM auth_tokens
		WHERE kind = 'key' AND revoked_at IS NULL AND (expires_at IS NULL OR expires_at > now())`).Scan(&n)
	if err != nil {
		return 0, tokenErr("count tokens", err)
	}
	return n, nil
}

// RevokeToken revokes a key, and with it every OAuth token issued from it.
// Revoking twice is not an error; an unknown id is sage.ErrNotFound.
func (s *TokenStore) RevokeToken(ctx context.Context, id string) error {
	if err := sage.ValidateTokenID(id); err != nil {
		return err
	}
	defer s.forgetAuth()
	tag, err := s.pool.Exec(ctx, `UPDATE auth_tokens SET revoked_at = coalesce(revoked_at, now())
		WHERE id = $1 OR parent_id = $1`, id)
	if err != nil {
		return tokenErr("revoke token", err)
	}
	if tag.RowsAffected() == 0 {
		return sage.ErrNotFound
	}
	return nil
}

// tokenErr wraps err with op, and marks connection failures as
// sage.ErrUnavailable (see unavailable).
func tokenErr(op string, err error) error {
	return fmt.Errorf("%s: %w", op, unavailable(err))
}
