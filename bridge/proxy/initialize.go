package proxy

// The client's initialize: forwarded within the init budget, else answered
// from the cache (or a built-in result) while the bridge reconnects.

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"time"
)

// downAtStartBudget bounds the first initialize once a request before it
// found the daemon down or hung.
const downAtStartBudget = 50 * time.Millisecond

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
