package http

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	sage "github.com/sage-mcp/sage/daemon"
	"github.com/sage-mcp/sage/daemon/metrics"
	"github.com/sage-mcp/sage/shared/api"
)

// Limits and defaults of Options.
const (
	DefaultMaxBodyBytes   = 2 << 20  // MCP and REST request bodies
	DefaultMaxImportBytes = 64 << 20 // POST /api/v1/import, streamed
	DefaultAuthBurst      = 10       // failed authentications allowed at once per client IP
	DefaultAuthEvery      = 6 * time.Second
	DefaultAccessTTL      = time.Hour
	DefaultRefreshTTL     = 30 * 24 * time.Hour
	DefaultCodeTTL        = 2 * time.Minute
	DefaultReadTimeout    = time.Minute // for a request's body, in total
)

// Who may read /metrics.
const (
	MetricsLoopback = "loopback" // loopback clients without a token; others need an admin token
	MetricsPublic   = "public"   // everyone
	MetricsToken    = "token"    // an admin token, always
)

// TokenStore keeps access tokens and OAuth state (postgres.TokenStore).
type TokenStore interface {
	Authenticate(ctx context.Context, secret string) (sage.Token, error)
	IssueToken(ctx context.Context, spec sage.TokenSpec) (sage.Token, string, error)
	Tokens(ctx context.Context) ([]sage.Token, error)
	RevokeToken(ctx context.Context, id string) error
	RegisterClient(ctx context.Context, name string, redirectURIs []string) (sage.OAuthClient, error)
	Client(ctx context.Context, id string) (sage.OAuthClient, error)
	CreateCode(ctx context.Context, grant sage.OAuthCode) (string, error)
	ConsumeCode(ctx context.Context, code string) (sage.OAuthCode, error)
	IssueOAuthTokens(ctx context.Context, parentID, clientID string, scopes []string, accessTTL, refreshTTL time.Duration) (sage.OAuthTokens, error)
	RefreshOAuthTokens(ctx context.Context, refresh, clientID string, accessTTL, refreshTTL time.Duration) (sage.OAuthTokens, error)
}

// Backend is what the Server needs from the database. It is set once the
// database is open and migrated.
type Backend struct {
	Service sage.Service
	Tokens  TokenStore
	// Pool, when set, is pinged by /readyz and exported in metrics.
	Pool *pgxpool.Pool
}

// Options configure a Server. Zero fields take defaults.
type Options struct {
	// Logger receives request failures; nil is silent. Secrets never reach it.
	Logger *slog.Logger
	// NoAuth serves /mcp and /api/v1 without tokens, as an admin of the
	// default namespace. For local development only.
	NoAuth bool
	// PublicURL is the external base URL ("https://sage.example.com") used in
	// OAuth metadata; empty means derived from each request.
	PublicURL string
	// AllowedOrigins and AllowedHosts extend the loopback defaults (see
	// originAllowed, hostAllowed).
	AllowedOrigins []string
	AllowedHosts   []string
	// Metrics is MetricsLoopback (default), MetricsPublic or MetricsToken.
	Metrics string
	// MCP builds the MCP handler (mcpserver.Handler) on the Server's
	// service; it should add m.MCP(mcpserver.ToolNames) to the MCP server's
	// middleware, for the MCP metrics. It is mounted at /mcp behind auth;
	// nil serves 404 there.
	MCP func(svc sage.Service, m *metrics.Registry) http.Handler
	// MaxBodyBytes bounds MCP and REST bodies, MaxImportBytes the import.
	MaxBodyBytes, MaxImportBytes int64
	// AuthBurst failed authentications per client IP are allowed at once,
	// then one per AuthEvery; beyond that the client gets 429.
	AuthBurst int
	AuthEvery time.Duration
	// Lifetimes of OAuth access tokens, refresh tokens and codes.
	AccessTTL, RefreshTTL, CodeTTL time.Duration
	// ReadTimeout bounds the time a client may take to send a request
	// body, counting only the time spent waiting for it (SAGE_READ_TIMEOUT);
	// a body still incomplete then fails to read and the connection is
	// closed. Headers are bounded by http.Server.ReadHeaderTimeout.
	ReadTimeout time.Duration
}

// Server is the daemon's HTTP handler.
type Server struct {
	opts       Options
	log        *slog.Logger
	publicHost string
	backend    atomic.Pointer[Backend]
	notReady   atomic.Pointer[string]        // why there is no backend yet (SetNotReady)
	embedder   atomic.Pointer[sage.Embedder] // its health goes into /readyz (ReportEmbedder)
	metrics    *metrics.Registry
	svc        sage.Service // the proxy of Service
	throttle   *throttle
	handler    http.Handler
}

// positive sets *v to def unless it is above zero.
func positive[T int | int64 | time.Duration](v *T, def T) {
	if *v <= 0 {
		*v = def
	}
}

