package proxy

// The upstream session: creating it, publishing it, dropping it after a
// 404, the reconnect loop, the optional GET event stream and the DELETE
// on exit.

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"
)

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
		if !waitBackoff(b.ctx, 100*time.Millisecond, 2*time.Second, n) {
			return
		}
	}
}

func (b *Bridge) sendInitialized(ctx context.Context, s *session) error {
	_, err := b.post(ctx, s, []byte(`{"jsonrpc":"2.0","method":"notifications/initialized"}`), always, false)
	return err
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
		if !waitBackoff(s.ctx, 200*time.Millisecond, 5*time.Second, n) {
			return
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
