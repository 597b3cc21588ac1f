// Package pgtest gives tests their own PostgreSQL database with pgvector.
//
// The server is named by SAGE_TEST_DATABASE_URL (scripts/test.sh sets it to a
// throwaway cluster). Each call to NewDatabase creates a database of its own,
// dropped when the test ends, so test packages and parallel tests never see
// each other's rows. With WithTemplate the database is cloned from a template
// that is set up once (for example, migrated) and shared by every process.
//
// Without SAGE_TEST_DATABASE_URL a test is skipped, except under CI=true,
// where it fails: a test that needs the database never skips in CI.
package pgtest

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/sage-mcp/sage/testkit/testenv"
)

// EnvURL is the environment variable naming the test server.
const EnvURL = "SAGE_TEST_DATABASE_URL"

// SetupFunc prepares a template database, for example by running migrations.
// It receives the template's connection URL.
type SetupFunc func(ctx context.Context, url string) error

// Option changes how NewDatabase builds a database.
type Option func(*options)

type options struct {
	key   string
	setup SetupFunc
}

// WithTemplate clones the new database from a template prepared once by
// setup. The template is named after key: give a new key (for example a hash
// of the migration files) whenever setup would produce a different schema.
func WithTemplate(key string, setup SetupFunc) Option {
	return func(o *options) { o.key, o.setup = key, setup }
}

// AdminURL returns the server URL from the environment. It skips the test
// when none is set, or fails it under CI.
func AdminURL(t testing.TB) string {
	t.Helper()
	return testenv.Require(t, EnvURL, "provides PostgreSQL with pgvector")
}

// NewDatabase creates a fresh database for t and returns its URL. The
// database has the vector extension, and is dropped when t ends.
func NewDatabase(t testing.TB, opts ...Option) string {
	t.Helper()
	admin := AdminURL(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	dbURL, err := Create(ctx, admin, opts...)
	if err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if err := Drop(ctx, admin, dbURL); err != nil {
			t.Errorf("pgtest: %v", err)
		}
	})
	return dbURL
}

// Create creates a fresh database with the vector extension on the server
// of the admin URL and returns its URL; the caller drops it with Drop.
// NewDatabase is Create for a test; cmd/sage-testdb is Create for a test
// harness that must not link pgx (testkit/daemontest).
func Create(ctx context.Context, admin string, opts ...Option) (string, error) {
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	conn, err := pgx.Connect(ctx, admin)
	if err != nil {
		return "", fmt.Errorf("connect to %s: %w", Redact(admin), err)
	}
	defer conn.Close(ctx)

	template := "template0"
	if o.setup != nil {
		template, err = ensureTemplate(ctx, conn, admin, o.key, o.setup)
		if err != nil {
			return "", fmt.Errorf("template: %w", err)
		}
	}
	name := "sage_t_" + randomHex(8)
	if _, err := conn.Exec(ctx, fmt.Sprintf("CREATE DATABASE %s TEMPLATE %s", name, pgx.Identifier{template}.Sanitize())); err != nil {
		return "", fmt.Errorf("create database: %w", err)
	}
	dbURL, err := WithDatabase(admin, name)
	if err != nil {
		return "", err
	}
	if o.setup == nil {
		c, err := pgx.Connect(ctx, dbURL)
		if err != nil {
			return "", fmt.Errorf("connect to new database: %w", err)
		}
		defer c.Close(ctx)
		if _, err := c.Exec(ctx, "CREATE EXTENSION IF NOT EXISTS vector"); err != nil {
			return "", fmt.Errorf("create extension vector (is pgvector installed?): %w", err)
		}
	}
	return dbURL, nil
}

// Drop drops the database of dbURL (made by Create) through the admin URL;
// open connections to it are closed.
func Drop(ctx context.Context, admin, dbURL string) error {
	u, err := url.Parse(dbURL)
	if err != nil {
		return fmt.Errorf("drop: %w", err)
	}
	name := strings.TrimPrefix(u.Path, "/")
	if !strings.HasPrefix(name, "sage_t_") {
		return fmt.Errorf("drop %q: not a database made by pgtest", name)
	}
	c, err := pgx.Connect(ctx, admin)
	if err != nil {
		return fmt.Errorf("drop %s: %w", name, err)
	}
	defer c.Close(ctx)
	if _, err := c.Exec(ctx, "DROP DATABASE IF EXISTS "+pgx.Identifier{name}.Sanitize()+" WITH (FORCE)"); err != nil {
		return fmt.Errorf("drop %s: %w", name, err)
	}
	return nil
}

// templates remembers the templates this process has made sure of.
var templates sync.Map // key -> name

