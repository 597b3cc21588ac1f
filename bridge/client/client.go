// Package client is sage-bridge's client of sage-daemon's REST API
// (/api/v1, wire types in shared/api). Hooks, the outbox and sage_manage use
// it. Errors are typed: *Error for an answer of the daemon with an error
// status, ErrUnreachable for a daemon that cannot be reached, and the
// sentinels ErrUnauthorized, ErrNotFound for the common cases.
package client

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/sage-mcp/sage/bridge"
	"github.com/sage-mcp/sage/shared/api"
	"github.com/sage-mcp/sage/shared/textcut"
)

// Errors.
var (
	// ErrUnreachable: the daemon could not be reached (connection refused,
	// DNS, timeout before an answer).
	ErrUnreachable = errors.New("daemon unreachable")
	// ErrUnauthorized: the daemon refused the token (HTTP 401).
	ErrUnauthorized = errors.New("unauthorized")
	// ErrForbidden: the token lacks the scope (HTTP 403).
	ErrForbidden = errors.New("forbidden")
	// ErrNotFound: no such session, memory or token (HTTP 404).
	ErrNotFound = errors.New("not found")
)

// MaxResponse bounds a JSON answer read into memory (export and import
// stream and are not bounded by it).
const MaxResponse = 32 << 20

// Error is an error answer of the daemon.
type Error struct {
	Status  int
	Code    string
	Message string
}

func (e *Error) Error() string {
	msg := e.Message
	if msg == "" {
		msg = http.StatusText(e.Status)
	}
	if e.Code != "" {
		return fmt.Sprintf("daemon: %s (%d %s)", msg, e.Status, e.Code)
	}
	return fmt.Sprintf("daemon: %s (%d)", msg, e.Status)
}

// Is maps status codes to the package's sentinels.
func (e *Error) Is(target error) bool {
	switch target {
	case ErrUnauthorized:
		return e.Status == http.StatusUnauthorized
	case ErrForbidden:
		return e.Status == http.StatusForbidden
	case ErrNotFound:
		return e.Status == http.StatusNotFound
	}
	return false
}

// Rejected reports whether the daemon refused the request's content itself
// (400, 413, 422): retrying the same request cannot succeed. The outbox
// quarantines such entries.
func (e *Error) Rejected() bool {
	return e.Status == http.StatusBadRequest || e.Status == http.StatusRequestEntityTooLarge || e.Status == http.StatusUnprocessableEntity
}

// Temporary reports whether retrying later may succeed (5xx, 408, 429).
func (e *Error) Temporary() bool {
	return e.Status >= 500 || e.Status == http.StatusRequestTimeout || e.Status == http.StatusTooManyRequests
}

// Client calls one daemon. The zero value is not usable; use New.
type Client struct {
	base  string
	token string
	// HTTP is the HTTP client; New sets one without a global timeout
	// (deadlines come from contexts).
	HTTP *http.Client
	// UserAgent is sent with every request.
	UserAgent string
}

