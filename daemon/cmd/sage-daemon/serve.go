package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"runtime/debug"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	sage "github.com/sage-mcp/sage/daemon"
	"github.com/sage-mcp/sage/daemon/backend"
	"github.com/sage-mcp/sage/daemon/config"
	"github.com/sage-mcp/sage/daemon/embed"
	sagehttp "github.com/sage-mcp/sage/daemon/http"
	"github.com/sage-mcp/sage/daemon/mcpserver"
	"github.com/sage-mcp/sage/daemon/metrics"
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
	srv := newServer(cfg, log)
	emb = srv.Metrics().Embedder(emb)
	srv.ReportEmbedder(emb)
	defer startConsole(cfg, log, srv)()
	ln, hs, err := listen(cfg, log, srv)
	if err != nil {
		return err
	}
	log.Info("sage-daemon listening", "version", sage.Version, "addr", ln.Addr().String(),
		"embedder", emb.Name(), "model", emb.Model(), "auth", cfg.Auth)

	conn := backend.Start(ctx, cfg, log, srv, emb)
	serveErr := make(chan error, 1)
	go func() { serveErr <- hs.Serve(ln) }()

	var fatal error
	select {
	case err := <-serveErr:
		conn.Close()
		return fmt.Errorf("serve: %w", err)
	case <-conn.Failed():
		fatal = conn.Err()
	case <-ctx.Done():
	}
	if fatal != nil && ctx.Err() == nil {
		log.Error("cannot start: fix the configuration", "err", fatal)
	}
	log.Info("shutting down: draining in-flight requests", "timeout", cfg.ShutdownTimeout)
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cfg.ShutdownTimeout)
	defer cancel()
	err = hs.Shutdown(sctx)
	conn.Close()
	if fatal != nil && ctx.Err() == nil {
		return fatal
	}
	if err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	log.Info("sage-daemon stopped")
	return nil
}

// newServer returns the HTTP server of cfg, with the MCP server mounted.
func newServer(cfg config.Config, log *slog.Logger) *sagehttp.Server {
	return sagehttp.New(sagehttp.Options{
		Logger:         log.With("component", "http"),
		NoAuth:         !cfg.Auth,
		PublicURL:      cfg.PublicURL,
		AllowedOrigins: cfg.AllowedOrigins,
		AllowedHosts:   cfg.AllowedHosts,
		Metrics:        cfg.Metrics,
		ReadTimeout:    cfg.ReadTimeout,
		MCP: func(svc sage.Service, m *metrics.Registry) http.Handler {
			return mcpserver.Handler(svc, mcpserver.Options{
				Logger:       quieter(log.With("component", "mcp"), slog.LevelWarn),
				Stateful:     cfg.Stateful,
				MaxSessions:  cfg.MaxSessions,
				MaxBodyBytes: sagehttp.DefaultMaxBodyBytes,
				// The HTTP layer checks Host itself, and allows the names
				// configured beyond loopback.
				DisableLocalhostProtection: len(cfg.AllowedHosts) > 0 || cfg.PublicURL != "",
				Middleware:                 []mcp.Middleware{m.MCP(mcpserver.ToolNames)},
			})
		},
	})
}

// listen opens cfg's listener, capped at SAGE_MAX_CONNECTIONS, and the
// http.Server that serves srv on it.
func listen(cfg config.Config, log *slog.Logger, srv *sagehttp.Server) (net.Listener, *http.Server, error) {
	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return nil, nil, fmt.Errorf("listen: %w", err)
	}
	hs := &http.Server{
		Handler:     srv,
		ConnContext: sagehttp.ConnContext,
		// No ReadTimeout or WriteTimeout: they would cut long responses
		// (SSE streams, reindex progress); the Server bounds bodies itself.
		ReadHeaderTimeout: min(10*time.Second, cfg.ReadTimeout),
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelDebug),
	}
	return sagehttp.LimitListener(ln, cfg.MaxConnections), hs, nil
}