// New returns a Server with no backend yet: it answers 503 where the
// database is needed until SetBackend.
func New(opts Options) *Server {
	positive(&opts.MaxBodyBytes, DefaultMaxBodyBytes)
	positive(&opts.MaxImportBytes, DefaultMaxImportBytes)
	positive(&opts.AuthBurst, DefaultAuthBurst)
	positive(&opts.AuthEvery, DefaultAuthEvery)
	positive(&opts.AccessTTL, DefaultAccessTTL)
	positive(&opts.RefreshTTL, DefaultRefreshTTL)
	positive(&opts.CodeTTL, DefaultCodeTTL)
	positive(&opts.ReadTimeout, DefaultReadTimeout)
	if opts.Metrics == "" {
		opts.Metrics = MetricsLoopback
	}
	s := &Server{opts: opts, log: opts.Logger, throttle: newThrottle(opts.AuthBurst, opts.AuthEvery)}
	if s.log == nil {
		s.log = discard
	}
	if u, err := url.Parse(opts.PublicURL); err == nil && opts.PublicURL != "" {
		s.publicHost = u.Hostname()
	}
	s.metrics = metrics.New(s.ready, s.currentPool)
	s.svc = s.metrics.Service(s.currentService)
	s.handler = s.routes()
	return s
}

// SetBackend makes the database available to the Server (nil: unavailable).
func (s *Server) SetBackend(b *Backend) { s.backend.Store(b) }

// Backend returns the current backend, or nil while the database is not
// ready (the console takes the token store from it).
func (s *Server) Backend() *Backend { return s.backend.Load() }

// SetNotReady records why the database is not available yet (the last
// failure to open it), for /readyz to report while there is no backend.
// The reason must hold no secret. Empty clears it.
func (s *Server) SetNotReady(reason string) { s.notReady.Store(&reason) }

// Service is the Server's memory service: it forwards to the backend's,
// fails fast with sage.ErrUnavailable while there is none, and records
// metrics. MCP tools use it, so they share the REST API's behaviour.
func (s *Server) Service() sage.Service { return s.svc }

// Metrics is the Server's metrics registry, served at /metrics; the
// embedder and the MCP server report to it too (Registry.Embedder,
// Registry.MCP).
func (s *Server) Metrics() *metrics.Registry { return s.metrics }

// ReportEmbedder makes /readyz report e's health (sage.HealthOf): while
// it is not ready the daemon stays ready, saves are stored pending and
// searches use keywords, and /readyz says so.
func (s *Server) ReportEmbedder(e sage.Embedder) { s.embedder.Store(&e) }

// ServeHTTP serves every route of the daemon.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.handler.ServeHTTP(w, r) }

