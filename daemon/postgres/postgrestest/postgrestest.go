// Package postgrestest gives the tests of the packages above postgres
// (http, mcpserver, backend, admintoken, cmd/sage-daemon) a fresh, migrated
// database on the test PostgreSQL of testkit/pgtest. Only tests import it.
package postgrestest

import (
	"context"
	"testing"
	"time"

	"github.com/sage-mcp/sage/daemon/postgres"
	"github.com/sage-mcp/sage/testkit/pgtest"
)

// MustDatabase returns the URL of a fresh, migrated database (a copy of a
// migrated template, made once per test process).
func MustDatabase(t testing.TB) string {
	t.Helper()
	return pgtest.NewDatabase(t, pgtest.WithTemplate(postgres.MigrationsKey(), postgres.Migrate))
}

// MustOpenURL opens url with opts, within a minute; the database is
// closed when t ends.
func MustOpenURL(t testing.TB, url string, opts postgres.Options) *postgres.DB {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	db, err := postgres.Open(ctx, url, opts)
	if err != nil {
		t.Fatalf("open database: %v", err)
	}
	t.Cleanup(db.Close)
	return db
}

// MustOpen opens a fresh, migrated database, closed when t ends.
func MustOpen(t testing.TB) *postgres.DB {
	t.Helper()
	return MustOpenURL(t, MustDatabase(t), postgres.Options{})
}
