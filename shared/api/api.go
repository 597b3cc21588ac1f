// Package api holds the JSON wire types of sage-daemon's REST API under
// /api/v1 and of its MCP tool results. The daemon encodes them; sage-bridge
// (hooks, sage_manage) decodes them. docs/API.md describes the endpoints.
package api

import (
	"encoding/json"
	"time"
)

// Version is the REST API's path prefix.
const Version = "/api/v1"

// Turn is one conversation turn to save: a user prompt and the assistant's
// response.
type Turn struct {
	// IdempotencyKey makes a replay of the same turn a no-op. Hooks use
	// "<session id>:<turn id>".
	IdempotencyKey    string          `json:"idempotency_key,omitempty"`
	SessionID         string          `json:"session_id,omitempty"`
	Project           string          `json:"project,omitempty"`
	UserPrompt        string          `json:"user_prompt"`
	AssistantResponse string          `json:"assistant_response"`
	Metadata          json.RawMessage `json:"metadata,omitempty"`
	OccurredAt        *time.Time      `json:"occurred_at,omitempty"`
}

// SaveTurnsRequest is the body of POST /api/v1/turns.
type SaveTurnsRequest struct {
	Turns []Turn `json:"turns"`
}

// SaveResult tells where a saved memory went.
type SaveResult struct {
	ID int64 `json:"id"`
	// Deduplicated is true when the memory was already stored (same
	// idempotency key, or same session and content) and nothing new was written.
	Deduplicated bool `json:"deduplicated"`
}

// SaveTurnsResponse is the answer to POST /api/v1/turns, one result per turn
// in request order.
type SaveTurnsResponse struct {
	Results []SaveResult `json:"results"`
}

// Note is a memory that is not a turn: a fact, decision or anything to keep.
type Note struct {
	IdempotencyKey string          `json:"idempotency_key,omitempty"`
	Content        string          `json:"content"`
	Kind           string          `json:"kind,omitempty"`
	Tags           []string        `json:"tags,omitempty"`
	Project        string          `json:"project,omitempty"`
	SessionID      string          `json:"session_id,omitempty"`
	Metadata       json.RawMessage `json:"metadata,omitempty"`
	OccurredAt     *time.Time      `json:"occurred_at,omitempty"`
}

// Memory is a stored memory as returned by search, context and export.
type Memory struct {
	ID        int64           `json:"id"`
	Score     float64         `json:"score,omitempty"`
	Kind      string          `json:"kind"`
	Text      string          `json:"text"`
	SessionID string          `json:"session_id,omitempty"`
	Project   string          `json:"project,omitempty"`
	Tags      []string        `json:"tags,omitempty"`
	Metadata  json.RawMessage `json:"metadata,omitempty"`
	// IdempotencyKey is set on export so an import stays idempotent.
	IdempotencyKey string    `json:"idempotency_key,omitempty"`
	OccurredAt     time.Time `json:"occurred_at"`
	CreatedAt      time.Time `json:"created_at"`
}

// SearchResponse is the answer to GET /api/v1/search.
type SearchResponse struct {
	Results []Memory `json:"results"`
}

// ContextResponse is the answer to GET /api/v1/context: a block ready to
// inject, never longer than the max_chars asked for, and its items.
type ContextResponse struct {
	Context string   `json:"context"`
	Items   []Memory `json:"items"`
	// Recorded is the id of the injection audit record (0: none, for an
	// empty block or a dry run).
	Recorded int64 `json:"recorded,omitempty"`
	// Candidates (with dry_run) are the memories considered and why each
	// was or was not injected.
	Candidates []Candidate `json:"candidates,omitempty"`
}

// Session is a conversation session.
type Session struct {
	ID       string    `json:"id"`
	Project  string    `json:"project,omitempty"`
	Title    string    `json:"title,omitempty"`
	Memories int       `json:"memories"`
	FirstAt  time.Time `json:"first_at"`
	LastAt   time.Time `json:"last_at"`
}

// SessionsResponse is the answer to GET /api/v1/sessions.
type SessionsResponse struct {
	Sessions []Session `json:"sessions"`
}

// SessionDetail is the answer to GET /api/v1/sessions/{id}: the session
// and its memories in time order.
type SessionDetail struct {
	Session
	Items []Memory `json:"items"`
}

