// Package console is sage-daemon's web console (issue 18): sign in with an
// access key, then see what Sage remembers and injected, search, edit and
// forget memories, manage sessions, the recall settings the hooks follow
// and (admin keys) access keys. It is served on its own listener
// (SAGE_CONSOLE_LISTEN) under /console.
//
// Pages are html/template with embedded CSS; there is no script at all, so
// the Content-Security-Policy forbids every script, and plain HTML forms do
// the work. Every form carries the session's CSRF token, every POST must
// come from the console's own origin, and the Host and Origin checks are
// those of /mcp (sagehttp.Server.Guard).
package console

import (
	"context"
	"embed"
	"errors"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	sage "github.com/sage-mcp/sage/daemon"
	sagehttp "github.com/sage-mcp/sage/daemon/http"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// Prefix is the path the console is served under.
const Prefix = "/console"

// Defaults of Options.
const (
	DefaultSessionTTL = 12 * time.Hour
	// MaxSessions bounds the signed-in sessions kept; the oldest goes first.
	MaxSessions = 1000
	// revalidateEvery is how often a session's key is checked again
	// (revoked or expired keys end their sessions).
	revalidateEvery = 30 * time.Second
	// pageTimeout bounds the database work of one page.
	pageTimeout = 10 * time.Second
)

// CSP is the Content-Security-Policy of every console response: nothing
// but the console's own stylesheet and images, no script at all.
const CSP = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
	"form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'"

// Daemon is what the console needs from the daemon's HTTP server
// (*sagehttp.Server).
type Daemon interface {
	// Service is the memory service (sagehttp.Server.Service).
	Service() sage.Service
	// Backend is the current backend, nil while the database is not ready;
	// the console takes the token store from it.
	Backend() *sagehttp.Backend
	// Guard applies the Host and Origin checks of /mcp.
	Guard(http.Handler) http.Handler
}

// Options configure a Console. Zero fields take defaults.
type Options struct {
	// Logger receives failures; nil is silent. Secrets never reach it.
	Logger *slog.Logger
	// SessionTTL is how long a sign-in lasts.
	SessionTTL time.Duration
	// Now is the clock (time.Now when nil).
	Now func() time.Time
}

// Console is the console's http.Handler.
type Console struct {
	d       Daemon
	svc     sage.Service
	opts    Options
	log     *slog.Logger
	pages   map[string]*template.Template
	handler http.Handler

	mu       sync.Mutex
	sessions map[string]*session

	reindexMu sync.Mutex
	reindex   map[string]bool // namespaces with a reindex running
}

// New returns the console of d.
func New(d Daemon, opts Options) *Console {
	if opts.SessionTTL <= 0 {
		opts.SessionTTL = DefaultSessionTTL
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	c := &Console{d: d, svc: d.Service(), opts: opts, log: opts.Logger, sessions: map[string]*session{}, reindex: map[string]bool{}}
	if c.log == nil {
		c.log = slog.New(slog.DiscardHandler)
	}
	c.pages = parsePages()
	c.handler = d.Guard(c.routes())
	return c
}

// ServeHTTP serves the console.
func (c *Console) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Content-Security-Policy", CSP)
	h.Set("X-Frame-Options", "DENY")
	// Not no-referrer: with it browsers send "Origin: null" on the forms'
	// own POSTs, which the Origin checks refuse.
	h.Set("Referrer-Policy", "same-origin")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Cross-Origin-Opener-Policy", "same-origin")
	c.handler.ServeHTTP(w, r)
}

func (c *Console) routes() http.Handler {
	mux := http.NewServeMux()
	static, _ := fs.Sub(staticFS, "static")
	mux.Handle("GET "+Prefix+"/static/", http.StripPrefix(Prefix+"/static/", cacheStatic(http.FileServerFS(static))))
	mux.HandleFunc("GET "+Prefix+"/login", c.loginPage)
	mux.HandleFunc("POST "+Prefix+"/login", c.sameOrigin(c.login))
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, Prefix+"/", http.StatusSeeOther)
	})
	mux.HandleFunc("GET "+Prefix, func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, Prefix+"/", http.StatusSeeOther)
	})

	get := func(path string, h pageFunc) { mux.HandleFunc("GET "+Prefix+path, c.signedIn(false, h)) }
	post := func(path string, h pageFunc) {
		mux.HandleFunc("POST "+Prefix+path, c.sameOrigin(c.signedIn(false, c.csrf(h))))
	}
	getAdmin := func(path string, h pageFunc) { mux.HandleFunc("GET "+Prefix+path, c.signedIn(true, h)) }
	postAdmin := func(path string, h pageFunc) {
		mux.HandleFunc("POST "+Prefix+path, c.sameOrigin(c.signedIn(true, c.csrf(h))))
	}

	post("/logout", c.logout)
	get("/{$}", c.overview)
	get("/sessions", c.sessionsPage)
	get("/sessions/{id}", c.transcript)
	get("/sessions/{id}/export", c.exportSession)
	get("/sessions/{id}/delete", c.confirmDeleteSession)
	post("/sessions/{id}/rename", c.renameSession)
	post("/sessions/{id}/delete", c.deleteSession)
	get("/search", c.search)
	get("/memories/{id}", c.memory)
	post("/memories/{id}", c.updateMemory)
	get("/memories/{id}/forget", c.confirmForget)
	post("/memories/{id}/forget", c.forget)
	get("/injections", c.injections)
	get("/settings", c.settingsPage)
	post("/settings", c.saveSettings)
	postAdmin("/reindex", c.startReindex)
	getAdmin("/tokens", c.tokensPage)
	postAdmin("/tokens", c.issueToken)
	postAdmin("/tokens/{id}/revoke", c.revokeToken)
	mux.HandleFunc(Prefix+"/", func(w http.ResponseWriter, r *http.Request) {
		c.errorPage(w, r, http.StatusNotFound, "error.notfound")
	})
	return mux
}

