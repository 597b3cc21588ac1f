package postgres

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	sage "github.com/sage-mcp/sage/daemon"
)

// RegisterClient stores a public OAuth client and returns it with its new id.
func (s *TokenStore) RegisterClient(ctx context.Context, name string, redirectURIs []string) (sage.OAuthClient, error) {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	c := sage.OAuthClient{ID: "client_" + hex.EncodeToString(b), Name: name, RedirectURIs: redirectURIs}
	err := s.pool.QueryRow(ctx, `INSERT INTO oauth_clients (id, name, redirect_uris) VALUES ($1, $2, $3) RETURNING created_at`,
		c.ID, c.Name, c.RedirectURIs).Scan(&c.CreatedAt)
	if err != nil {
		return sage.OAuthClient{}, tokenErr("register client", err)
	}
	return c, nil
}

// Client returns a registered client, or sage.ErrNotFound.
func (s *TokenStore) Client(ctx context.Context, id string) (sage.OAuthClient, error) {
	c := sage.OAuthClient{ID: id}
	err := s.pool.QueryRow(ctx, `SELECT name, redirect_uris, created_at FROM oauth_clients WHERE id = $1`, id).
		Scan(&c.Name, &c.RedirectURIs, &c.CreatedAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return sage.OAuthClient{}, sage.ErrNotFound
	}
	if err != nil {
		return sage.OAuthClient{}, tokenErr("get client", err)
	}
	return c, nil
}

