package http

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sage-mcp/sage/shared/api"
)

// isLoopbackHost reports whether host (without port) names this machine.
func isLoopbackHost(host string) bool {
	host = strings.Trim(host, "[]")
	if strings.EqualFold(host, "localhost") || strings.HasSuffix(strings.ToLower(host), ".localhost") {
		return true
	}
	ip, err := netip.ParseAddr(host)
	return err == nil && ip.IsLoopback()
}

// hostOnly strips the port from a Host header value.
func hostOnly(hostport string) string {
	if h, _, err := net.SplitHostPort(hostport); err == nil {
		return h
	}
	return strings.Trim(hostport, "[]")
}

// localAddrIsLoopback reports whether the request came in on a loopback
// address of this machine.
func localAddrIsLoopback(r *http.Request) bool {
	addr, ok := r.Context().Value(http.LocalAddrContextKey).(net.Addr)
	if !ok {
		return false
	}
	ap, err := netip.ParseAddrPort(addr.String())
	return err == nil && ap.Addr().Unmap().IsLoopback()
}

// remoteIsLoopback reports whether the client is on this machine.
func remoteIsLoopback(r *http.Request) bool {
	ap, err := netip.ParseAddrPort(r.RemoteAddr)
	return err == nil && ap.Addr().Unmap().IsLoopback()
}

// clientIP is the key of the auth throttle: the peer address (proxies'
// X-Forwarded-For is not trusted).
func clientIP(r *http.Request) string {
	if ap, err := netip.ParseAddrPort(r.RemoteAddr); err == nil {
		return ap.Addr().Unmap().String()
	}
	return r.RemoteAddr
}

// hostAllowed enforces DNS-rebinding protection. A request that arrived on
// a loopback address must name a loopback host, SAGE_PUBLIC_URL's host or
// one of SAGE_ALLOWED_HOSTS. Other requests are checked only when
// SAGE_ALLOWED_HOSTS is set.
func (s *Server) hostAllowed(r *http.Request) bool {
	host := hostOnly(r.Host)
	if isLoopbackHost(host) || s.hostListed(host) {
		return true
	}
	if localAddrIsLoopback(r) {
		return false
	}
	return len(s.opts.AllowedHosts) == 0
}

func (s *Server) hostListed(host string) bool {
	if s.publicHost != "" && strings.EqualFold(host, s.publicHost) {
		return true
	}
	for _, h := range s.opts.AllowedHosts {
		if h == "*" || strings.EqualFold(hostOnly(h), host) {
			return true
		}
	}
	return false
}

// originAllowed enforces that browsers may call only from a trusted page:
// no Origin (not a browser), a loopback origin, the daemon's own origin
// (the request's Host or SAGE_PUBLIC_URL) or one of SAGE_ALLOWED_ORIGINS.
func (s *Server) originAllowed(r *http.Request) bool {
	origin := r.Header.Get("Origin")
	if origin == "" {
		return true
	}
	u, err := url.Parse(origin)
	if err != nil || u.Host == "" {
		return false
	}
	if isLoopbackHost(u.Hostname()) || strings.EqualFold(u.Host, r.Host) {
		return true
	}
	if s.opts.PublicURL != "" {
		if pu, err := url.Parse(s.opts.PublicURL); err == nil && strings.EqualFold(pu.Scheme+"://"+pu.Host, origin) {
			return true
		}
	}
	for _, o := range s.opts.AllowedOrigins {
		if strings.EqualFold(strings.TrimRight(o, "/"), origin) {
			return true
		}
	}
	return false
}

// guard rejects foreign Hosts and Origins with 403 before anything else.
func (s *Server) guard(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !s.hostAllowed(r) {
			writeErr(w, http.StatusForbidden, api.CodeForbidden, "host not allowed: set SAGE_ALLOWED_HOSTS or SAGE_PUBLIC_URL to serve this name")
			return
		}
		if !s.originAllowed(r) {
			writeErr(w, http.StatusForbidden, api.CodeForbidden, "origin not allowed: set SAGE_ALLOWED_ORIGINS to call the daemon from this web page")
			return
		}
		w.Header().Set("X-Content-Type-Options", "nosniff")
		h.ServeHTTP(w, r)
	})
}

// Guard is guard for another listener's handler (the console): the same
// Host and Origin checks as /mcp, 403 otherwise.
func (s *Server) Guard(h http.Handler) http.Handler { return s.guard(h) }

// limitBody caps the request body at n bytes; reading beyond fails with
// *http.MaxBytesError (413).
func limitBody(n int64, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.ContentLength > n {
			writeErr(w, http.StatusRequestEntityTooLarge, api.CodeTooLarge, "request body larger than "+strconv.FormatInt(n, 10)+" bytes")
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, n)
		h.ServeHTTP(w, r)
	})
}

// throttle is a token bucket per client IP, spent by failed
// authentications: a client may fail Burst times at once, then once per
// Every. While its bucket is empty, a client's failures get 429 (with
// Retry-After) instead of 401; valid keys are still accepted.
type throttle struct {
	burst float64
	every time.Duration
	now   func() time.Time

	mu      sync.Mutex
	buckets map[string]*bucket
	sweep   time.Time
}

type bucket struct {
	tokens float64
	at     time.Time
}

func newThrottle(burst int, every time.Duration) *throttle {
	return &throttle{burst: float64(burst), every: every, now: time.Now, buckets: map[string]*bucket{}}
}

func (t *throttle) refill(b *bucket, now time.Time) {
	b.tokens = math.Min(t.burst, b.tokens+float64(now.Sub(b.at))/float64(t.every))
	b.at = now
}

