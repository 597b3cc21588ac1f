package main

import (
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sage-mcp/sage/bridge/client"
	"github.com/sage-mcp/sage/bridge/proxy"
	"github.com/sage-mcp/sage/shared/api"
	"github.com/sage-mcp/sage/testkit/golden"
)

// goldenDaemon is a fixed daemon for golden output: the REST answers
// sage_manage reads, with fixed dates and ids.
func goldenDaemon(t *testing.T) *httptest.Server {
	t.Helper()
	at := time.Date(2026, 11, 20, 9, 30, 0, 0, time.UTC)
	mems := []api.Memory{
		{ID: 41, Kind: "turn", Project: "sage", SessionID: "s1", Score: 0.032,
			Text: "User: What is the outbox?\n\nAssistant: A durable queue of turns.", OccurredAt: at, CreatedAt: at},
		{ID: 42, Kind: "decision", Project: "sage", SessionID: "s1", Score: 0.016, Tags: []string{"storage"},
			Text: "记忆 每个回合由 Stop 钩子保存。", OccurredAt: at.Add(time.Minute), CreatedAt: at.Add(time.Minute)},
	}
	sess := api.Session{ID: "s1", Project: "sage", Title: "What is the outbox?", Memories: 2, FirstAt: at, LastAt: at.Add(time.Minute)}
	routes := map[string]any{
		"/api/v1/status": api.Status{Version: "1.2.3", PostgresVersion: "15.8", PgvectorVersion: "0.8.0", Embedder: "builtin",
			EmbeddingModel: "builtin-fh-v1@384", Dimensions: 384, Memories: 2, Sessions: 1, UptimeSeconds: 3725, Namespace: "default"},
		"/api/v1/search":      api.SearchResponse{Results: mems},
		"/api/v1/sessions":    api.SessionsResponse{Sessions: []api.Session{sess}},
		"/api/v1/sessions/s1": client.SessionDetail{Session: sess, Items: mems},
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		v, ok := routes[r.URL.Path]
		if !ok || r.Method != http.MethodGet {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(v)
	}))
	t.Cleanup(srv.Close)
	return srv
}

// normalize replaces what changes from run to run: the daemon's address,
// temporary directories and measured durations.
func normalize(s string, repl ...string) string {
	s = strings.NewReplacer(repl...).Replace(s)
	return regexp.MustCompile(`\d+\.\d+ ?(ms|µs)`).ReplaceAllString(s, "<dur>")
}

// inUTC prints local times in UTC for the test (sage_manage shows local
// times; the golden files are in UTC).
func inUTC(t *testing.T) {
	t.Helper()
	old := time.Local
	time.Local = time.UTC
	t.Cleanup(func() { time.Local = old })
}

func TestManageGolden(t *testing.T) {
	inUTC(t)
	srv := goldenDaemon(t)
	cache := manageSetEnv(t, srv.URL+"/mcp", "golden-token")
	tests := []struct {
		name string
		args []string
		code int
	}{
		{"status", []string{"status"}, 0},
		{"search", []string{"search", "outbox"}, 0},
		{"sessions", []string{"sessions"}, 0},
		{"show", []string{"show", "s1"}, 0},
		{"status_json", []string{"status", "--json"}, 0},
		{"search_json", []string{"search", "outbox", "--json"}, 0},
		{"sessions_json", []string{"sessions", "--json"}, 0},
		{"show_json", []string{"show", "s1", "--json"}, 0},
		{"search_usage_error", []string{"search", "x", "--limit", "0"}, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := manageRun(t, "", tt.args...)
			if r.code != tt.code {
				t.Fatalf("exit %d, want %d\nstdout: %s\nstderr: %s", r.code, tt.code, r.stdout, r.stderr)
			}
			got := normalize("$ sage_manage "+strings.Join(tt.args, " ")+"\n"+r.stdout+"--- stderr\n"+r.stderr,
				srv.URL, "http://DAEMON", cache, "CACHE")
			golden.Assert(t, "manage_"+tt.name, got)
		})
	}
}

func TestDoctorGolden(t *testing.T) {
	down := "http://127.0.0.1:1/mcp" // nothing listens on port 1
	// notMCP answers with a page, not JSON-RPC; doctor quotes its first
	// line, cut without splitting the character at the cut.
	notMCP := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		io.WriteString(w, strings.Repeat("x", 196)+"世界 and more\n<html>")
	}))
	t.Cleanup(notMCP.Close)
	tests := []struct {
		name string
		env  map[string]string
		code int
	}{
		{"down", map[string]string{"SAGE_URL": down, "SAGE_TOKEN": "golden-token"}, 1},
		{"bad_url", map[string]string{"SAGE_URL": "ftp://x", "SAGE_TOKEN": "golden-token"}, 1},
		{"not_mcp", map[string]string{"SAGE_URL": notMCP.URL + "/mcp", "SAGE_TOKEN": "golden-token"}, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			t.Setenv("SAGE_CONFIG", filepath.Join(dir, "none.json"))
			t.Setenv("SAGE_TOKEN_FILE", "")
			t.Setenv("SAGE_CACHE_DIR", dir)
			for k, v := range tt.env {
				t.Setenv(k, v)
			}
			var out, errb strings.Builder
			code := runDoctor(t.Context(), nil, strings.NewReader(""), &out, &errb)
			if code != tt.code {
				t.Fatalf("exit %d, want %d\n%s%s", code, tt.code, out.String(), errb.String())
			}
			golden.Assert(t, "doctor_"+tt.name, normalize(out.String()+"--- stderr\n"+errb.String(),
				proxy.DefaultCacheFile(), "CACHEFILE", dir, "TMP", notMCP.URL, "http://NOTMCP", strings.TrimPrefix(notMCP.URL, "http://"), "NOTMCP"))
		})
	}
}

// TestManageHelpGolden pins every subcommand's help (its usage line, text
// and flags), and the token command's action errors.
func TestManageHelpGolden(t *testing.T) {
	manageSetEnv(t, "http://127.0.0.1:1/mcp", "golden-token")
	runs := [][]string{{"help"}, {"token"}, {"token", "mint"}}
	for _, name := range slices.Sorted(maps.Keys(manageCommands)) {
		runs = append(runs, []string{name, "-h"})
	}
	runs = append(runs, []string{"token", "issue", "-h"}, []string{"token", "list", "-h"}, []string{"token", "revoke", "-h"})
	var got strings.Builder
	for _, args := range runs {
		r := manageRun(t, "", args...)
		fmt.Fprintf(&got, "$ sage_manage %s\n--- exit %d\n%s--- stderr\n%s\n", strings.Join(args, " "), r.code, r.stdout, r.stderr)
	}
	golden.Assert(t, "manage_help", got.String())
}