func cacheStatic(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "public, max-age=3600")
		h.ServeHTTP(w, r)
	})
}

// pageFunc serves a page for a signed-in session.
type pageFunc func(w http.ResponseWriter, r *http.Request, s *session)

// ctxFor is the context of s's service calls: its namespace, bounded.
func ctxFor(r *http.Request, s *session) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithTimeout(r.Context(), pageTimeout)
	return sage.WithNamespace(ctx, s.namespace), cancel
}

// fail shows err: its message when it is the caller's (invalid input, not
// found), a generic one otherwise.
func (c *Console) fail(w http.ResponseWriter, r *http.Request, err error) {
	switch {
	case errors.Is(err, sage.ErrInvalid):
		c.errorText(w, r, http.StatusBadRequest, err.Error())
	case errors.Is(err, sage.ErrNotFound):
		c.errorPage(w, r, http.StatusNotFound, "error.notfound")
	case errors.Is(err, sage.ErrUnavailable):
		c.errorPage(w, r, http.StatusServiceUnavailable, "error.unavailable")
	case errors.Is(err, sage.ErrEmbedder):
		c.errorPage(w, r, http.StatusServiceUnavailable, "error.embedder")
	default:
		if r.Context().Err() == nil {
			c.log.Error("console request failed", "method", r.Method, "path", r.URL.Path, "err", err)
		}
		c.errorPage(w, r, http.StatusInternalServerError, "error.internal")
	}
}

// errorPage renders the error page with the message of key.
func (c *Console) errorPage(w http.ResponseWriter, r *http.Request, status int, key string) {
	c.errorText(w, r, status, messages(r).T(key))
}

func (c *Console) errorText(w http.ResponseWriter, r *http.Request, status int, msg string) {
	s, _ := c.current(r)
	c.render(w, r, status, "error", s, "", errorData{Status: status, Message: msg})
}

type errorData struct {
	Status  int
	Message string
}

// trimForm returns the trimmed value of a form field.
func trimForm(r *http.Request, name string) string { return strings.TrimSpace(r.PostFormValue(name)) }

func isInvalid(err error) bool { return errors.Is(err, sage.ErrInvalid) }
