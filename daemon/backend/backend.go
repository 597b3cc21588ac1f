// Package backend connects sage-daemon to its database in the background:
// it opens PostgreSQL (retrying with backoff while it is unreachable),
// starts the memory service, its embedding backfill and the pruning of the
// injection audit, makes sure an admin can get in (admintoken), and hands
// the result to the HTTP server, which serves 503 until then.
package backend

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	sage "github.com/sage-mcp/sage/daemon"
	"github.com/sage-mcp/sage/daemon/admintoken"
	"github.com/sage-mcp/sage/daemon/config"
	sagehttp "github.com/sage-mcp/sage/daemon/http"
	"github.com/sage-mcp/sage/daemon/postgres"
)

// Backoff of the connection loop, and the backfill's period.
const (
	MinBackoff     = time.Second
	MaxBackoff     = 30 * time.Second
	BackfillPeriod = time.Minute
	// AuditPrunePeriod is how often the injection audit is cut to its
	// bounds (SAGE_AUDIT_RETENTION_DAYS, SAGE_AUDIT_MAX_ROWS).
	AuditPrunePeriod = 10 * time.Minute
	// CountFoldPeriod is how often the count deltas are folded
	// (MemoryService.FoldCounts): a reader of the counts sums at most this
	// long's deltas.
	CountFoldPeriod = 5 * time.Second
)

// Server is what the connection is handed to (sagehttp.Server).
type Server interface {
	// SetBackend makes the server serve from b.
	SetBackend(b *sagehttp.Backend)
	// SetNotReady says why there is no backend yet (no secret in it).
	SetNotReady(reason string)
}

// Conn is a database connection made in the background by Start.
type Conn struct {
	cancel context.CancelFunc
	done   chan struct{} // closed when the connection loop has returned
	failed chan struct{} // closed when it gave up: see Err

	// Set before done is closed.
	db       *postgres.DB
	backfill chan struct{} // closed when the backfill loop has stopped
	err      error
}

// Start connects to cfg's database in the background, retrying with
// backoff until it works or ctx ends, then sets srv's backend. The
// connection serves until ctx ends or Close. A bad admin token
// configuration is not retried: Failed is closed and Err says why.
func Start(ctx context.Context, cfg config.Config, log *slog.Logger, srv Server, emb sage.Embedder) *Conn {
	ctx, cancel := context.WithCancel(ctx)
	c := &Conn{cancel: cancel, done: make(chan struct{}), failed: make(chan struct{})}
	go func() {
		defer close(c.done)
		c.connect(ctx, cfg, log, srv, emb)
		if c.err != nil {
			close(c.failed)
		}
	}()
	return c
}

// Failed is closed when the connection gave up for good (see Err).
func (c *Conn) Failed() <-chan struct{} { return c.failed }

// Err is the problem that retrying cannot fix, once Failed is closed.
func (c *Conn) Err() error {
	select {
	case <-c.failed:
		return c.err
	default:
		return nil
	}
}

// Close stops connecting, waits for background work and closes the
// database. Call it once, after the server stopped using the backend.
func (c *Conn) Close() {
	c.cancel()
	<-c.done
	if c.db == nil {
		return
	}
	if c.backfill != nil {
		<-c.backfill
	}
	c.db.Close()
}

// connect retries open with backoff until it works, fails for good
// (sage.ErrInvalid) or ctx ends.
func (c *Conn) connect(ctx context.Context, cfg config.Config, log *slog.Logger, srv Server, emb sage.Embedder) {
	backoff := MinBackoff
	for attempt := 1; ; attempt++ {
		err := c.open(ctx, cfg, log, srv, emb)
		if err == nil || errors.Is(err, sage.ErrInvalid) {
			c.err = err
			return
		}
		if ctx.Err() != nil {
			return
		}
		// Logged before the server hears it, so whoever watches the
		// server's state finds the log line written.
		log.Warn("database not ready; serving 503 until it is", "attempt", attempt, "retry_in", backoff, "err", err)
		srv.SetNotReady(postgres.Redact(err, cfg.DatabaseURL))
		select {
		case <-ctx.Done():
			return
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, MaxBackoff)
	}
}

// Open opens cfg's database once, migrating it (postgres.Open), with
// cfg's query timeout. The subcommands that reach the database use it too.
func Open(ctx context.Context, cfg config.Config, log *slog.Logger) (*postgres.DB, error) {
	return postgres.Open(ctx, cfg.DatabaseURL, postgres.Options{Logger: log, QueryTimeout: cfg.DBQueryTimeout})
}

// open opens the database once and, on success, sets c's database and
// backfill and srv's backend.
func (c *Conn) open(ctx context.Context, cfg config.Config, log *slog.Logger, srv Server, emb sage.Embedder) error {
	db, err := Open(ctx, cfg, log.With("component", "postgres"))
	if err != nil {
		return err
	}
	svc := postgres.NewMemoryService(db, emb, log.With("component", "memory"))
	if err := svc.Start(ctx); err != nil {
		db.Close()
		return err
	}
	tokens := postgres.NewTokenStore(db.Pool())
	if cfg.Auth {
		if err := bootstrap(ctx, cfg, log, tokens); err != nil {
			db.Close()
			return fmt.Errorf("admin token: %w", err)
		}
	}
	// Logged before the server serves from it (see connect).
	log.Info("database ready")
	srv.SetBackend(&sagehttp.Backend{Service: svc, Tokens: tokens, Pool: db.Pool()})
	done := make(chan struct{})
	go func() {
		defer close(done)
		var wg sync.WaitGroup
		// The injection audit is pruned to its bounds in the background.
		wg.Go(func() {
			svc.RunAuditPrune(ctx, postgres.AuditRetention{MaxAge: time.Duration(cfg.AuditRetentionDays) * 24 * time.Hour,
				MaxRows: int64(cfg.AuditMaxRows)}, AuditPrunePeriod)
		})
		wg.Go(func() { svc.RunCountFold(ctx, CountFoldPeriod) })
		svc.RunBackfill(ctx, BackfillPeriod)
		wg.Wait()
	}()
	c.db, c.backfill = db, done
	return nil
}

// bootstrap is admintoken.Bootstrap with cfg's SAGE_TOKEN and data dir.
func bootstrap(ctx context.Context, cfg config.Config, log *slog.Logger, tokens admintoken.Store) error {
	opts := admintoken.Options{Secret: cfg.Token}
	if opts.Secret == "" {
		dir, err := cfg.ResolvedDataDir()
		if err != nil {
			return err
		}
		opts.DataDir = dir
	}
	return admintoken.Bootstrap(ctx, tokens, opts, log)
}
