package postgres_test

import (
	"context"
	"errors"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	sage "github.com/sage-mcp/sage/daemon"
	"github.com/sage-mcp/sage/daemon/postgres"
	"github.com/sage-mcp/sage/migrations"
	"github.com/sage-mcp/sage/testkit/pgtest"
)

// TestOpenConcurrent starts three daemons at once against one fresh
// database (without even the vector extension): all must come up, with the
// schema applied once.
func TestOpenConcurrent(t *testing.T) {
	url := pgtest.NewDatabase(t)
	ctx := context.Background()
	// A database without the extension, as a new server would give.
	func() {
		c, err := pgx.Connect(ctx, url)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close(ctx)
		if _, err := c.Exec(ctx, "DROP EXTENSION vector"); err != nil {
			t.Fatal(err)
		}
	}()
	const daemons = 3
	var wg sync.WaitGroup
	dbs := make([]*postgres.DB, daemons)
	errs := make([]error, daemons)
	for i := range daemons {
		wg.Add(1)
		go func() {
			defer wg.Done()
			dbs[i], errs[i] = postgres.Open(ctx, url, postgres.Options{})
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("daemon %d: %v", i, err)
		}
		defer dbs[i].Close()
	}
	names, _ := migrationsCount()
	var version int
	if err := dbs[0].Pool().QueryRow(ctx, "SELECT version FROM "+postgres.VersionTable).Scan(&version); err != nil {
		t.Fatal(err)
	}
	if version != names {
		t.Fatalf("schema version %d, want %d", version, names)
	}
	// Every daemon can serve.
	for i, db := range dbs {
		svc := postgres.NewMemoryService(db, MustBuiltin(t, 384), nil)
		if err := svc.Start(ctx); err != nil {
			t.Fatalf("daemon %d start: %v", i, err)
		}
		if _, err := svc.SaveTurn(ctx, sage.Turn{UserPrompt: "hello from daemon", SessionID: "s"}); err != nil {
			t.Fatalf("daemon %d: %v", i, err)
		}
		if err := db.Ping(ctx); err != nil {
			t.Fatal(err)
		}
	}
	// Opening again migrates nothing and succeeds.
	db := MustOpen(t, url)
	if st, err := postgres.NewMemoryService(db, MustBuiltin(t, 384), nil).Status(ctx); err != nil || st.Memories != 1 {
		t.Fatalf("status = %+v, %v", st, err)
	}
}

func migrationsCount() (int, error) {
	entries, err := migrations.FS.ReadDir(".")
	n := 0
	for _, e := range entries {
		if strings.HasSuffix(e.Name(), ".sql") {
			n++
		}
	}
	return n, err
}

// TestOpenUnavailable: a database that cannot be reached is
// sage.ErrUnavailable, within the connect timeout, never a hang.
func TestOpenUnavailable(t *testing.T) {
	// A port nobody listens on.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closedAddr := l.Addr().String()
	l.Close()
	// A server that accepts connections and never answers.
	silent, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer silent.Close()
	var conns []net.Conn
	var mu sync.Mutex
	go func() {
		for {
			c, err := silent.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
		}
	}()
	defer func() {
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			c.Close()
		}
	}()
	for _, addr := range []string{closedAddr, silent.Addr().String()} {
		url := "postgres://sage:secret-password@" + addr + "/sage?sslmode=disable"
		// The outer context is a safety net only: Open must give up by itself.
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		_, err := postgres.Open(ctx, url, postgres.Options{ConnectTimeout: 300 * time.Millisecond})
		outer := ctx.Err()
		cancel()
		if !errors.Is(err, sage.ErrUnavailable) {
			t.Fatalf("Open(%s) = %v, want ErrUnavailable", addr, err)
		}
		if strings.Contains(err.Error(), "secret-password") {
			t.Fatalf("error shows the password: %v", err)
		}
		if outer != nil {
			t.Fatalf("Open(%s) waited for the outer context", addr)
		}
	}
	if _, err := postgres.Open(context.Background(), "mysql://x", postgres.Options{}); err == nil || errors.Is(err, sage.ErrUnavailable) {
		t.Fatalf("Open(bad url) = %v", err)
	}
}

// TestDatabaseRestart: while the server is down every call fails with
// ErrUnavailable; once it is back, the same service works again.
func TestDatabaseRestart(t *testing.T) {
	srv := pgtest.StartServer(t)
	ctx := context.Background()
	db, err := postgres.Open(ctx, srv.URL(), postgres.Options{ConnectTimeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	svc := postgres.NewMemoryService(db, MustBuiltin(t, 384), nil)
	if _, err := svc.SaveTurn(ctx, sage.Turn{UserPrompt: "before the restart", SessionID: "r"}); err != nil {
		t.Fatal(err)
	}
	srv.Stop()
	if err := db.Ping(ctx); !errors.Is(err, sage.ErrUnavailable) {
		t.Fatalf("Ping while down = %v", err)
	}
	if _, err := svc.SaveTurn(ctx, sage.Turn{UserPrompt: "while down", SessionID: "r"}); !errors.Is(err, sage.ErrUnavailable) {
		t.Fatalf("SaveTurn while down = %v", err)
	}
	if _, err := svc.Search(ctx, sage.SearchQuery{Query: "restart"}); !errors.Is(err, sage.ErrUnavailable) {
		t.Fatalf("Search while down = %v", err)
	}
	if _, err := svc.Status(ctx); !errors.Is(err, sage.ErrUnavailable) {
		t.Fatalf("Status while down = %v", err)
	}
	srv.Start()
	if _, err := svc.SaveTurn(ctx, sage.Turn{UserPrompt: "after the restart", SessionID: "r"}); err != nil {
		t.Fatalf("SaveTurn after restart: %v", err)
	}
	if res, err := svc.Search(ctx, sage.SearchQuery{Query: "restart"}); err != nil || len(res) != 2 {
		t.Fatalf("Search after restart = %d, %v", len(res), err)
	}
}

// TestOpenWithoutVector: when the vector extension cannot be created, Open
// says so and says what to do. Here the user may not create it (pgvector is
// not a trusted extension); a server without pgvector gets the same advice.
func TestOpenWithoutVector(t *testing.T) {
	dbURL := pgtest.NewDatabaseWithoutVector(t, "")
	ctx := context.Background()
	_, err := postgres.Open(ctx, dbURL, postgres.Options{})
	if err == nil {
		t.Fatal("Open without the vector extension succeeded")
	}
	t.Logf("Open: %v", err)
	for _, want := range []string{"vector", "pgvector >= 0.7", "pgvector/pgvector"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %q", err, want)
		}
	}
	if errors.Is(err, sage.ErrUnavailable) {
		t.Errorf("a missing extension is not a connection problem: %v", err)
	}
}