// New returns a client of the daemon at baseURL (like
// "http://127.0.0.1:17800", without /api/v1) using token (may be empty).
func New(baseURL, token string) *Client {
	tr := &http.Transport{
		Proxy:               nil, // a local daemon: never through a proxy
		DialContext:         (&net.Dialer{Timeout: 3 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConnsPerHost: 4,
		IdleConnTimeout:     60 * time.Second,
		ForceAttemptHTTP2:   false,
	}
	return &Client{
		base:      strings.TrimSuffix(baseURL, "/"),
		token:     token,
		HTTP:      &http.Client{Transport: tr},
		UserAgent: "sage-bridge",
	}
}

// BaseURL is the daemon's base URL.
func (c *Client) BaseURL() string { return c.base }

func (c *Client) newRequest(ctx context.Context, method, path string, q url.Values, body io.Reader) (*http.Request, error) {
	u := c.base + api.Version + path
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	req, err := http.NewRequestWithContext(ctx, method, u, body)
	if err != nil {
		return nil, err
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	req.Header.Set("User-Agent", c.UserAgent)
	req.Header.Set("Accept", "application/json")
	return req, nil
}

// do sends req and returns the response when its status is 2xx; otherwise
// it returns an *Error (or ErrUnreachable for transport failures).
func (c *Client) do(req *http.Request) (*http.Response, error) {
	resp, err := c.HTTP.Do(req)
	if err != nil {
		if ctxErr := req.Context().Err(); ctxErr != nil {
			return nil, fmt.Errorf("%w at %s: %w", ErrUnreachable, c.base, ctxErr)
		}
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return nil, fmt.Errorf("%w at %s: %v", ErrUnreachable, c.base, err)
	}
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		return resp, nil
	}
	defer resp.Body.Close()
	e := &Error{Status: resp.StatusCode}
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	var eb api.ErrorBody
	if json.Unmarshal(b, &eb) == nil && eb.Error.Code != "" {
		e.Code, e.Message = eb.Error.Code, eb.Error.Message
	} else {
		e.Message = textcut.Bytes(strings.TrimSpace(string(b)), 200, "")
	}
	return nil, e
}

// send builds a request, sets the header key to value unless value is
// empty, and sends it: see do.
func (c *Client) send(ctx context.Context, method, path string, q url.Values, body io.Reader, key, value string) (*http.Response, error) {
	req, err := c.newRequest(ctx, method, path, q, body)
	if err != nil {
		return nil, err
	}
	if value != "" {
		req.Header.Set(key, value)
	}
	return c.do(req)
}

// call sends a JSON request (in may be nil) and decodes a JSON answer into
// out (may be nil).
func (c *Client) call(ctx context.Context, method, path string, q url.Values, in, out any) error {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return fmt.Errorf("encode request: %w", err)
		}
		body = bytes.NewReader(b)
	}
	var contentType string
	if in != nil {
		contentType = "application/json"
	}
	resp, err := c.send(ctx, method, path, q, body, "Content-Type", contentType)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if out == nil {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, MaxResponse))
		return nil
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, MaxResponse)).Decode(out); err != nil {
		if ctxErr := ctx.Err(); ctxErr != nil {
			return fmt.Errorf("%w at %s: %w", ErrUnreachable, c.base, ctxErr)
		}
		return fmt.Errorf("decode %s %s answer: %w", method, path, err)
	}
	return nil
}

// callFor is call that returns the decoded answer, the zero T on error;
// errors are wrapped with what.
func callFor[T any](ctx context.Context, c *Client, method, path string, q url.Values, in any, what string) (T, error) {
	var out T
	if err := c.call(ctx, method, path, q, in, &out); err != nil {
		var zero T
		return zero, fmt.Errorf("%s: %w", what, err)
	}
	return out, nil
}

// SaveTurns saves turns in one request (all or none).
func (c *Client) SaveTurns(ctx context.Context, turns []api.Turn) ([]api.SaveResult, error) {
	out, err := callFor[api.SaveTurnsResponse](ctx, c, http.MethodPost, "/turns", nil, api.SaveTurnsRequest{Turns: turns}, "save turns")
	return out.Results, err
}

// SendTurns saves turns; it makes Client an outbox.Sender.
func (c *Client) SendTurns(ctx context.Context, turns []api.Turn) error {
	_, err := c.SaveTurns(ctx, turns)
	return err
}

// SaveNote saves a note.
func (c *Client) SaveNote(ctx context.Context, n api.Note) (api.SaveResult, error) {
	return callFor[api.SaveResult](ctx, c, http.MethodPost, "/notes", nil, n, "save note")
}

// SearchParams are the parameters of Search. Zero fields are not sent.
type SearchParams struct {
	Query     string
	Limit     int
	Mode      string
	Project   string
	SessionID string
	Kinds     []string
	// IncludeGlobal brings the memories without a project along with
	// Project's.
	IncludeGlobal bool
}

// Search ranks memories by relevance to p.Query.
func (c *Client) Search(ctx context.Context, p SearchParams) ([]api.Memory, error) {
	q := url.Values{}
	q.Set("q", p.Query)
	setInt(q, "limit", p.Limit)
	setStr(q, "mode", p.Mode)
	setStr(q, "project", p.Project)
	setStr(q, "session_id", p.SessionID)
	setStr(q, "kind", strings.Join(p.Kinds, ","))
	setBool(q, "include_global", p.IncludeGlobal)
	out, err := callFor[api.SearchResponse](ctx, c, http.MethodGet, "/search", q, nil, "search")
	return out.Results, err
}

