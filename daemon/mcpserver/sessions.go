package mcpserver

import (
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// DefaultMaxSessions is how many stateful sessions Handler keeps at most
// (Options.MaxSessions).
const DefaultMaxSessions = 1000

// sessionCap bounds the stateful sessions of a Streamable HTTP handler.
// A request that would open a session beyond max first closes the session
// that has waited longest since its last request, among those with no POST
// in flight (an open GET event stream does not count as busy: clients keep
// one open all the time); when every session is busy it is refused with
// 503. A client whose session was closed gets 404 on its next request and
// initializes again, as the MCP specification asks.
type sessionCap struct {
	next   http.Handler
	server *mcp.Server
	max    int
	log    *slog.Logger

	create sync.Mutex // one new session at a time, so the count holds
	mu     sync.Mutex
	use    map[string]*sessionUse // by session id
}

type sessionUse struct {
	busy int       // POST or DELETE requests in flight
	last time.Time // end of the last one
}

func newSessionCap(next http.Handler, server *mcp.Server, max int, log *slog.Logger) *sessionCap {
	return &sessionCap{next: next, server: server, max: max, log: log, use: map[string]*sessionUse{}}
}

func (c *sessionCap) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if id := r.Header.Get("Mcp-Session-Id"); id != "" {
		if r.Method != http.MethodGet {
			c.begin(id)
			defer c.end(id)
		}
		c.next.ServeHTTP(w, r)
		return
	}
	if r.Method != http.MethodPost {
		c.next.ServeHTTP(w, r)
		return
	}
	c.create.Lock()
	defer c.create.Unlock()
	if !c.makeRoom() {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Retry-After", "5")
		w.WriteHeader(http.StatusServiceUnavailable)
		_, _ = w.Write([]byte(`{"jsonrpc":"2.0","id":null,"error":{"code":-32000,"message":"too many MCP sessions, all busy (SAGE_MAX_SESSIONS); retry later"}}`))
		return
	}
	c.next.ServeHTTP(w, r)
	if id := w.Header().Get("Mcp-Session-Id"); id != "" {
		c.mu.Lock()
		c.use[id] = &sessionUse{last: time.Now()}
		c.mu.Unlock()
	}
}

func (c *sessionCap) begin(id string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	u := c.use[id]
	if u == nil {
		u = &sessionUse{}
		c.use[id] = u
	}
	u.busy++
}

func (c *sessionCap) end(id string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if u := c.use[id]; u != nil {
		u.busy--
		u.last = time.Now()
	}
}

// makeRoom makes sure one more session fits, closing the longest idle
// one if need be, and reports whether it does.
func (c *sessionCap) makeRoom() bool {
	live := map[string]*mcp.ServerSession{}
	for ss := range c.server.Sessions() {
		live[ss.ID()] = ss
	}
	c.mu.Lock()
	for id, u := range c.use {
		if _, ok := live[id]; !ok && u.busy == 0 {
			delete(c.use, id) // closed (DELETE, idle timeout, evicted)
		}
	}
	if len(live) < c.max {
		c.mu.Unlock()
		return true
	}
	var victim string
	var oldest time.Time
	for id := range live {
		u := c.use[id]
		if u == nil {
			u = &sessionUse{}
		}
		if u.busy > 0 {
			continue
		}
		if victim == "" || u.last.Before(oldest) {
			victim, oldest = id, u.last
		}
	}
	if victim != "" {
		delete(c.use, victim)
	}
	c.mu.Unlock()
	if victim == "" {
		c.log.Warn("MCP session refused: every session is busy", "max_sessions", c.max)
		return false
	}
	_ = live[victim].Close()
	c.log.Warn("closed the longest idle MCP session to make room (SAGE_MAX_SESSIONS)", "max_sessions", c.max, "idle", time.Since(oldest).Round(time.Second))
	return true
}