func (s *Server) routes() http.Handler {
	mux := http.NewServeMux()
	handle := func(pattern, route string, h http.Handler) {
		mux.Handle(pattern, s.metrics.Instrument(route, h))
	}
	body := func(h http.HandlerFunc) http.Handler { return limitBody(s.opts.MaxBodyBytes, h) }

	// Operations.
	handle("GET /healthz", "/healthz", http.HandlerFunc(s.healthz))
	handle("GET /readyz", "/readyz", http.HandlerFunc(s.readyz))
	handle("GET /metrics", "/metrics", http.HandlerFunc(s.serveMetrics))

	// OAuth 2.1 authorization server and protected resource metadata.
	handle("/.well-known/oauth-protected-resource", "/.well-known/oauth-protected-resource", cors(s.metadata(resourceMetadata)))
	handle("/.well-known/oauth-protected-resource/mcp", "/.well-known/oauth-protected-resource", cors(s.metadata(resourceMetadata)))
	handle("/.well-known/oauth-authorization-server", "/.well-known/oauth-authorization-server", cors(s.metadata(authServerMetadata)))
	handle("/.well-known/oauth-authorization-server/mcp", "/.well-known/oauth-authorization-server", cors(s.metadata(authServerMetadata)))
	handle("/.well-known/", "/.well-known/*", cors(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		writeErr(w, http.StatusNotFound, api.CodeNotFound, "no such metadata document")
	})))
	handle("/register", "/register", cors(body(s.register)))
	handle("GET /authorize", "/authorize", http.HandlerFunc(s.authorizePage))
	handle("POST /authorize", "/authorize", body(s.authorizeSubmit))
	handle("/token", "/token", cors(body(s.token)))
	handle("/mcp/token", "/token", cors(body(s.token)))
	handle("/mcp/auth", "/mcp/auth", cors(body(s.introspect)))

	// MCP.
	if s.opts.MCP != nil {
		h := s.authenticate(sage.ScopeMemories, true, s.opts.MCP(s.Service(), s.metrics))
		handle("/mcp", "/mcp", limitBody(s.opts.MaxBodyBytes, h))
	}

	// REST: the route of the metrics is the path.
	v := api.Version
	rest := func(method, path, scope string, h http.HandlerFunc) {
		handle(method+" "+v+path, v+path, body(s.authenticate(scope, false, h).ServeHTTP))
	}
	rest("POST", "/turns", sage.ScopeMemories, answerBody(s, s.saveTurns))
	rest("POST", "/notes", sage.ScopeMemories, answerBody(s, s.saveNote))
	rest("GET", "/search", sage.ScopeMemories, s.answer(s.search))
	rest("GET", "/context", sage.ScopeMemories, s.context)
	rest("GET", "/injections", sage.ScopeMemories, s.injections)
	rest("GET", "/sessions", sage.ScopeMemories, s.answer(s.sessions))
	rest("GET", "/sessions/{id}", sage.ScopeMemories, s.answer(s.session))
	rest("PATCH", "/sessions/{id}", sage.ScopeMemories, answerBody(s, s.renameSession))
	rest("DELETE", "/sessions/{id}", sage.ScopeMemories, s.answer(s.deleteSession))
	rest("DELETE", "/memories/{id}", sage.ScopeMemories, s.answer(s.deleteMemory))
	rest("POST", "/forget", sage.ScopeMemories, answerBody(s, s.forget))
	rest("GET", "/status", sage.ScopeMemories, s.answer(s.status))
	rest("GET", "/settings", sage.ScopeMemories, s.settings)
	handle("POST "+v+"/import", v+"/import", limitBody(s.opts.MaxImportBytes, s.authenticate(sage.ScopeMemories, false, http.HandlerFunc(s.importMemories))))
	rest("GET", "/export", sage.ScopeMemories, s.export)
	rest("POST", "/reindex", sage.ScopeAdmin, s.reindex)
	rest("GET", "/tokens", sage.ScopeAdmin, s.answer(s.listTokens))
	rest("POST", "/tokens", sage.ScopeAdmin, s.issueToken)
	rest("DELETE", "/tokens/{id}", sage.ScopeAdmin, s.revokeToken)

	handle("/", "other", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		writeErr(w, http.StatusNotFound, api.CodeNotFound, "no such endpoint: "+r.Method+" "+r.URL.Path)
	}))
	return limitConns(timeBodies(s.opts.ReadTimeout, s.guard(mux)))
}

// cors allows cross-origin calls from any page, for the public OAuth
// endpoints (metadata, registration, token, introspection) that browser
// based MCP clients call. They carry no ambient credentials.
func cors(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Access-Control-Allow-Origin", "*")
		w.Header().Set("Access-Control-Allow-Methods", "GET, POST, OPTIONS")
		w.Header().Set("Access-Control-Allow-Headers", "Content-Type, Authorization, Mcp-Protocol-Version")
		if r.Method == http.MethodOptions {
			w.WriteHeader(http.StatusNoContent)
			return
		}
		h.ServeHTTP(w, r)
	})
}

func (s *Server) healthz(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok", "version": sage.Version})
}

// ready reports whether the database is reachable and migrated.
func (s *Server) ready(ctx context.Context) error {
	b := s.backend.Load()
	if b == nil {
		if r := s.notReady.Load(); r != nil && *r != "" {
			return errors.New("database not ready: " + *r)
		}
		return errors.New("database not connected yet")
	}
	if b.Pool != nil {
		if err := b.Pool.Ping(ctx); err != nil {
			return errors.New("database unreachable")
		}
	}
	return nil
}

func (s *Server) readyz(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 3*time.Second)
	defer cancel()
	if err := s.ready(ctx); err != nil {
		writeJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "unavailable", "reason": err.Error()})
		return
	}
	body := map[string]string{"status": "ready"}
	if e := s.embedder.Load(); e != nil {
		// Still ready: without vectors, saves are stored pending and
		// searches use keywords.
		if h := sage.HealthOf(*e); h.State != sage.EmbedderReady {
			body["embedder"], body["embedder_detail"] = h.State, h.Detail
			if b := s.backend.Load(); b != nil && b.Pool != nil {
				var n int64
				if b.Pool.QueryRow(ctx, `SELECT count(*) FROM memories WHERE embedding IS NULL`).Scan(&n) == nil {
					body["pending_embeddings"] = strconv.FormatInt(n, 10)
				}
			}
		}
	}
	writeJSON(w, http.StatusOK, body)
}

func (s *Server) serveMetrics(w http.ResponseWriter, r *http.Request) {
	switch {
	case s.opts.Metrics == MetricsPublic:
	case s.opts.Metrics == MetricsLoopback && remoteIsLoopback(r):
	default:
		s.authenticate(sage.ScopeAdmin, false, s.metrics.Handler()).ServeHTTP(w, r)
		return
	}
	s.metrics.Handler().ServeHTTP(w, r)
}