// wait returns how long ip must wait before it may try again (0: now).
func (t *throttle) wait(ip string) time.Duration {
	t.mu.Lock()
	defer t.mu.Unlock()
	b, ok := t.buckets[ip]
	if !ok {
		return 0
	}
	now := t.now()
	t.refill(b, now)
	if b.tokens >= 1 {
		return 0
	}
	return time.Duration((1 - b.tokens) * float64(t.every))
}

// fail spends one token of ip's bucket.
func (t *throttle) fail(ip string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	now := t.now()
	b, ok := t.buckets[ip]
	if !ok {
		b = &bucket{tokens: t.burst, at: now}
		t.buckets[ip] = b
	}
	t.refill(b, now)
	b.tokens = math.Max(0, b.tokens-1)
	// Forget full buckets now and then so the map stays small.
	if now.Sub(t.sweep) > time.Minute {
		t.sweep = now
		for k, v := range t.buckets {
			t.refill(v, now)
			if v.tokens >= t.burst {
				delete(t.buckets, k)
			}
		}
	}
}

// throttled writes 429 when the client must wait d, and reports whether it
// did.
func (s *Server) throttled(w http.ResponseWriter, d time.Duration) bool {
	if d <= 0 {
		return false
	}
	s.metrics.AuthThrottled()
	secs := int(math.Ceil(d.Seconds()))
	w.Header().Set("Retry-After", strconv.Itoa(secs))
	writeErr(w, http.StatusTooManyRequests, api.CodeRateLimited,
		"too many failed authentication attempts from this address; retry in "+strconv.Itoa(secs)+"s")
	return true
}

// authFailed records a failed authentication of r's client.
func (s *Server) authFailed(r *http.Request) {
	s.metrics.AuthFailed()
	s.throttle.fail(clientIP(r))
}

// HealthReserve is how many connections LimitListener accepts beyond its
// maximum so that /healthz and /readyz still answer when it is reached.
const HealthReserve = 16

// LimitListener bounds the connections open at once through ln to max
// (SAGE_MAX_CONNECTIONS): up to HealthReserve more are accepted, but may
// only ask /healthz or /readyz (others get 503, see Server), and beyond
// those a new connection is closed at once. A connection counts until it
// is closed. Serve with ConnContext so that the Server knows which
// connections are in the reserve.
func LimitListener(ln net.Listener, max int) net.Listener {
	return &limitListener{Listener: ln, max: int64(max)}
}

type limitListener struct {
	net.Listener
	max  int64
	open atomic.Int64
}

func (l *limitListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		n := l.open.Add(1)
		if n > l.max+HealthReserve {
			l.open.Add(-1)
			_ = c.Close()
			continue
		}
		return &limitedConn{Conn: c, l: l, reserve: n > l.max}, nil
	}
}

// limitedConn is a connection counted by its limitListener.
type limitedConn struct {
	net.Conn
	l       *limitListener
	reserve bool // accepted beyond the maximum: health checks only
	once    sync.Once
}

func (c *limitedConn) Close() error {
	c.once.Do(func() { c.l.open.Add(-1) })
	return c.Conn.Close()
}

type reserveKey struct{}

// ConnContext is http.Server's ConnContext for connections of a
// LimitListener: it marks those in the health reserve.
func ConnContext(ctx context.Context, c net.Conn) context.Context {
	if lc, ok := c.(*limitedConn); ok && lc.reserve {
		return context.WithValue(ctx, reserveKey{}, true)
	}
	return ctx
}

// limitConns answers requests on reserve connections (see LimitListener)
// with 503 unless they are health checks, and closes those connections
// after the response.
func limitConns(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Context().Value(reserveKey{}) == nil {
			h.ServeHTTP(w, r)
			return
		}
		w.Header().Set("Connection", "close")
		if r.Method == http.MethodGet && (r.URL.Path == "/healthz" || r.URL.Path == "/readyz") {
			h.ServeHTTP(w, r)
			return
		}
		w.Header().Set("Retry-After", "1")
		writeErr(w, http.StatusServiceUnavailable, api.CodeUnavailable,
			"too many open connections (SAGE_MAX_CONNECTIONS); retry later")
	})
}

// ErrReadTimeout is the error of a request body read after the client
// used up its read time (Options.ReadTimeout).
var ErrReadTimeout = errors.New("request body too slow: not received within SAGE_READ_TIMEOUT")

// timeBodies bounds the time the client of each request may take to send
// its body to d in total: only time spent waiting in Read counts, not the
// time the handler works between reads (a streamed import).
func timeBodies(d time.Duration, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Body != nil && r.Body != http.NoBody {
			rc := http.NewResponseController(w)
			// Also bounds what the server reads of an unread body after
			// the handler.
			_ = rc.SetReadDeadline(time.Now().Add(d))
			r.Body = &timedBody{ReadCloser: r.Body, rc: rc, left: d}
		}
		h.ServeHTTP(w, r)
	})
}

// timedBody is a request body whose reads share a time budget.
type timedBody struct {
	io.ReadCloser
	rc   *http.ResponseController
	left time.Duration
	done bool // EOF seen: no deadline any more
}

func (b *timedBody) Read(p []byte) (int, error) {
	if b.done {
		return b.ReadCloser.Read(p)
	}
	if b.left <= 0 {
		return 0, ErrReadTimeout
	}
	start := time.Now()
	_ = b.rc.SetReadDeadline(start.Add(b.left))
	n, err := b.ReadCloser.Read(p)
	b.left -= time.Since(start)
	switch {
	case err == io.EOF:
		b.done = true
		// Long responses (SSE, reindex progress) must not be cut by a
		// deadline once the body is in.
		_ = b.rc.SetReadDeadline(time.Time{})
	case errors.Is(err, os.ErrDeadlineExceeded):
		b.left = 0
		err = fmt.Errorf("%w: %w", ErrReadTimeout, err)
	}
	return n, err
}
