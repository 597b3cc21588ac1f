package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"runtime/debug"
	"time"

	sage "github.com/sage-mcp/sage/daemon"
	"github.com/sage-mcp/sage/daemon/config"
	"github.com/sage-mcp/sage/daemon/embed"
	sagehttp "github.com/sage-mcp/sage/daemon/http"
	"github.com/sage-mcp/sage/daemon/mcpserver"
	"github.com/sage-mcp/sage/daemon/postgres"
)

// Backoff of the database connection loop.
const (
	minBackoff = time.Second
	maxBackoff = 30 * time.Second
)

// runServe serves until ctx ends (SIGINT, SIGTERM), then drains in-flight
// requests for at most SAGE_SHUTDOWN_TIMEOUT. It serves before the
// database is reachable and keeps trying to open it.
func runServe(ctx context.Context, e *env, args []string) int {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.Usage = func() { usage(fs.Output()) }
	cfg, _, err := loadConfig(e, fs, args, true)
	if err != nil {
		return fail(e, err)
	}
	log := newLogger(cfg, e.stderr)
	tuneGC(e.getenv)
	if err := serve(ctx, cfg, log); err != nil {
		log.Error("sage-daemon stopped", "err", err)
		return 1
	}
	return 0
}

// defaultGCPercent is the garbage collector's target (GOGC) unless the
// environment sets GOGC: the daemon's live heap is small (a few MiB), so Go's
// default of 100 collects so often that it cost about a quarter of the
// daemon's CPU per save in sage-bench (0.79 ms a save, 0.58 ms at 400),
// for a peak RSS ≈ 25 MiB higher (docs/BENCHMARKS.md).
const defaultGCPercent = 400

// tuneGC sets the garbage collector's target to defaultGCPercent unless GOGC
// is set.
func tuneGC(getenv func(string) string) {
	if getenv("GOGC") == "" {
		debug.SetGCPercent(defaultGCPercent)
	}
}

func serve(ctx context.Context, cfg config.Config, log *slog.Logger) error {
	emb, err := embed.New(cfg.Embed, log.With("component", "embed"))
	if err != nil {
		return err
	}
	if !cfg.Auth {
		log.Warn("!!! SAGE_AUTH=off: /mcp and /api/v1 accept requests WITHOUT a token, as admin of the default namespace; use only for local development !!!")
	}
	srv := sagehttp.New(sagehttp.Options{
		Logger:         log.With("component", "http"),
		NoAuth:         !cfg.Auth,
		PublicURL:      cfg.PublicURL,
		AllowedOrigins: cfg.AllowedOrigins,
		AllowedHosts:   cfg.AllowedHosts,
		Metrics:        cfg.Metrics,
		ReadTimeout:    cfg.ReadTimeout,
		MCP: func(svc sage.Service) http.Handler {
			return mcpserver.Handler(svc, mcpserver.Options{
				Logger:       quieter(log.With("component", "mcp"), slog.LevelWarn),
				Stateful:     cfg.Stateful,
				MaxSessions:  cfg.MaxSessions,
				MaxBodyBytes: sagehttp.DefaultMaxBodyBytes,
				// The HTTP layer checks Host itself, and allows the names
				// configured beyond loopback.
				DisableLocalhostProtection: len(cfg.AllowedHosts) > 0 || cfg.PublicURL != "",
			})
		},
	})
	emb = srv.InstrumentEmbedder(emb)

	defer startConsole(cfg, log, srv)()
	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	ln = sagehttp.LimitListener(ln, cfg.MaxConnections)
	hs := &http.Server{
		Handler:     srv,
		ConnContext: sagehttp.ConnContext,
		// No ReadTimeout or WriteTimeout: they would cut long responses
		// (SSE streams, reindex progress); the Server bounds bodies itself.
		ReadHeaderTimeout: min(10*time.Second, cfg.ReadTimeout),
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelDebug),
	}
	log.Info("sage-daemon listening", "version", sage.Version, "addr", ln.Addr().String(),
		"embedder", emb.Name(), "model", emb.Model(), "auth", cfg.Auth)

	bctx, cancelBackend := context.WithCancel(ctx)
	defer cancelBackend()
	connected := make(chan connection, 1)
	go func() { connected <- connect(bctx, cfg, log, srv, emb) }()

	serveErr := make(chan error, 1)
	go func() { serveErr <- hs.Serve(ln) }()

	var conn *connection
	var fatal error
	pending := connected
