package proxy

// Forwarding: posting client messages to the daemon and relaying the
// answers.

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/hashicorp/go-retryablehttp"
)

// headerValue returns v when it can travel as a header value: valid
// UTF-8, no control characters, at most MaxDefaultBytes; else "".
func headerValue(v string) string {
	v = strings.TrimSpace(v)
	if len(v) > MaxDefaultBytes || !utf8.ValidString(v) {
		return ""
	}
	for _, r := range v {
		if r < 0x20 || r == 0x7f {
			return ""
		}
	}
	return v
}

func (b *Bridge) setHeaders(h http.Header, s *session) {
	if b.opts.Token != "" {
		h.Set("Authorization", "Bearer "+b.opts.Token)
	}
	if b.project != "" {
		h.Set(HeaderProject, b.project)
	}
	if b.sessionID != "" {
		h.Set(HeaderSession, b.sessionID)
	}
	if s != nil {
		if s.id != "" {
			h.Set("Mcp-Session-Id", s.id)
		}
		if s.protocol != "" {
			h.Set("Mcp-Protocol-Version", s.protocol)
		}
	}
}

// reply is the daemon's answer to a POSTed request.
type reply struct {
	msg       []byte
	env       envelope
	sessionID string
}

// post sends msg to the daemon. For a request (wantReply) it returns the
// response and passes every other message of the response stream (server
// requests and notifications) to the client.
func (b *Bridge) post(ctx context.Context, s *session, msg []byte, idempotent func() bool, wantReply bool) (*reply, error) {
	a := &attempt{idempotent: idempotent, failFast: ctx.Value(failFastKey{}) != nil}
	ctx = context.WithValue(ctx, attemptKey{}, a)
	req, err := retryablehttp.NewRequestWithContext(ctx, http.MethodPost, b.opts.URL, msg)
	if err != nil {
		return nil, fmt.Errorf("post: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json, text/event-stream")
	b.setHeaders(req.Header, s)
	resp, err := b.rc.Do(req)
	if err != nil {
		if a.lastErr != nil && !isCtxErr(a.lastErr) {
			return nil, &unreachableError{cause: a.lastErr, sent: !neverSent(a.lastErr)}
		}
		return nil, err
	}
	keepBody := false
	defer func() {
		if !keepBody {
			resp.Body.Close()
		}
	}()
	if resp.StatusCode == http.StatusNotFound && s != nil && s.id != "" {
		drain(resp.Body)
		return nil, errSessionGone
	}
	if resp.StatusCode >= 300 {
		return nil, readStatusError(resp)
	}
	if !wantReply {
		drain(resp.Body)
		return nil, nil
	}
	r := &reply{sessionID: resp.Header.Get("Mcp-Session-Id")}
	ct := resp.Header.Get("Content-Type")
	if strings.HasPrefix(ct, "text/event-stream") {
		err = readSSE(resp.Body, b.opts.MaxMessageSize, func(data []byte) bool {
			var e envelope
			if json.Unmarshal(data, &e) != nil {
				b.log.Warn("invalid JSON from the daemon dropped", "bytes", len(data))
				return false
			}
			if e.kind() == kindResponse {
				r.msg, r.env = data, e
				return true
			}
			b.send(data)
			return false
		})
		if r.msg != nil {
			// The server closes the stream after the response; read to its
			// end in the background so the connection goes back to the pool
			// (closing it early would cost a new connection per call).
			keepBody = true
			go drainStream(resp.Body)
			return r, nil
		}
		if err == nil {
			err = io.ErrUnexpectedEOF
		}
		return nil, fmt.Errorf("%w: %v", errLost, err)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, int64(b.opts.MaxMessageSize)+1))
	if err != nil {
		return nil, fmt.Errorf("%w: %v", errLost, err)
	}
	if len(body) > b.opts.MaxMessageSize {
		return nil, fmt.Errorf("daemon response larger than %d bytes", b.opts.MaxMessageSize)
	}
	if err := json.Unmarshal(body, &r.env); err != nil || r.env.kind() != kindResponse {
		return nil, fmt.Errorf("daemon answered %q that is not a JSON-RPC response", excerpt(body))
	}
	r.msg = body
	return r, nil
}

// restoreID returns the response with the client's id.
func restoreID(r *reply, id json.RawMessage) []byte {
	if bytes.Equal(r.env.ID, id) {
		return r.msg
	}
	if m, err := withID(r.msg, id); err == nil {
		return m
	}
	return errorResponse(id, CodeInternalError, "daemon response could not be relayed")
}

// always marks messages that are safe to send again.
func always() bool { return true }

// handleRequest forwards one client request and sends exactly one response.
func (b *Bridge) handleRequest(ctx context.Context, c *call, e envelope, raw []byte) {
	up := raw
	if !bytes.Equal(c.upID, c.clientID) {
		var err error
		if up, err = withID(raw, c.upID); err != nil {
			b.send(errorResponse(e.ID, CodeInvalidRequest, "invalid request: "+err.Error()))
			return
		}
	}
	resp := b.forward(ctx, c, e, up)
	if b.ctx.Err() != nil {
		return // shutting down: nobody reads the answer
	}
	b.send(resp)
}