// ContextParams are the parameters of Context. Zero fields are not sent.
type ContextParams struct {
	Query      string
	MaxResults int
	MaxChars   int
	Project    string
	// SessionID keeps only that session's memories.
	SessionID string
	// ExcludeSession drops that session's memories before the limit (the
	// hook's own session, already in the conversation); it is also the
	// session the injection audit records.
	ExcludeSession string
	// MinScore drops memories scoring below it.
	MinScore float64
	// Gate keeps only what the daemon's injection gate passes.
	Gate bool
	// DryRun records nothing in the injection audit and asks for every
	// candidate with its verdict (sage_manage why).
	DryRun bool
	// Source says who injects: "hook" for the prompt hook; empty: rest.
	Source string
}

// Context asks for a block of memories relevant to p.Query.
func (c *Client) Context(ctx context.Context, p ContextParams) (api.ContextResponse, error) {
	q := url.Values{}
	q.Set("q", p.Query)
	setInt(q, "max_results", p.MaxResults)
	setInt(q, "max_chars", p.MaxChars)
	setStr(q, "project", p.Project)
	setStr(q, "session_id", p.SessionID)
	setStr(q, "exclude_session", p.ExcludeSession)
	if p.MinScore > 0 {
		q.Set("min_score", strconv.FormatFloat(p.MinScore, 'g', -1, 64))
	}
	setBool(q, "gate", p.Gate)
	setBool(q, "dry_run", p.DryRun)
	setStr(q, "source", p.Source)
	return callFor[api.ContextResponse](ctx, c, http.MethodGet, "/context", q, nil, "context")
}

// Injections lists the injection audit, most recent first: session's
// only unless empty, at most limit (0: the daemon's default).
func (c *Client) Injections(ctx context.Context, session string, limit int) ([]api.Injection, error) {
	q := url.Values{}
	setStr(q, "session", session)
	setInt(q, "limit", limit)
	out, err := callFor[api.InjectionsResponse](ctx, c, http.MethodGet, "/injections", q, nil, "injections")
	return out.Injections, err
}

// Sessions lists sessions, most recent first; project and limit may be zero.
func (c *Client) Sessions(ctx context.Context, project string, limit int) ([]api.Session, error) {
	q := url.Values{}
	setStr(q, "project", project)
	setInt(q, "limit", limit)
	out, err := callFor[api.SessionsResponse](ctx, c, http.MethodGet, "/sessions", q, nil, "list sessions")
	return out.Sessions, err
}

// SessionDetail is the answer to GET /api/v1/sessions/{id} (declared in
// shared/api, the wire contract).
type SessionDetail = api.SessionDetail

// Session returns one session and its memories.
func (c *Client) Session(ctx context.Context, id string) (SessionDetail, error) {
	return callFor[SessionDetail](ctx, c, http.MethodGet, "/sessions/"+url.PathEscape(id), nil, nil, "get session "+id)
}

// RenameSession sets a session's title.
func (c *Client) RenameSession(ctx context.Context, id, title string) error {
	if err := c.call(ctx, http.MethodPatch, "/sessions/"+url.PathEscape(id), nil, api.RenameSessionRequest{Title: title}, nil); err != nil {
		return fmt.Errorf("rename session %s: %w", id, err)
	}
	return nil
}

// Forget deletes memories by id and/or a whole session and returns how
// many were deleted.
func (c *Client) Forget(ctx context.Context, ids []int64, sessionID string) (int64, error) {
	in := api.ForgetRequest{IDs: ids, SessionID: sessionID}
	out, err := callFor[api.ForgetResponse](ctx, c, http.MethodPost, "/forget", nil, in, "forget")
	return out.Deleted, err
}

// Status describes the daemon and its store.
func (c *Client) Status(ctx context.Context) (api.Status, error) {
	return callFor[api.Status](ctx, c, http.MethodGet, "/status", nil, nil, "status")
}