wait:
	for {
		select {
		case err := <-serveErr:
			cancelBackend()
			if conn == nil {
				c := <-connected
				conn = &c
			}
			conn.close()
			return fmt.Errorf("serve: %w", err)
		case c := <-pending:
			conn, pending = &c, nil
			if c.err != nil {
				fatal = c.err
				break wait
			}
		case <-ctx.Done():
			break wait
		}
	}
	if fatal != nil && ctx.Err() == nil {
		log.Error("cannot start: fix the configuration", "err", fatal)
	}
	log.Info("shutting down: draining in-flight requests", "timeout", cfg.ShutdownTimeout)
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cfg.ShutdownTimeout)
	defer cancel()
	err = hs.Shutdown(sctx)
	cancelBackend()
	if conn == nil {
		c := <-connected
		conn = &c
	}
	conn.close()
	if fatal != nil && ctx.Err() == nil {
		return fatal
	}
	if err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	log.Info("sage-daemon stopped")
	return nil
}

// connection is the outcome of connect.
type connection struct {
	db       *postgres.DB
	backfill chan struct{} // closed when the backfill loop has stopped
	err      error         // a problem retrying cannot fix
}

// close waits for background work and closes the database.
func (c connection) close() {
	if c.db == nil {
		return
	}
	if c.backfill != nil {
		<-c.backfill
	}
	c.db.Close()
}

// connect opens the database, retrying with backoff until it works or ctx
// ends, then sets the server's backend. While ctx lives, the open
// connection serves (and <-ctx.Done() stops its background work). A bad
// admin token configuration is not retried: it comes back in err.
func connect(ctx context.Context, cfg config.Config, log *slog.Logger, srv *sagehttp.Server, emb sage.Embedder) connection {
	backoff := minBackoff
	for attempt := 1; ; attempt++ {
		c := openBackend(ctx, cfg, log, srv, emb)
		if c.err == nil || errors.Is(c.err, sage.ErrInvalid) {
			return c
		}
		if ctx.Err() != nil {
			return connection{}
		}
		srv.SetNotReady(postgres.Redact(c.err, cfg.DatabaseURL))
		log.Warn("database not ready; serving 503 until it is", "attempt", attempt, "retry_in", backoff, "err", c.err)
		select {
		case <-ctx.Done():
			return connection{}
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, maxBackoff)
	}
}

func openBackend(ctx context.Context, cfg config.Config, log *slog.Logger, srv *sagehttp.Server, emb sage.Embedder) connection {
	db, err := postgres.Open(ctx, cfg.DatabaseURL, postgres.Options{Logger: log.With("component", "postgres"), QueryTimeout: cfg.DBQueryTimeout})
	if err != nil {
		return connection{err: err}
	}
	svc := postgres.NewMemoryService(db, emb, log.With("component", "memory"))
	if err := svc.Start(ctx); err != nil {
		db.Close()
		return connection{err: err}
	}
	tokens := postgres.NewTokenStore(db.Pool())
	if cfg.Auth {
		if err := bootstrapToken(ctx, cfg, log, tokens); err != nil {
			db.Close()
			return connection{err: fmt.Errorf("admin token: %w", err)}
		}
	}
	srv.SetBackend(&sagehttp.Backend{Service: svc, Tokens: tokens, Pool: db.Pool()})
	done := make(chan struct{})
	go func() {
		defer close(done)
		svc.RunBackfill(ctx, time.Minute)
	}()
	log.Info("database ready")
	return connection{db: db, backfill: done}
}
