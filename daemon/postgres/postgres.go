// Package postgres implements sage.Service on PostgreSQL with pgvector:
// storage of memories and sessions, hybrid retrieval (HNSW cosine search
// fused with full-text search), pending embeddings with backfill, and
// reindexing to a new embedding model. It also keeps the auth tokens
// (TokenStore).
//
// Open connects, creates the vector extension and applies the migrations of
// package migrations under an advisory lock, so several daemons may start at
// once against one database.
package postgres

import (
	"context"
	"crypto/sha256"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/tern/v2/migrate"
	pgxvec "github.com/pgvector/pgvector-go/pgx"

	sage "github.com/sage-mcp/sage/daemon"
	"github.com/sage-mcp/sage/migrations"
)

// Defaults of Options.
const (
	DefaultConnectTimeout = 5 * time.Second
	DefaultMaxConns       = 16
	DefaultQueryTimeout   = 10 * time.Second
)

// VersionTable is the table where tern records the schema version.
const VersionTable = "public.sage_schema_version"

// migrateLock is the advisory lock key held while the schema is set up.
const migrateLock = int64(0x5a9e_0001)

// indexLock is the advisory lock key held while an HNSW index is created.
const indexLock = int64(0x5a9e_0002)

// Options tune Open. The zero value is usable.
type Options struct {
	// ConnectTimeout bounds each connection attempt (default 5s).
	ConnectTimeout time.Duration
	// MaxConns is the size of the connection pool (default 16).
	MaxConns int32
	// QueryTimeout bounds how long a connection waits for PostgreSQL to
	// send anything while a query is under way (default 10s; negative:
	// never): a frozen or unreachable server then fails the query with
	// a *QueryTimeoutError, which wraps as sage.ErrUnavailable, instead of
	// holding the connection. Setting up the schema and building a vector
	// index are not bounded.
	QueryTimeout time.Duration
	// Logger receives operational messages; nil means silent.
	Logger *slog.Logger
}

// DB is a connection pool to a migrated Sage database.
type DB struct {
	pool   *pgxpool.Pool
	logger *slog.Logger
}

// Open connects to the database at url, makes sure the vector extension
// exists and applies every migration. A database that cannot be reached
// gives an error wrapping sage.ErrUnavailable, within about
// Options.ConnectTimeout.
func Open(ctx context.Context, url string, opts Options) (*DB, error) {
	if opts.ConnectTimeout <= 0 {
		opts.ConnectTimeout = DefaultConnectTimeout
	}
	if opts.MaxConns <= 0 {
		opts.MaxConns = DefaultMaxConns
	}
	if opts.QueryTimeout == 0 {
		opts.QueryTimeout = DefaultQueryTimeout
	}
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, fmt.Errorf("open database: parse url: %w", sanitize(err))
	}
	cfg.ConnConfig.ConnectTimeout = opts.ConnectTimeout
	cfg.MaxConns = opts.MaxConns
	if cfg.ConnConfig.RuntimeParams == nil {
		cfg.ConnConfig.RuntimeParams = map[string]string{}
	}
	if _, ok := cfg.ConnConfig.RuntimeParams["application_name"]; !ok {
		cfg.ConnConfig.RuntimeParams["application_name"] = "sage-daemon"
	}
	cfg.AfterConnect = registerVectorTypes
	if opts.QueryTimeout > 0 {
		cfg.ConnConfig.DialFunc = boundedDial(cfg.ConnConfig.DialFunc, opts.QueryTimeout)
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("open database: %w: %w", sage.ErrUnavailable, err)
	}
	db := &DB{pool: pool, logger: opts.Logger}
	if db.logger == nil {
		db.logger = slog.New(slog.DiscardHandler)
	}
	pctx, cancel := context.WithTimeout(ctx, opts.ConnectTimeout)
	defer cancel()
	conn, err := pool.Acquire(pctx)
	if err != nil {
		pool.Close()
		return nil, fmt.Errorf("open database: %w", unavailable(err))
	}
	restore := unbounded(conn.Conn()) // migrations may wait for other daemons
	err = setup(ctx, conn.Conn(), db.logger)
	restore()
	conn.Release() // before Close, which waits for every acquired connection
	if err != nil {
		pool.Close()
		return nil, fmt.Errorf("open database: %w", err)
	}
	// The connection setup used may predate the vector extension, and so
	// lack its types: start afresh.
	pool.Reset()
	return db, nil
}

