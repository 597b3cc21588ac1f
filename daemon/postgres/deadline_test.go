package postgres_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	sage "github.com/sage-mcp/sage/daemon"
	"github.com/sage-mcp/sage/daemon/postgres"
)

// TestQueryTimeout: while PostgreSQL does not answer (here: the memories
// table is locked by another transaction, so the server stays silent), a
// call fails with sage.ErrUnavailable once Options.QueryTimeout has passed,
// instead of holding its connection, and the service works again after.
func TestQueryTimeout(t *testing.T) {
	t.Parallel()
	const bound = 500 * time.Millisecond
	url := MustDatabase(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	db, err := postgres.Open(ctx, url, postgres.Options{QueryTimeout: bound})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(db.Close)
	svc := postgres.NewMemoryService(db, MustBuiltin(t, 384), nil)
	if err := svc.Start(ctx); err != nil {
		t.Fatal(err)
	}
	nsCtx := sage.WithNamespace(ctx, "default")
	if _, err := svc.Remember(nsCtx, sage.Note{Content: "the lock test memory"}); err != nil {
		t.Fatal(err)
	}

	locker, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer locker.Close(context.Background())
	tx, err := locker.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec(ctx, "LOCK TABLE memories IN ACCESS EXCLUSIVE MODE"); err != nil {
		t.Fatal(err)
	}

	calls := []struct {
		name string
		call func(context.Context) error
	}{
		{"search", func(ctx context.Context) error {
			_, err := svc.Search(ctx, sage.SearchQuery{Query: "lock test memory"})
			return err
		}},
		{"remember", func(ctx context.Context) error {
			_, err := svc.Remember(ctx, sage.Note{Content: "written while locked"})
			return err
		}},
	}
	for _, c := range calls {
		// A guard far beyond the bound: without one the call would wait
		// for the lock as long as it is held.
		cctx, ccancel := context.WithTimeout(nsCtx, 30*time.Second)
		start := time.Now()
		err := c.call(cctx)
		elapsed := time.Since(start)
		ccancel()
		if !errors.Is(err, sage.ErrUnavailable) || elapsed > 10*bound {
			t.Errorf("%s while PostgreSQL is silent: %v after %v; want sage.ErrUnavailable within about %v", c.name, err, elapsed, bound)
		}
		var qt *postgres.QueryTimeoutError
		if !errors.As(err, &qt) {
			t.Errorf("%s: %v is not a QueryTimeoutError", c.name, err)
		}
	}

	if err := tx.Rollback(ctx); err != nil {
		t.Fatal(err)
	}
	if res, err := svc.Search(nsCtx, sage.SearchQuery{Query: "lock test memory"}); err != nil || len(res) == 0 {
		t.Fatalf("search after the lock: %v, %d results", err, len(res))
	}
}
