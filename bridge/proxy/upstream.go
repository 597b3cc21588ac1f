package proxy

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"time"
	"unicode/utf8"

	"github.com/hashicorp/go-retryablehttp"
)

var (
	// errSessionGone: the daemon answered 404 for our session id.
	errSessionGone = errors.New("session expired")
	// errLost: the response stream ended before the response.
	errLost = errors.New("connection lost before the response")
)

// statusError is an HTTP error answer from the daemon.
type statusError struct {
	code int
	body string
}

func (e *statusError) Error() string {
	if e.body == "" {
		return fmt.Sprintf("HTTP %d %s", e.code, http.StatusText(e.code))
	}
	return fmt.Sprintf("HTTP %d %s: %s", e.code, http.StatusText(e.code), e.body)
}

// attempt carries per-request retry facts through the request context to
// checkRetry.
type attempt struct {
	idempotent func() bool // nil: not idempotent
	lastErr    error
	// failFast: a refused connection is not retried (the first
	// initialize: nothing listens, so the cache answers at once).
	failFast bool
}

func (a *attempt) idem() bool { return a.idempotent != nil && a.idempotent() }

type attemptKey struct{}

// downAtStartBudget bounds the first initialize once a request before it
// found the daemon down or hung.
const downAtStartBudget = 50 * time.Millisecond

// failFastKey, set in a request's context, makes a refused connection end
// the request at once instead of being retried until its deadline.
type failFastKey struct{}

// checkRetry is the retry policy: connection errors, 429, 502, 503 and 504
// are retried until the request's deadline, but a request that may have
// reached the daemon is only sent again when it is idempotent.
func checkRetry(ctx context.Context, resp *http.Response, err error) (bool, error) {
	if ctx.Err() != nil {
		return false, ctx.Err()
	}
	a, _ := ctx.Value(attemptKey{}).(*attempt)
	if a == nil {
		a = &attempt{}
	}
	if err != nil {
		a.lastErr = err
		if a.failFast && IsConnRefused(err) {
			return false, nil
		}
		return neverSent(err) || a.idem(), nil
	}
	switch resp.StatusCode {
	case http.StatusTooManyRequests:
		// Rejected before any work was done.
		a.lastErr = &statusError{code: resp.StatusCode}
		return true, nil
	case http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		a.lastErr = &statusError{code: resp.StatusCode}
		return a.idem(), nil
	}
	return false, nil
}

// neverSent reports whether err proves the request never reached the
// server: the connection could not be made.
func neverSent(err error) bool {
	var op *net.OpError
	if errors.As(err, &op) && op.Op == "dial" {
		return true
	}
	return IsConnRefused(err)
}

// wsaeconnrefused is Windows' "connection refused" (WSAECONNREFUSED), which
// syscall.ECONNREFUSED does not match there.
const wsaeconnrefused = 10061

// IsConnRefused reports whether err is a refused connection, on any OS.
func IsConnRefused(err error) bool {
	var errno syscall.Errno
	if errors.As(err, &errno) {
		return errno == syscall.ECONNREFUSED || (runtime.GOOS == "windows" && errno == wsaeconnrefused)
	}
	return false
}

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

// jitterBackoff is retryablehttp's exponential backoff (which honours
// Retry-After on 429 and 503) with equal jitter.
func jitterBackoff(min, max time.Duration, attemptNum int, resp *http.Response) time.Duration {
	d := retryablehttp.DefaultBackoff(min, max, attemptNum, resp)
	if d <= 0 {
		return 0
	}
	half := d / 2
	return half + rand.N(half+1)
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

func isCtxErr(err error) bool {
	return errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)
}

func drain(r io.Reader) { io.Copy(io.Discard, io.LimitReader(r, 64<<10)) }

// drainStream reads what is left of a response stream (at most 1 MiB, for
// at most 2 s) and closes it.
func drainStream(body io.ReadCloser) {
	t := time.AfterFunc(2*time.Second, func() { body.Close() })
	io.Copy(io.Discard, io.LimitReader(body, 1<<20))
	t.Stop()
	body.Close()
}

func readStatusError(resp *http.Response) error {
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	return &statusError{code: resp.StatusCode, body: excerpt(b)}
}