// registerVectorTypes teaches a new connection pgvector's types, so that
// vectors travel in their binary format (pgvector-go), once the vector
// extension exists (setup creates it).
func registerVectorTypes(ctx context.Context, conn *pgx.Conn) error {
	var exists bool
	if err := conn.QueryRow(ctx, "SELECT to_regtype('halfvec') IS NOT NULL").Scan(&exists); err != nil {
		return err
	}
	if !exists {
		return nil
	}
	return pgxvec.RegisterTypes(ctx, conn)
}

// Migrate connects to url once, creates the vector extension and applies
// every migration: what Open does, without keeping a pool. Tests use it to
// prepare template databases (see MigrationsKey).
func Migrate(ctx context.Context, url string) error {
	cfg, err := pgx.ParseConfig(url)
	if err != nil {
		return fmt.Errorf("migrate: parse url: %w", sanitize(err))
	}
	if cfg.ConnectTimeout == 0 {
		cfg.ConnectTimeout = DefaultConnectTimeout
	}
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return fmt.Errorf("migrate: %w", unavailable(err))
	}
	defer conn.Close(context.WithoutCancel(ctx))
	if err := setup(ctx, conn, nil); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	return nil
}

// MigrationsKey returns a hash of every migration file: a template database
// migrated with one key fits every test that sees the same key.
func MigrationsKey() string {
	names, _ := fs.Glob(migrations.FS, "*.sql")
	sort.Strings(names)
	h := sha256.New()
	for _, n := range names {
		b, _ := fs.ReadFile(migrations.FS, n)
		fmt.Fprintf(h, "%s\x00%d\x00", n, len(b))
		h.Write(b)
	}
	return "sage-migrations-" + hex.EncodeToString(h.Sum(nil))[:16]
}

// setup creates the vector extension and migrates, holding an advisory lock
// so concurrent daemons take turns.
func setup(ctx context.Context, conn *pgx.Conn, logger *slog.Logger) (err error) {
	if _, err := conn.Exec(ctx, "SELECT pg_advisory_lock($1)", migrateLock); err != nil {
		return fmt.Errorf("lock schema: %w", unavailable(err))
	}
	defer func() {
		if _, uerr := conn.Exec(context.WithoutCancel(ctx), "SELECT pg_advisory_unlock($1)", migrateLock); uerr != nil && err == nil {
			err = fmt.Errorf("unlock schema: %w", uerr)
		}
	}()
	if err := createVector(ctx, conn); err != nil {
		return err
	}
	m, err := migrate.NewMigrator(ctx, conn, VersionTable)
	if err != nil {
		return fmt.Errorf("migrations: %w", err)
	}
	if err := m.LoadMigrations(migrations.FS); err != nil {
		return fmt.Errorf("load migrations: %w", err)
	}
	before, err := m.GetCurrentVersion(ctx)
	if err != nil {
		return fmt.Errorf("schema version: %w", err)
	}
	if err := m.Migrate(ctx); err != nil {
		return fmt.Errorf("apply migrations: %w", err)
	}
	if logger != nil && int(before) < len(m.Migrations) {
		logger.Info("database migrated", "from", before, "to", len(m.Migrations))
	}
	return nil
}

// MinPgvector is the oldest pgvector release Sage works with (halfvec and
// its HNSW operator classes came in 0.7).
const MinPgvector = "0.7.0"