// Export streams every memory (optionally of one project) as JSONL to w
// and returns how many lines it wrote.
func (c *Client) Export(ctx context.Context, project string, w io.Writer) (int, error) {
	q := url.Values{}
	setStr(q, "project", project)
	resp, err := c.send(ctx, http.MethodGet, "/export", q, nil, "Accept", "application/x-ndjson")
	if err != nil {
		return 0, fmt.Errorf("export: %w", err)
	}
	defer resp.Body.Close()
	n := 0
	br := bufio.NewReaderSize(resp.Body, 256<<10)
	for {
		line, err := br.ReadBytes('\n')
		if len(bytes.TrimSpace(line)) > 0 {
			if bytes.HasPrefix(bytes.TrimSpace(line), []byte(`{"error"`)) {
				var eb api.ErrorBody
				if json.Unmarshal(line, &eb) == nil && eb.Error.Code != "" {
					return n, fmt.Errorf("export: stopped after %s: %w", bridge.Plural(n, "memory", "memories"), &Error{Status: http.StatusInternalServerError, Code: eb.Error.Code, Message: eb.Error.Message})
				}
			}
			if line[len(line)-1] != '\n' {
				line = append(line, '\n')
			}
			if _, werr := w.Write(line); werr != nil {
				return n, fmt.Errorf("export: write: %w", werr)
			}
			n++
		}
		if err == io.EOF {
			return n, nil
		}
		if err != nil {
			return n, fmt.Errorf("export: read: %w", err)
		}
	}
}

// Import sends JSONL memories (as written by Export) in one streamed request.
func (c *Client) Import(ctx context.Context, r io.Reader) (api.ImportResponse, error) {
	var out api.ImportResponse
	resp, err := c.send(ctx, http.MethodPost, "/import", nil, r, "Content-Type", "application/x-ndjson")
	if err != nil {
		return out, fmt.Errorf("import: %w", err)
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(io.LimitReader(resp.Body, MaxResponse)).Decode(&out); err != nil {
		return out, fmt.Errorf("import: decode answer: %w", err)
	}
	return out, nil
}

// ReindexProgress is one progress report of Reindex (declared in
// shared/api, the wire contract).
type ReindexProgress = api.ReindexProgress

// Reindex asks the daemon to re-embed stale memories. When the daemon
// streams progress (JSON lines of {"done","total"}), progress is called for
// each line; the last report is returned.
func (c *Client) Reindex(ctx context.Context, progress func(ReindexProgress)) (ReindexProgress, error) {
	var last ReindexProgress
	resp, err := c.send(ctx, http.MethodPost, "/reindex", nil, nil, "Accept", "application/x-ndjson, application/json")
	if err != nil {
		return last, fmt.Errorf("reindex: %w", err)
	}
	defer resp.Body.Close()
	dec := json.NewDecoder(io.LimitReader(resp.Body, MaxResponse))
	for {
		var p ReindexProgress
		if err := dec.Decode(&p); err != nil {
			if err == io.EOF {
				return last, nil
			}
			return last, fmt.Errorf("reindex: decode answer: %w", err)
		}
		if d := p.Error; d != nil {
			return last, fmt.Errorf("reindex: %w", &Error{Status: http.StatusInternalServerError, Code: d.Code, Message: d.Message})
		}
		last = p
		if progress != nil {
			progress(p)
		}
	}
}

// Tokens lists access tokens (admin scope).
func (c *Client) Tokens(ctx context.Context) ([]api.Token, error) {
	out, err := callFor[api.TokensResponse](ctx, c, http.MethodGet, "/tokens", nil, nil, "list tokens")
	return out.Tokens, err
}

// IssueToken issues a token; the secret is in the answer only.
func (c *Client) IssueToken(ctx context.Context, r api.IssueTokenRequest) (api.IssuedToken, error) {
	return callFor[api.IssuedToken](ctx, c, http.MethodPost, "/tokens", nil, r, "issue token")
}

// RevokeToken revokes a token by id.
func (c *Client) RevokeToken(ctx context.Context, id string) error {
	if err := c.call(ctx, http.MethodDelete, "/tokens/"+url.PathEscape(id), nil, nil, nil); err != nil {
		return fmt.Errorf("revoke token %s: %w", id, err)
	}
	return nil
}

// setStr, setInt and setBool set the query parameter k unless v is empty,
// not positive or false: the daemon's default then applies.
func setStr(q url.Values, k, v string) {
	if v != "" {
		q.Set(k, v)
	}
}

func setInt(q url.Values, k string, v int) {
	if v > 0 {
		q.Set(k, strconv.Itoa(v))
	}
}

func setBool(q url.Values, k string, v bool) {
	if v {
		q.Set(k, "true")
	}
}
