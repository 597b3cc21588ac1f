package postgres_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	sage "github.com/sage-mcp/sage/daemon"
	"github.com/sage-mcp/sage/daemon/embed"
	"github.com/sage-mcp/sage/daemon/postgres"
	"github.com/sage-mcp/sage/testkit/pgtest"
)

// MustDatabase returns the URL of a fresh, migrated database.
func MustDatabase(t testing.TB) string {
	t.Helper()
	return pgtest.NewDatabase(t, pgtest.WithTemplate(postgres.MigrationsKey(), postgres.Migrate))
}

// MustOpen opens url and closes it when t ends.
func MustOpen(t testing.TB, url string) *postgres.DB {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	db, err := postgres.Open(ctx, url, postgres.Options{})
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	t.Cleanup(db.Close)
	return db
}

// MustBuiltin returns the builtin embedder of dims dimensions.
func MustBuiltin(t testing.TB, dims int) *embed.Builtin {
	t.Helper()
	e, err := embed.NewBuiltin(dims)
	if err != nil {
		t.Fatalf("builtin embedder: %v", err)
	}
	return e
}

// MustService returns a memory service with the builtin embedder on a fresh
// database.
func MustService(t testing.TB) (*postgres.MemoryService, *postgres.DB) {
	t.Helper()
	db := MustOpen(t, MustDatabase(t))
	return postgres.NewMemoryService(db, MustBuiltin(t, 384), nil), db
}

// flakyEmbedder wraps an embedder and fails while failing is set.
type flakyEmbedder struct {
	sage.Embedder
	mu      sync.Mutex
	failing bool
	calls   int
}

func (f *flakyEmbedder) setFailing(b bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.failing = b
}

func (f *flakyEmbedder) Embed(ctx context.Context, texts []string) ([][]float32, error) {
	f.mu.Lock()
	failing := f.failing
	f.calls++
	f.mu.Unlock()
	if failing {
		return nil, fmt.Errorf("%w: provider down (test)", sage.ErrEmbedder)
	}
	return f.Embedder.Embed(ctx, texts)
}