func excerpt(b []byte) string {
	s := strings.TrimSpace(string(b))
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > 200 {
		s = s[:200] + "…"
	}
	return s
}

// unreachableError: the daemon could not be reached (or the connection
// failed) until the deadline.
type unreachableError struct {
	cause error
	sent  bool // the request may have reached the daemon
}

func (e *unreachableError) Error() string { return e.cause.Error() }
func (e *unreachableError) Unwrap() error { return e.cause }

// sseReaders recycles the buffered readers of response streams: one per
// call would be the bridge's largest allocation.
var sseReaders = sync.Pool{New: func() any { return bufio.NewReaderSize(nil, 32<<10) }}

// readSSE parses a text/event-stream and calls fn with each event's data
// until fn returns true or the stream ends.
func readSSE(r io.Reader, max int, fn func(data []byte) bool) error {
	br := sseReaders.Get().(*bufio.Reader)
	br.Reset(r)
	defer func() {
		br.Reset(nil)
		sseReaders.Put(br)
	}()
	var data []byte
	var lineBuf []byte
	for {
		chunk, err := br.ReadSlice('\n')
		if errors.Is(err, bufio.ErrBufferFull) {
			lineBuf = append(lineBuf, chunk...)
			if len(lineBuf) > max {
				return fmt.Errorf("event larger than %d bytes", max)
			}
			continue
		}
		ln := chunk
		if lineBuf != nil {
			lineBuf = append(lineBuf, chunk...)
			ln, lineBuf = lineBuf, nil
		}
		ln = bytes.TrimRight(ln, "\r\n")
		switch {
		case len(ln) == 0:
			if len(data) > 0 {
				if fn(data) {
					return nil
				}
				data = nil
			}
		case ln[0] == ':':
		case bytes.HasPrefix(ln, []byte("data:")):
			v := ln[5:]
			if len(v) > 0 && v[0] == ' ' {
				v = v[1:]
			}
			if data != nil {
				data = append(data, '\n')
			}
			if len(data)+len(v) > max {
				return fmt.Errorf("event larger than %d bytes", max)
			}
			data = append(data, v...)
			if data == nil {
				data = []byte{}
			}
		}
		if err != nil {
			if len(data) > 0 && errors.Is(err, io.EOF) {
				if fn(data) {
					return nil
				}
			}
			if errors.Is(err, io.EOF) {
				return nil
			}
			return err
		}
	}
}

// initUpstream POSTs an initialize request without a session and returns
// the daemon's response and the new session.
func (b *Bridge) initUpstream(ctx context.Context, msg []byte) (*reply, *session, error) {
	r, err := b.post(ctx, nil, msg, always, true)
	if err != nil {
		return nil, nil, err
	}
	if r.env.Error != nil {
		return r, nil, nil
	}
	var res struct {
		ProtocolVersion string `json:"protocolVersion"`
	}
	_ = json.Unmarshal(r.env.Result, &res)
	sctx, cancel := context.WithCancel(b.ctx)
	s := &session{id: r.sessionID, protocol: res.ProtocolVersion, ctx: sctx, cancel: cancel}
	return r, s, nil
}

// setSession publishes s and wakes the requests waiting for it.
func (b *Bridge) setSession(s *session) {
	b.mu.Lock()
	b.sess = s
	b.lastErr = nil
	close(b.ready)
	b.mu.Unlock()
	if s.id != "" {
		go b.getLoop(s)
	}
}

// invalidate drops s (after a 404) and starts reconnecting, once.
func (b *Bridge) invalidate(s *session) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.sess != s {
		return
	}
	b.log.Info("daemon session expired, re-initializing")
	s.cancel()
	b.sess = nil
	b.ready = make(chan struct{})
	b.startConnectLocked()
}

func (b *Bridge) startConnectLocked() {
	if b.connecting || b.initMsg == nil {
		return
	}
	b.connecting = true
	go b.connectLoop()
}

// waitSession returns the current session, waiting for the reconnect loop
// when there is none. Before the client's initialize there is no session to
// wait for: the request goes out without one.
func (b *Bridge) waitSession(ctx context.Context) (*session, error) {
	for {
		b.mu.Lock()
		s, ready, started, lastErr := b.sess, b.ready, b.initMsg != nil, b.lastErr
		b.mu.Unlock()
		if s != nil || !started {
			return s, nil
		}
		select {
		case <-ready:
		case <-ctx.Done():
			if lastErr == nil {
				lastErr = context.Cause(ctx)
			}
			return nil, &unreachableError{cause: lastErr}
		}
	}
}

