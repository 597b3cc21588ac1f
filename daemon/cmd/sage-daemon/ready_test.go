package main

import (
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/sage-mcp/sage/testkit/daemontest"
	"github.com/sage-mcp/sage/testkit/pgtest"
)

// TestReadyzSaysWhy: while the database cannot be set up, /readyz says
// why (here: the daemon's role may not create the vector extension), with
// no secret of the database URL.
func TestReadyzSaysWhy(t *testing.T) {
	t.Parallel()
	dbURL := pgtest.NewDatabaseWithoutVector(t, "hunter2-secret")
	d := MustStartDaemon(t, "SAGE_DATABASE_URL="+dbURL, "SAGE_DATA_DIR="+t.TempDir())
	var body string
	daemontest.MustEventually(t, "readyz to say why", func() bool {
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
