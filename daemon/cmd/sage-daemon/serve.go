package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
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
	cfg, _, err := loadConfig(e, fs, args, true)
	if err != nil {
		return fail(e, err)
	}
	log := newLogger(cfg, e.stderr)
	if err := serve(ctx, cfg, log); err != nil {
		log.Error("sage-daemon stopped", "err", err)
		return 1
	}
	return 0
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
		MCP: func(svc sage.Service) http.Handler {
			return mcpserver.Handler(svc, mcpserver.Options{
				Logger:       quieter(log.With("component", "mcp"), slog.LevelWarn),
				Stateful:     cfg.Stateful,
				MaxBodyBytes: sagehttp.DefaultMaxBodyBytes,
				// The HTTP layer checks Host itself, and allows the names
				// configured beyond loopback.
				DisableLocalhostProtection: len(cfg.AllowedHosts) > 0 || cfg.PublicURL != "",
			})
		},
	})
	emb = srv.InstrumentEmbedder(emb)

	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	hs := &http.Server{
		Handler:           srv,
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelDebug),
	}
	log.Info("sage-daemon listening", "version", sage.Version, "addr", ln.Addr().String(),
		"embedder", emb.Name(), "model", emb.Model(), "auth", cfg.Auth)

	bctx, cancelBackend := context.WithCancel(ctx)
	defer cancelBackend()
	dbDone := make(chan *postgres.DB, 1)
	go func() { dbDone <- connect(bctx, cfg, log, srv, emb) }()

	serveErr := make(chan error, 1)
	go func() { serveErr <- hs.Serve(ln) }()

	select {
	case err := <-serveErr:
		cancelBackend()
		if db := <-dbDone; db != nil {
			db.Close()
		}
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	log.Info("shutting down: draining in-flight requests", "timeout", cfg.ShutdownTimeout)
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cfg.ShutdownTimeout)
	defer cancel()
	err = hs.Shutdown(sctx)
	cancelBackend()
	if db := <-dbDone; db != nil {
		db.Close()
	}
	if err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	log.Info("sage-daemon stopped")
	return nil
}

// connect opens the database, retrying with backoff until it works or ctx
// ends, then sets the server's backend. It returns the DB (nil if ctx
// ended first); background work on it stops with ctx.
func connect(ctx context.Context, cfg config.Config, log *slog.Logger, srv *sagehttp.Server, emb sage.Embedder) *postgres.DB {
	backoff := minBackoff
	for attempt := 1; ; attempt++ {
		db, err := openBackend(ctx, cfg, log, srv, emb)
		if err == nil {
			return db
		}
		if ctx.Err() != nil {
			return nil
		}
		log.Warn("database not ready; serving 503 until it is", "attempt", attempt, "retry_in", backoff, "err", err)
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, maxBackoff)
	}
}

func openBackend(ctx context.Context, cfg config.Config, log *slog.Logger, srv *sagehttp.Server, emb sage.Embedder) (*postgres.DB, error) {
	db, err := postgres.Open(ctx, cfg.DatabaseURL, postgres.Options{Logger: log.With("component", "postgres")})
	if err != nil {
		return nil, err
	}
	svc := postgres.NewMemoryService(db, emb, log.With("component", "memory"))
	if err := svc.Start(ctx); err != nil {
		db.Close()
		return nil, err
	}
	tokens := postgres.NewTokenStore(db.Pool())
	if cfg.Auth {
		if err := bootstrapToken(ctx, cfg, log, tokens); err != nil {
			db.Close()
			if errors.Is(err, sage.ErrUnavailable) {
				return nil, err
			}
			return nil, fmt.Errorf("admin token: %w", err)
		}
	}
	srv.SetBackend(&sagehttp.Backend{Service: svc, Tokens: tokens, Pool: db.Pool()})
	go svc.RunBackfill(ctx, time.Minute)
	log.Info("database ready")
	return db, nil
}