func ensureTemplate(ctx context.Context, conn *pgx.Conn, admin, key string, setup SetupFunc) (string, error) {
	sum := sha256.Sum256([]byte(key))
	name := "sage_tpl_" + hex.EncodeToString(sum[:8])
	if _, ok := templates.Load(name); ok {
		return name, nil
	}
	// One process at a time builds a template; the others wait and reuse it.
	lockID := int64(0x5a9e) << 32
	if _, err := conn.Exec(ctx, "SELECT pg_advisory_lock($1)", lockID); err != nil {
		return "", fmt.Errorf("lock: %w", err)
	}
	defer conn.Exec(context.WithoutCancel(ctx), "SELECT pg_advisory_unlock($1)", lockID) //nolint:errcheck

	var ready bool
	err := conn.QueryRow(ctx, "SELECT datistemplate FROM pg_database WHERE datname = $1", name).Scan(&ready)
	if err != nil && !errors.Is(err, pgx.ErrNoRows) {
		return "", fmt.Errorf("look up %s: %w", name, err)
	}
	if !ready {
		if _, err := conn.Exec(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)"); err != nil {
			return "", fmt.Errorf("drop stale %s: %w", name, err)
		}
		if _, err := conn.Exec(ctx, "CREATE DATABASE "+name+" TEMPLATE template0"); err != nil {
			return "", fmt.Errorf("create %s: %w", name, err)
		}
		u, err := WithDatabase(admin, name)
		if err != nil {
			return "", err
		}
		c, err := pgx.Connect(ctx, u)
		if err != nil {
			return "", fmt.Errorf("connect %s: %w", name, err)
		}
		_, err = c.Exec(ctx, "CREATE EXTENSION IF NOT EXISTS vector")
		c.Close(ctx)
		if err != nil {
			return "", fmt.Errorf("create extension vector (is pgvector installed?): %w", err)
		}
		if err := setup(ctx, u); err != nil {
			return "", fmt.Errorf("set up %s: %w", name, err)
		}
		if _, err := conn.Exec(ctx, "ALTER DATABASE "+name+" WITH IS_TEMPLATE true ALLOW_CONNECTIONS false"); err != nil {
			return "", fmt.Errorf("mark %s as template: %w", name, err)
		}
	}
	templates.Store(name, true)
	return name, nil
}

// WithDatabase returns rawURL with its database name replaced by name.
func WithDatabase(rawURL, name string) (string, error) {
	u, err := url.Parse(rawURL)
	if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
		return "", fmt.Errorf("%s must be a postgres:// URL", EnvURL)
	}
	u.Path = "/" + name
	return u.String(), nil
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// Redact hides the password of a connection URL, for messages and logs.
func Redact(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(unparsable URL)"
	}
	if _, ok := u.User.Password(); ok {
		u.User = url.UserPassword(u.User.Username(), "xxxxx")
	}
	return strings.TrimSpace(u.String())
}

// NewDatabaseWithoutVector creates a fresh database without the vector
// extension and a new login role (with password, when not empty) that may
// create objects in its public schema but not the extension (pgvector is
// not a trusted extension), and returns the database's URL for that role.
// The role and what it owns are dropped when t ends.
func NewDatabaseWithoutVector(t testing.TB, password string) string {
	t.Helper()
	dbURL := NewDatabase(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	admin, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		t.Fatalf("pgtest: connect: %v", err)
	}
	defer admin.Close(ctx)
	role := "sage_noext_" + randomHex(6)
	create := "CREATE ROLE " + role + " LOGIN"
	if password != "" {
		create += " PASSWORD '" + strings.ReplaceAll(password, "'", "''") + "'"
	}
	for _, sql := range []string{"DROP EXTENSION IF EXISTS vector", create, "GRANT CREATE ON SCHEMA public TO " + role} {
		if _, err := admin.Exec(ctx, sql); err != nil {
			t.Fatalf("pgtest: %s: %v", strings.SplitN(sql, " PASSWORD", 2)[0], err)
		}
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		c, err := pgx.Connect(ctx, dbURL)
		if err != nil {
			t.Errorf("pgtest: drop role %s: %v", role, err)
			return
		}
		defer c.Close(ctx)
		_, _ = c.Exec(ctx, "DROP OWNED BY "+role)
		if _, err := c.Exec(ctx, "DROP ROLE "+role); err != nil {
			t.Errorf("pgtest: drop role %s: %v", role, err)
		}
	})
	u, err := url.Parse(dbURL)
	if err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	if password != "" {
		u.User = url.UserPassword(role, password)
	} else {
		u.User = url.User(role)
	}
	return u.String()
}
