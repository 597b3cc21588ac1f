package proxy

// Answers the bridge gives itself while no session exists.

import (
	"context"
	"encoding/json"
	"time"
)

// emptyLists answer list requests while the daemon is down.
var emptyLists = map[string]string{
	"tools/list":               `{"tools":[]}`,
	"prompts/list":             `{"prompts":[]}`,
	"resources/list":           `{"resources":[]}`,
	"resources/templates/list": `{"resourceTemplates":[]}`,
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