// startCall registers a client request before its goroutine runs, so a
// notifications/cancelled right behind it finds it. The returned func ends
// the call.
func (b *Bridge) startCall(e envelope) (context.Context, *call, func()) {
	ctx, cancel := context.WithTimeoutCause(b.ctx, b.opts.RequestTimeout, context.DeadlineExceeded)
	ctx, cancelCause := context.WithCancelCause(ctx)
	c := &call{clientID: e.ID, upID: e.ID, cancel: cancelCause}
	if !portableID(e.ID) {
		c.upID = b.newID("")
	}
	untrack := b.track(e.ID, c)
	return ctx, c, func() {
		untrack()
		cancelCause(nil)
		cancel()
	}
}

func (b *Bridge) forward(ctx context.Context, c *call, e envelope, up []byte) []byte {
	if b.currentSession() == nil {
		if m, ok := b.answerDegraded(ctx, e); ok {
			return m
		}
		b.mu.Lock()
		started := b.initMsg != nil
		b.mu.Unlock()
		if !started {
			// A request before initialize (Claude Code 2.1 probes with
			// server/discover and waits ~2 s for an answer before it falls
			// back to initialize): like the first initialize, it gets the
			// init budget and a refused connection fails it at once.
			var cancel context.CancelFunc
			ctx, cancel = context.WithTimeout(context.WithValue(ctx, failFastKey{}, true), b.opts.InitTimeout)
			defer cancel()
			resp, err := b.forwardSession(ctx, c, e, up)
			var ue *unreachableError
			if errors.As(err, &ue) || errors.Is(err, context.DeadlineExceeded) {
				// The daemon is down or hung: initialize and the list
				// requests will not wait for it again.
				b.mu.Lock()
				b.downAtStart = true
				b.mu.Unlock()
			}
			return resp
		}
	}
	resp, _ := b.forwardSession(ctx, c, e, up)
	return resp
}

// forwardSession posts a request in the current session (waiting for one,
// re-initializing on 404) and returns the client's response and the error
// that made it an error response, if any.
func (b *Bridge) forwardSession(ctx context.Context, c *call, e envelope, up []byte) ([]byte, error) {
	// Decided only when a failure asks: the common path skips the parse.
	idem := sync.OnceValue(func() bool { return b.tools.idempotent(e.Method, e.Params) })
	reinits, lost := 0, 0
	for {
		s, err := b.waitSession(ctx)
		if err != nil {
			return b.errorFor(ctx, e, err), err
		}
		c.sent.Store(true)
		r, err := b.post(ctx, s, up, idem, true)
		switch {
		case err == nil:
			if e.Method == "tools/list" && r.env.Error == nil {
				b.tools.learn(r.env.Result)
				if !bytes.Contains(e.Params, []byte(`"cursor"`)) {
					b.cacheSet("tools", r.env.Result)
				}
			}
			return restoreID(r, e.ID), nil
		case errors.Is(err, errSessionGone) && reinits < 3 && ctx.Err() == nil:
			reinits++
			b.invalidate(s)
		case errors.Is(err, errLost) && idem() && lost < 3 && ctx.Err() == nil:
			lost++
			b.log.Info("response stream broke, retrying", "method", e.Method, "err", err)
		default:
			return b.errorFor(ctx, e, err), err
		}
	}
}

// forwardClientResponse sends the client's answer to a server request.
func (b *Bridge) forwardClientResponse(msg []byte) {
	ctx, cancel := context.WithTimeout(b.ctx, b.opts.RequestTimeout)
	defer cancel()
	s, err := b.waitSession(ctx)
	if err == nil {
		_, err = b.post(ctx, s, msg, always, false)
	}
	if err != nil && b.ctx.Err() == nil {
		b.log.Warn("client response not delivered", "err", err)
	}
}

// noteLoop forwards client notifications in order.
func (b *Bridge) noteLoop() {
	for {
		select {
		case <-b.ctx.Done():
			return
		case n := <-b.notes:
			b.forwardNotification(n.method, n.msg)
		}
	}
}

func (b *Bridge) forwardNotification(method string, msg []byte) {
	if method == "notifications/initialized" {
		b.mu.Lock()
		s := b.sess
		if s == nil || s.initializedSent {
			// The reconnect loop sends its own once the daemon is up.
			b.mu.Unlock()
			return
		}
		s.initializedSent = true
		b.mu.Unlock()
	}
	ctx, cancel := context.WithTimeout(b.ctx, min(b.opts.RequestTimeout, 10*time.Second))
	defer cancel()
	s, err := b.waitSession(ctx)
	if err == nil {
		_, err = b.post(ctx, s, msg, always, false)
	}
	if errors.Is(err, errSessionGone) {
		b.invalidate(s)
	}
	if err != nil && b.ctx.Err() == nil {
		b.log.Warn("notification not delivered", "err", err)
	}
}