// currentSession returns the session without waiting (nil: none).
func (b *Bridge) currentSession() *session {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.sess
}

// connectLoop initializes upstream by replaying the client's initialize
// until it succeeds, then sends notifications/initialized upstream and
// notifications/tools/list_changed to the client.
func (b *Bridge) connectLoop() {
	defer func() {
		b.mu.Lock()
		b.connecting = false
		b.mu.Unlock()
	}()
	for n := 0; ; n++ {
		b.mu.Lock()
		initMsg := b.initMsg
		b.mu.Unlock()
		msg, err := withID(initMsg, b.newID("init-"))
		if err != nil {
			b.log.Error("replay initialize", "err", err)
			return
		}
		ctx, cancel := context.WithTimeout(b.ctx, 30*time.Second)
		r, s, err := b.initUpstream(ctx, msg)
		if err == nil && s == nil {
			err = fmt.Errorf("initialize refused: %s", excerpt(r.env.Error))
		}
		if err == nil {
			err = b.sendInitialized(ctx, s)
		}
		cancel()
		if err == nil {
			b.mu.Lock()
			s.initializedSent = true
			b.mu.Unlock()
			b.cacheSet("initialize", r.env.Result)
			b.setSession(s)
			b.log.Info("connected to the daemon", "url", b.opts.URL)
			b.send([]byte(`{"jsonrpc":"2.0","method":"notifications/tools/list_changed"}`))
			return
		}
		if b.ctx.Err() != nil {
			return
		}
		b.mu.Lock()
		b.lastErr = err
		b.refused = IsConnRefused(err)
		b.mu.Unlock()
		if n == 0 || n%20 == 0 {
			b.log.Warn("daemon not reachable, retrying", "url", b.opts.URL, "err", err)
		}
		t := time.NewTimer(jitterBackoff(100*time.Millisecond, 2*time.Second, min(n, 10), nil))
		select {
		case <-b.ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
	}
}

func (b *Bridge) sendInitialized(ctx context.Context, s *session) error {
	_, err := b.post(ctx, s, []byte(`{"jsonrpc":"2.0","method":"notifications/initialized"}`), always, false)
	return err
}

func (b *Bridge) cacheSet(key string, v json.RawMessage) {
	if len(v) == 0 {
		return
	}
	if err := b.cache.set(key, v); err != nil {
		b.log.Warn("bridge cache not written", "err", err)
	}
}

// handleInitialize forwards the client's initialize; when the daemon does
// not answer within InitTimeout it answers from the cache and reconnects in
// the background.
func (b *Bridge) handleInitialize(e envelope, raw []byte) {
	b.mu.Lock()
	if b.initMsg != nil {
		b.mu.Unlock()
		// A second initialize: forward it like any request.
		ctx, c, done := b.startCall(e)
		defer done()
		b.handleRequest(ctx, c, e, raw)
		return
	}
	b.initMsg = raw
	b.mu.Unlock()

	up := raw
	if !portableID(e.ID) {
		var err error
		if up, err = withID(raw, b.newID("")); err != nil {
			b.send(errorResponse(e.ID, CodeInvalidRequest, "invalid request: "+err.Error()))
			return
		}
	}
	budget := b.opts.InitTimeout
	b.mu.Lock()
	if b.downAtStart {
		// A request before this one found the daemon down or hung: one
		// quick try only, then the cache answers.
		budget = min(budget, downAtStartBudget)
	}
	b.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.WithValue(b.ctx, failFastKey{}, true), budget)
	r, s, err := b.initUpstream(ctx, up)
	cancel()
	if err == nil {
		if s != nil {
			b.cacheSet("initialize", r.env.Result)
			b.setSession(s)
		} else {
			// The daemon refused this initialize; let the client see why,
			// and let a later initialize try again.
			b.mu.Lock()
			b.initMsg = nil
			b.mu.Unlock()
		}
		b.send(restoreID(r, e.ID))
		return
	}
	var se *statusError
	if errors.As(err, &se) && se.code != http.StatusBadGateway && se.code != http.StatusServiceUnavailable &&
		se.code != http.StatusGatewayTimeout && se.code != http.StatusTooManyRequests {
		b.mu.Lock()
		b.initMsg = nil
		b.mu.Unlock()
		b.send(errorResponse(e.ID, codeOf(err), b.describe(err, e.Method)))
		return
	}
	b.log.Warn("daemon not ready, answering initialize from the cache", "url", b.opts.URL, "err", err)
	b.mu.Lock()
	b.lastErr = err
	b.refused = IsConnRefused(err)
	b.startConnectLocked()
	b.mu.Unlock()
	res := b.cache.get().Initialize
	if len(res) == 0 {
		var p struct {
			ProtocolVersion string `json:"protocolVersion"`
		}
		_ = json.Unmarshal(e.Params, &p)
		res = builtinInitialize(p.ProtocolVersion, b.opts.Version, "Sage long-term memory. The Sage daemon is not reachable right now; "+
			"its tools appear once it is back (run `sage-bridge doctor` to see why).")
	} else {
		res = withListChanged(res)
	}
	b.send(resultResponse(e.ID, res))
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

// emptyLists answer list requests while the daemon is down.
var emptyLists = map[string]string{
	"tools/list":               `{"tools":[]}`,
	"prompts/list":             `{"prompts":[]}`,
	"resources/list":           `{"resources":[]}`,
	"resources/templates/list": `{"resourceTemplates":[]}`,
}

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

// answerDegraded answers requests the bridge can answer itself while the
// daemon is down: ping, and list requests (from the cache or empty; the
// client fetches again after notifications/tools/list_changed).
func (b *Bridge) answerDegraded(ctx context.Context, e envelope) ([]byte, bool) {
	b.mu.Lock()
	started, ready, refused := b.initMsg != nil, b.ready, b.refused || b.downAtStart
	b.mu.Unlock()
	if !started {
		return nil, false
	}
	if e.Method == "ping" {
		return resultResponse(e.ID, json.RawMessage("{}")), true
	}
	empty, ok := emptyLists[e.Method]
	if !ok {
		return nil, false
	}
	// Wait briefly for a daemon that is starting, not for one whose port
	// refused the connection: nothing listens there.
	if !refused {
		t := time.NewTimer(b.opts.InitTimeout)
		defer t.Stop()
		select {
		case <-ready:
			return nil, false
		case <-ctx.Done():
			return nil, false
		case <-t.C:
		}
	}
	if e.Method == "tools/list" {
		if cached := b.cache.get().Tools; len(cached) > 0 {
			b.tools.learn(cached)
			return resultResponse(e.ID, cached), true
		}
	}
	return resultResponse(e.ID, json.RawMessage(empty)), true
}

func codeOf(err error) int {
	var se *statusError
	var ue *unreachableError
	switch {
	case errors.As(err, &se) && (se.code == http.StatusUnauthorized || se.code == http.StatusForbidden):
		return CodeUnauthorized
	case errors.As(err, &se):
		return CodeUpstream
	case errors.As(err, &ue):
		if ue.sent {
			return CodeConnectionLost
		}
		return CodeUnavailable
	case errors.Is(err, errLost):
		return CodeConnectionLost
	case errors.Is(err, context.DeadlineExceeded):
		return CodeTimeout
	}
	return CodeInternalError
}

func (b *Bridge) errorFor(ctx context.Context, e envelope, err error) []byte {
	if errors.Is(context.Cause(ctx), errCancelledByClient) {
		return errorResponse(e.ID, CodeCancelled, "request cancelled by the client")
	}
	var ue *unreachableError
	if ctx.Err() != nil && b.ctx.Err() == nil && !errors.As(err, &ue) {
		err = context.DeadlineExceeded
	}
	return errorResponse(e.ID, codeOf(err), b.describe(err, e.Method))
}

// describe turns an upstream failure into a message with a fix. It never
// contains the token.
func (b *Bridge) describe(err error, method string) string {
	u := b.opts.URL
	var se *statusError
	var ue *unreachableError
	switch {
	case errors.As(err, &se) && (se.code == http.StatusUnauthorized || se.code == http.StatusForbidden):
		return fmt.Sprintf("Sage daemon at %s rejected the token (HTTP %d): set SAGE_TOKEN, or token/token_file in the Sage config file, to a valid token (check with `sage-bridge doctor`)", u, se.code)
	case errors.As(err, &se) && se.code == http.StatusNotFound:
		return fmt.Sprintf("Sage daemon at %s answered 404 Not Found: is the URL right (it ends in /mcp)? Check with `sage-bridge doctor`", u)
	case errors.As(err, &se):
		return fmt.Sprintf("Sage daemon at %s answered %s", u, se.Error())
	case errors.As(err, &ue) && ue.sent:
		return fmt.Sprintf("connection to the Sage daemon at %s failed during %s: %s; the call may or may not have run, and it was not retried because it is not idempotent", u, method, shortCause(ue.cause))
	case errors.As(err, &ue):
		return fmt.Sprintf("Sage daemon unreachable at %s: %s (is it running? `docker compose up -d`; check with `sage-bridge doctor`)", u, shortCause(ue.cause))
	case errors.Is(err, errLost):
		return fmt.Sprintf("connection to the Sage daemon at %s broke during %s before the response (%s); the call may or may not have run", u, method, shortCause(err))
	case errors.Is(err, context.DeadlineExceeded):
		return fmt.Sprintf("Sage daemon at %s did not answer %s within %s", u, method, b.opts.RequestTimeout)
	}
	return fmt.Sprintf("forwarding %s to the Sage daemon at %s failed: %s", method, u, shortCause(err))
}

// shortCause strips url.Error's "Post \"…\":" prefix and names the common
// network failures plainly.
func shortCause(err error) string {
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	switch {
	case IsConnRefused(err):
		return "connection refused"
	case errors.Is(err, context.DeadlineExceeded):
		return "timed out"
	}
	var dns *net.DNSError
	if errors.As(err, &dns) {
		return "cannot resolve host " + dns.Name
	}
	return err.Error()
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

// getLoop keeps the optional GET event stream of session s open and passes
// its messages to the client. 405 means the daemon offers none.
func (b *Bridge) getLoop(s *session) {
	for n := 0; s.ctx.Err() == nil; n++ {
		status, err := b.getStream(s)
		switch {
		case s.ctx.Err() != nil || status == http.StatusMethodNotAllowed:
			return
		case status >= 400 && status < 500 && status != http.StatusNotFound && status != http.StatusTooManyRequests:
			b.log.Debug("daemon refuses the event stream", "status", status)
			return
		case status == http.StatusNotFound:
			// The daemon restarted: reconnect now rather than on the next
			// request, so the client hears list_changed promptly.
			b.invalidate(s)
			return
		}
		if err != nil {
			b.log.Debug("event stream ended", "status", status, "err", err)
		}
		if status == http.StatusOK {
			n = 0
		}
		t := time.NewTimer(jitterBackoff(200*time.Millisecond, 5*time.Second, min(n, 10), nil))
		select {
		case <-s.ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
	}
}

func (b *Bridge) getStream(s *session) (int, error) {
	req, err := http.NewRequestWithContext(s.ctx, http.MethodGet, b.opts.URL, nil)
	if err != nil {
		return 0, err
	}
	req.Header.Set("Accept", "text/event-stream")
	b.setHeaders(req.Header, s)
	resp, err := b.plain.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream") {
		drain(resp.Body)
		return resp.StatusCode, nil
	}
	err = readSSE(resp.Body, b.opts.MaxMessageSize, func(data []byte) bool {
		if json.Valid(data) {
			b.send(data)
		}
		return false
	})
	return resp.StatusCode, err
}

// deleteSession ends the upstream session, bounded by ShutdownTimeout.
func (b *Bridge) deleteSession() {
	b.mu.Lock()
	s := b.sess
	b.mu.Unlock()
	if s == nil || s.id == "" {
		return
	}
	s.cancel()
	ctx, cancel := context.WithTimeout(context.Background(), b.opts.ShutdownTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodDelete, b.opts.URL, nil)
	if err != nil {
		return
	}
	b.setHeaders(req.Header, s)
	resp, err := b.plain.Do(req)
	if err != nil {
		b.log.Debug("delete session", "err", err)
		return
	}
	drain(resp.Body)
	resp.Body.Close()
}
