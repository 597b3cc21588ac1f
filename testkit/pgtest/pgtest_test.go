package pgtest_test

import (
	"context"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/sage-mcp/sage/testkit/pgtest"
)

func mustConnect(t *testing.T, url string) *pgx.Conn {
	t.Helper()
	conn, err := pgx.Connect(context.Background(), url)
	if err != nil {
		t.Fatalf("connect: %v", err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })
	return conn
}

func TestNewDatabaseIsolated(t *testing.T) {
	t.Parallel()
	a := mustConnect(t, pgtest.NewDatabase(t))
	b := mustConnect(t, pgtest.NewDatabase(t))
	ctx := context.Background()
	if _, err := a.Exec(ctx, "CREATE TABLE x (v vector(3)); INSERT INTO x VALUES ('[1,2,3]')"); err != nil {
		t.Fatalf("create in a: %v", err)
	}
	var n int
	if err := a.QueryRow(ctx, "SELECT count(*) FROM x").Scan(&n); err != nil || n != 1 {
		t.Fatalf("count in a = %d, %v; want 1", n, err)
	}
	var exists bool
	if err := b.QueryRow(ctx, "SELECT to_regclass('x') IS NOT NULL").Scan(&exists); err != nil {
		t.Fatal(err)
	}
	if exists {
		t.Fatal("database b sees database a's table")
	}
}

func TestWithTemplate(t *testing.T) {
	t.Parallel()
	calls := 0
	setup := func(ctx context.Context, url string) error {
		calls++
		c, err := pgx.Connect(ctx, url)
		if err != nil {
			return err
		}
		defer c.Close(ctx)
		_, err = c.Exec(ctx, "CREATE TABLE seeded (id int); INSERT INTO seeded VALUES (42)")
		return err
	}
	key := "pgtest-template-" + t.Name()
	for i := 0; i < 2; i++ {
		conn := mustConnect(t, pgtest.NewDatabase(t, pgtest.WithTemplate(key, setup)))
		var id int
		if err := conn.QueryRow(context.Background(), "SELECT id FROM seeded").Scan(&id); err != nil || id != 42 {
			t.Fatalf("clone %d: id = %d, %v; want 42", i, id, err)
		}
		if _, err := conn.Exec(context.Background(), "INSERT INTO seeded VALUES (1)"); err != nil {
			t.Fatal(err)
		}
	}
	if calls > 1 {
		t.Fatalf("setup ran %d times; want at most 1 per process", calls)
	}
}

func TestWithDatabase(t *testing.T) {
	tests := []struct {
		in, name, want string
		wantErr        bool
	}{
		{"postgres://u:p@h:5432/a?sslmode=disable", "b", "postgres://u:p@h:5432/b?sslmode=disable", false},
		{"postgresql://h/a", "c", "postgresql://h/c", false},
		{"mysql://h/a", "c", "", true},
	}
	for _, tt := range tests {
		got, err := pgtest.WithDatabase(tt.in, tt.name)
		if (err != nil) != tt.wantErr || got != tt.want {
			t.Errorf("WithDatabase(%q, %q) = %q, %v; want %q (err %v)", tt.in, tt.name, got, err, tt.want, tt.wantErr)
		}
	}
}

func TestRedact(t *testing.T) {
	got := pgtest.Redact("postgres://u:secret@h/db")
	if got != "postgres://u:xxxxx@h/db" {
		t.Fatalf("Redact = %q", got)
	}
}

func TestServerRestart(t *testing.T) {
	t.Parallel()
	srv := pgtest.StartServer(t)
	ctx := context.Background()
	conn := mustConnect(t, srv.URL())
	if _, err := conn.Exec(ctx, "CREATE TABLE kept (v vector(2)); INSERT INTO kept VALUES ('[1,2]')"); err != nil {
		t.Fatal(err)
	}
	srv.Stop()
	if err := conn.Ping(ctx); err == nil {
		t.Fatal("ping succeeded while the server is stopped")
	}
	srv.Start()
	c2 := mustConnect(t, srv.URL())
	var n int
	if err := c2.QueryRow(ctx, "SELECT count(*) FROM kept").Scan(&n); err != nil || n != 1 {
		t.Fatalf("after restart: count = %d, %v; want 1", n, err)
	}
}