const pgvectorHelp = "install pgvector >= 0.7 on the PostgreSQL server " +
	"(Debian/Ubuntu: the postgresql-<version>-pgvector package; or run the pgvector/pgvector Docker image), " +
	"or have a superuser run CREATE EXTENSION vector in this database"

func createVector(ctx context.Context, conn *pgx.Conn) error {
	var installed bool
	if err := conn.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'vector')").Scan(&installed); err != nil {
		return fmt.Errorf("check vector extension: %w", unavailable(err))
	}
	if !installed {
		if _, err := conn.Exec(ctx, "CREATE EXTENSION IF NOT EXISTS vector"); err != nil {
			var pgErr *pgconn.PgError
			if errors.As(err, &pgErr) {
				switch pgErr.Code {
				case "0A000", "58P01": // feature_not_supported, undefined_file: not installed
					return fmt.Errorf("pgvector is not installed on this PostgreSQL server: %s (%s)", pgvectorHelp, pgErr.Message)
				case "42501": // insufficient_privilege
					return fmt.Errorf("create extension vector: permission denied: %s", pgvectorHelp)
				}
			}
			return fmt.Errorf("create extension vector: %w", unavailable(err))
		}
	}
	v, err := pgvectorVersion(ctx, conn)
	if err != nil {
		return err
	}
	if versionLess(v, MinPgvector) {
		return fmt.Errorf("pgvector %s is too old: %s (or ALTER EXTENSION vector UPDATE after upgrading the package)", v, pgvectorHelp)
	}
	return nil
}

