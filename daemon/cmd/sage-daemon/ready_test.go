package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	neturl "net/url"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/sage-mcp/sage/shared/pgtest"
)

// TestReadyzSaysWhy: while the database cannot be set up, /readyz says
// why (here: the daemon's role may not create the vector extension), with
// no secret of the database URL.
func TestReadyzSaysWhy(t *testing.T) {
	t.Parallel()
	url := pgtest.NewDatabase(t)
	ctx := context.Background()
	role := fmt.Sprintf("sage_noext_%d", time.Now().UnixNano())
	admin, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close(ctx)
	for _, sql := range []string{
		"DROP EXTENSION IF EXISTS vector",
		"CREATE ROLE " + role + " LOGIN PASSWORD 'hunter2-secret'",
		"GRANT CREATE ON SCHEMA public TO " + role,
	} {
		if _, err := admin.Exec(ctx, sql); err != nil {
			t.Fatalf("%s: %v", sql, err)
		}
	}
	t.Cleanup(func() {
		c, err := pgx.Connect(context.Background(), url)
		if err != nil {
			t.Error(err)
			return
		}
		defer c.Close(context.Background())
		_, _ = c.Exec(context.Background(), "DROP OWNED BY "+role)
		if _, err := c.Exec(context.Background(), "DROP ROLE "+role); err != nil {
			t.Errorf("drop role: %v", err)
		}
	})
	u, err := neturl.Parse(url)
	if err != nil {
		t.Fatal(err)
	}
	u.User = neturl.UserPassword(role, "hunter2-secret")
	d := MustStartDaemon(t, "SAGE_DATABASE_URL="+u.String(), "SAGE_DATA_DIR="+t.TempDir())
	var body string
	MustEventually(t, "readyz to say why", func() bool {
		resp, err := http.Get(d.URL + "/readyz")
		if err != nil {
			return false
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		body = string(b)
		return resp.StatusCode == 503 && strings.Contains(body, "permission denied")
	})
	for _, want := range []string{"create extension vector", "pgvector"} {
		if !strings.Contains(body, want) {
			t.Errorf("readyz %s lacks %q", body, want)
		}
	}
	if strings.Contains(body, "migrations pending") || strings.Contains(body, "hunter2") {
		t.Fatalf("readyz %s", body)
	}
}