// SessionExport is the document manage_session(action=export,
// format=json) returns: the session and its memories in time order.
type SessionExport struct {
	Session  Session  `json:"session"`
	Memories []Memory `json:"memories"`
}

// RenameSessionRequest is the body of PATCH /api/v1/sessions/{id}.
type RenameSessionRequest struct {
	Title string `json:"title"`
}

// ForgetRequest is the body of POST /api/v1/forget: memory ids or a whole
// session, not both.
type ForgetRequest struct {
	IDs       []int64 `json:"ids,omitempty"`
	SessionID string  `json:"session_id,omitempty"`
}

// ForgetResponse is the answer of the deleting endpoints (POST
// /api/v1/forget, DELETE /api/v1/sessions/{id}, DELETE
// /api/v1/memories/{id}).
type ForgetResponse struct {
	Deleted int64 `json:"deleted"`
}

// ReindexProgress is one line of POST /api/v1/reindex's JSONL stream: how
// many memories are done out of how many. The last line has Finished set,
// or Error.
type ReindexProgress struct {
	Done     int64        `json:"done"`
	Total    int64        `json:"total"`
	Finished bool         `json:"finished,omitempty"`
	Error    *ErrorDetail `json:"error,omitempty"`
}

// Status is the answer to GET /api/v1/status and the get_status tool.
type Status struct {
	Version           string  `json:"version"`
	PostgresVersion   string  `json:"postgres_version"`
	PgvectorVersion   string  `json:"pgvector_version"`
	Embedder          string  `json:"embedder"`
	EmbeddingModel    string  `json:"embedding_model"`
	Dimensions        int     `json:"dimensions"`
	Memories          int64   `json:"memories"`
	Sessions          int64   `json:"sessions"`
	PendingEmbeddings int64   `json:"pending_embeddings"`
	UptimeSeconds     float64 `json:"uptime_seconds"`
	Namespace         string  `json:"namespace"`
	// EmbedderState is "ready", or "downloading"/"unavailable": saves are
	// then stored pending and search uses keywords only.
	EmbedderState  string `json:"embedder_state,omitempty"`
	EmbedderDetail string `json:"embedder_detail,omitempty"`
}

// ImportResponse is the answer to POST /api/v1/import.
type ImportResponse struct {
	Imported     int `json:"imported"`
	Deduplicated int `json:"deduplicated"`
}

// Token describes an access token. The secret is only ever in IssuedToken.
type Token struct {
	ID        string     `json:"id"`
	Name      string     `json:"name"`
	Namespace string     `json:"namespace"`
	Scopes    []string   `json:"scopes"`
	CreatedAt time.Time  `json:"created_at"`
	ExpiresAt *time.Time `json:"expires_at,omitempty"`
	RevokedAt *time.Time `json:"revoked_at,omitempty"`
	LastUsed  *time.Time `json:"last_used_at,omitempty"`
}

// IssueTokenRequest is the body of POST /api/v1/tokens.
type IssueTokenRequest struct {
	Name      string   `json:"name"`
	Namespace string   `json:"namespace,omitempty"`
	Scopes    []string `json:"scopes,omitempty"`
	// TTL is a Go duration ("720h"); empty means no expiry.
	TTL string `json:"ttl,omitempty"`
}

// IssuedToken is a newly issued token with its secret, shown once.
type IssuedToken struct {
	Token
	Secret string `json:"token"`
}

// TokensResponse is the answer to GET /api/v1/tokens.
type TokensResponse struct {
	Tokens []Token `json:"tokens"`
}

// ErrorBody is the one JSON error format of the REST API:
// {"error":{"code":"...","message":"..."}}.
type ErrorBody struct {
	Error ErrorDetail `json:"error"`
}

// ErrorDetail is the inside of ErrorBody.
type ErrorDetail struct {
	// Code is one of the Code* constants.
	Code    string `json:"code"`
	Message string `json:"message"`
}

// Error codes of ErrorDetail.Code.
const (
	CodeInvalid      = "invalid_argument"
	CodeNotFound     = "not_found"
	CodeUnauthorized = "unauthorized"
	CodeForbidden    = "forbidden"
	CodeTooLarge     = "too_large"
	CodeRateLimited  = "rate_limited"
	CodeUnavailable  = "unavailable" // database or embedder unavailable
	CodeInternal     = "internal"
)