type queryRower interface {
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

func pgvectorVersion(ctx context.Context, q queryRower) (string, error) {
	var v string
	if err := q.QueryRow(ctx, "SELECT extversion FROM pg_extension WHERE extname = 'vector'").Scan(&v); err != nil {
		return "", fmt.Errorf("pgvector version: %w", unavailable(err))
	}
	return v, nil
}

// versionLess compares dotted version numbers ("0.7.4" < "0.8.0").
func versionLess(a, b string) bool {
	pa, pb := strings.Split(a, "."), strings.Split(b, ".")
	for i := 0; i < len(pa) || i < len(pb); i++ {
		var x, y int
		if i < len(pa) {
			x, _ = strconv.Atoi(pa[i])
		}
		if i < len(pb) {
			y, _ = strconv.Atoi(pb[i])
		}
		if x != y {
			return x < y
		}
	}
	return false
}

// Pool returns the connection pool, for the other stores of the daemon.
func (db *DB) Pool() *pgxpool.Pool { return db.pool }

// Ping checks that the database answers; its error wraps
// sage.ErrUnavailable when it does not.
func (db *DB) Ping(ctx context.Context) error {
	if err := db.pool.Ping(ctx); err != nil {
		return fmt.Errorf("ping database: %w", unavailable(err))
	}
	return nil
}

// Close closes every connection.
func (db *DB) Close() { db.pool.Close() }

// unavailable marks connection failures (and timeouts) as
// sage.ErrUnavailable; other errors come back unchanged.
func unavailable(err error) error {
	if err == nil || errors.Is(err, sage.ErrUnavailable) {
		return err
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		// Class 08: connection exception; 57P0x: shutdown, cannot connect now;
		// 53300: too many connections.
		if strings.HasPrefix(pgErr.Code, "08") || strings.HasPrefix(pgErr.Code, "57P0") || pgErr.Code == "53300" {
			return fmt.Errorf("%w: %w", sage.ErrUnavailable, err)
		}
		return err
	}
	if errors.Is(err, context.Canceled) {
		return err
	}
	var qt *QueryTimeoutError
	if errors.As(err, &qt) || errors.Is(err, os.ErrDeadlineExceeded) {
		return fmt.Errorf("%w: %w", sage.ErrUnavailable, err)
	}
	if pgconn.SafeToRetry(err) || pgconn.Timeout(err) || errors.Is(err, context.DeadlineExceeded) || isConnectError(err) {
		return fmt.Errorf("%w: %w", sage.ErrUnavailable, err)
	}
	return err
}

func isConnectError(err error) bool {
	var ce *pgconn.ConnectError
	if errors.As(err, &ce) {
		return true
	}
	s := err.Error()
	return strings.Contains(s, "connection refused") || strings.Contains(s, "closed pool") ||
		strings.Contains(s, "conn closed") || strings.Contains(s, "broken pipe") ||
		strings.Contains(s, "connection reset") || strings.Contains(s, "unexpected EOF")
}

// sanitize drops the text of URL parse errors, which may quote a password.
func sanitize(error) error {
	return errors.New("invalid database URL (expected postgres://user@host:port/db?sslmode=…)")
}

// QueryTimeoutError is the error of a query PostgreSQL did not answer
// within Options.QueryTimeout.
type QueryTimeoutError struct{ After time.Duration }

func (e *QueryTimeoutError) Error() string {
	return "PostgreSQL did not answer within " + e.After.String() + " (SAGE_DB_QUERY_TIMEOUT)"
}

// Timeout reports true: pgconn treats the error as a timeout (net.Error).
func (e *QueryTimeoutError) Timeout() bool { return true }

// Temporary reports false (net.Error).
func (e *QueryTimeoutError) Temporary() bool { return false }

// boundedDial wraps dial so that every connection it makes bounds each
// read from the server to timeout (see boundedConn).
func boundedDial(dial pgconn.DialFunc, timeout time.Duration) pgconn.DialFunc {
	if dial == nil {
		d := &net.Dialer{KeepAlive: 5 * time.Minute}
		dial = d.DialContext
	}
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		c, err := dial(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		return &boundedConn{Conn: c, timeout: timeout}, nil
	}
}

// boundedConn is a connection to PostgreSQL whose reads wait at most
// timeout for the server, on top of the deadlines pgconn sets itself (it
// interrupts reads through them when a context ends). pgconn reads only
// while it expects an answer, so an idle pooled connection is not
// affected; a read that times out breaks the connection, and the pool
// replaces it.
type boundedConn struct {
	net.Conn
	timeout time.Duration

	mu     sync.Mutex
	off    int       // > 0: reads are not bounded (see unbounded)
	theirs time.Time // the read deadline pgconn asked for
}

func (c *boundedConn) Read(p []byte) (int, error) {
	c.mu.Lock()
	d, ours := c.theirs, false
	if c.off == 0 {
		if lim := time.Now().Add(c.timeout); d.IsZero() || lim.Before(d) {
			d, ours = lim, true
		}
	}
	err := c.Conn.SetReadDeadline(d)
	c.mu.Unlock()
	if err != nil {
		return 0, err
	}
	n, err := c.Conn.Read(p)
	if err != nil && ours && errors.Is(err, os.ErrDeadlineExceeded) {
		c.mu.Lock()
		theirs := c.theirs
		c.mu.Unlock()
		if theirs.IsZero() || time.Now().Before(theirs) {
			err = &QueryTimeoutError{After: c.timeout}
		}
	}
	return n, err
}

func (c *boundedConn) SetDeadline(t time.Time) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.theirs = t
	return c.Conn.SetDeadline(t)
}

func (c *boundedConn) SetReadDeadline(t time.Time) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.theirs = t
	return c.Conn.SetReadDeadline(t)
}

// unbounded lifts Options.QueryTimeout from conn until the returned
// function is called: for work that may legitimately keep PostgreSQL
// silent for long (migrations waiting for another daemon, building an
// index).
func unbounded(conn *pgx.Conn) (restore func()) {
	nc := conn.PgConn().Conn()
	if tc, ok := nc.(*tls.Conn); ok {
		nc = tc.NetConn()
	}
	bc, ok := nc.(*boundedConn)
	if !ok {
		return func() {}
	}
	bc.mu.Lock()
	bc.off++
	bc.mu.Unlock()
	return func() {
		bc.mu.Lock()
		bc.off--
		bc.mu.Unlock()
	}
}