// CreateCode stores an authorization code for grant and returns the code.
func (s *TokenStore) CreateCode(ctx context.Context, grant sage.OAuthCode) (string, error) {
	code := NewSecret()
	if grant.Scopes == nil {
		grant.Scopes = []string{}
	}
	_, err := s.pool.Exec(ctx, `INSERT INTO oauth_codes
		(hash, client_id, redirect_uri, code_challenge, resource, parent_id, scopes, expires_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
		HashSecret(code), grant.ClientID, grant.RedirectURI, grant.CodeChallenge, grant.Resource,
		grant.ParentID, grant.Scopes, grant.ExpiresAt)
	if err != nil {
		return "", tokenErr("create code", err)
	}
	return code, nil
}

// ConsumeCode marks a code used and returns its grant. A code works once:
// a second call, or a call after it expired, fails with sage.ErrInvalidGrant.
func (s *TokenStore) ConsumeCode(ctx context.Context, code string) (sage.OAuthCode, error) {
	var g sage.OAuthCode
	err := s.pool.QueryRow(ctx, `UPDATE oauth_codes SET used_at = now()
		WHERE hash = $1 AND used_at IS NULL AND expires_at > now()
		RETURNING client_id, redirect_uri, code_challenge, resource, parent_id, scopes, expires_at`, HashSecret(code)).
		Scan(&g.ClientID, &g.RedirectURI, &g.CodeChallenge, &g.Resource, &g.ParentID, &g.Scopes, &g.ExpiresAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return sage.OAuthCode{}, sage.ErrInvalidGrant
	}
	if err != nil {
		return sage.OAuthCode{}, tokenErr("consume code", err)
	}
	// Old codes are of no use: drop them now and then.
	_, _ = s.pool.Exec(ctx, `DELETE FROM oauth_codes WHERE expires_at < now() - interval '1 day'`)
	return g, nil
}

// IssueOAuthTokens issues an access and a refresh token for clientID from
// the key parentID, which must still be usable. They inherit its namespace
// and scopes (narrowed to scopes when given).
func (s *TokenStore) IssueOAuthTokens(ctx context.Context, parentID, clientID string, scopes []string, accessTTL, refreshTTL time.Duration) (sage.OAuthTokens, error) {
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return sage.OAuthTokens{}, tokenErr("issue oauth tokens", err)
	}
	defer tx.Rollback(context.WithoutCancel(ctx)) //nolint:errcheck
	out, err := s.issuePair(ctx, tx, parentID, clientID, scopes, accessTTL, refreshTTL)
	if err != nil {
		return sage.OAuthTokens{}, err
	}
	if err := tx.Commit(ctx); err != nil {
		return sage.OAuthTokens{}, tokenErr("issue oauth tokens", err)
	}
	return out, nil
}

func (s *TokenStore) issuePair(ctx context.Context, tx pgx.Tx, parentID, clientID string, scopes []string, accessTTL, refreshTTL time.Duration) (sage.OAuthTokens, error) {
	parent, _, err := scanToken(tx.QueryRow(ctx, `SELECT `+tokenColumns+` FROM auth_tokens WHERE id = $1 AND kind = 'key'`, parentID))
	if errors.Is(err, pgx.ErrNoRows) {
		return sage.OAuthTokens{}, sage.ErrInvalidGrant
	}
	if err != nil {
		return sage.OAuthTokens{}, tokenErr("issue oauth tokens", err)
	}
	if _, err := s.usable(ctx, parent); err != nil {
		if errors.Is(err, sage.ErrUnauthenticated) {
			return sage.OAuthTokens{}, fmt.Errorf("%w: %w", sage.ErrInvalidGrant, err)
		}
		return sage.OAuthTokens{}, err
	}
	granted := parent.Scopes
	if len(scopes) > 0 {
		granted = nil
		for _, sc := range scopes {
			if parent.HasScope(sc) {
				granted = append(granted, sc)
			}
		}
		if len(granted) == 0 {
			granted = parent.Scopes
		}
	}
	now := s.now()
	accessExp, refreshExp := now.Add(accessTTL), now.Add(refreshTTL)
	if !parent.ExpiresAt.IsZero() {
		accessExp = minTime(accessExp, parent.ExpiresAt)
		refreshExp = minTime(refreshExp, parent.ExpiresAt)
	}
	out := sage.OAuthTokens{AccessSecret: NewSecret(), RefreshSecret: NewSecret(), RefreshExpiry: refreshExp}
	insert := `INSERT INTO auth_tokens (id, kind, name, namespace, scopes, hash, parent_id, client_id, expires_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING ` + tokenColumns
	out.Access, _, err = scanToken(tx.QueryRow(ctx, insert, newTokenID(), sage.TokenOAuthAccess, parent.Name,
		parent.Namespace, granted, HashSecret(out.AccessSecret), parent.ID, clientID, accessExp))
	if err != nil {
		return sage.OAuthTokens{}, tokenErr("issue access token", err)
	}
	if _, err := tx.Exec(ctx, insert, newTokenID(), sage.TokenOAuthRefresh, parent.Name,
		parent.Namespace, granted, HashSecret(out.RefreshSecret), parent.ID, clientID, refreshExp); err != nil {
		return sage.OAuthTokens{}, tokenErr("issue refresh token", err)
	}
	// Expired OAuth tokens are of no use: drop them now and then.
	if _, err := tx.Exec(ctx, `DELETE FROM auth_tokens WHERE kind <> 'key' AND expires_at < now() - interval '1 day'`); err != nil {
		return sage.OAuthTokens{}, tokenErr("prune oauth tokens", err)
	}
	return out, nil
}

func minTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}

// RefreshOAuthTokens exchanges a refresh token for a new pair, rotating it:
// the old refresh token stops working. It fails with sage.ErrInvalidGrant when
// the refresh token is unknown, used, expired or revoked, or belongs to
// another client.
func (s *TokenStore) RefreshOAuthTokens(ctx context.Context, refresh, clientID string, accessTTL, refreshTTL time.Duration) (sage.OAuthTokens, error) {
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return sage.OAuthTokens{}, tokenErr("refresh oauth tokens", err)
	}
	defer tx.Rollback(context.WithoutCancel(ctx)) //nolint:errcheck
	t, _, err := scanToken(tx.QueryRow(ctx, `SELECT `+tokenColumns+` FROM auth_tokens
		WHERE hash = $1 AND kind = 'oauth_refresh' FOR UPDATE`, HashSecret(refresh)))
	if errors.Is(err, pgx.ErrNoRows) {
		return sage.OAuthTokens{}, sage.ErrInvalidGrant
	}
	if err != nil {
		return sage.OAuthTokens{}, tokenErr("refresh oauth tokens", err)
	}
	if t.ClientID != clientID {
		return sage.OAuthTokens{}, fmt.Errorf("%w: issued to another client", sage.ErrInvalidGrant)
	}
	if _, err := s.usable(ctx, t); err != nil {
		if errors.Is(err, sage.ErrUnauthenticated) {
			return sage.OAuthTokens{}, fmt.Errorf("%w: %w", sage.ErrInvalidGrant, err)
		}
		return sage.OAuthTokens{}, err
	}
	if _, err := tx.Exec(ctx, `UPDATE auth_tokens SET revoked_at = now() WHERE id = $1`, t.ID); err != nil {
		return sage.OAuthTokens{}, tokenErr("rotate refresh token", err)
	}
	out, err := s.issuePair(ctx, tx, t.ParentID, clientID, t.Scopes, accessTTL, refreshTTL)
	if err != nil {
		return sage.OAuthTokens{}, err
	}
	if err := tx.Commit(ctx); err != nil {
		return sage.OAuthTokens{}, tokenErr("refresh oauth tokens", err)
	}
	return out, nil
}
