package main

import (
	"bytes"
	"context"
	"encoding/json"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/sage-mcp/sage/testkit/pgtest"
)

// clearEnv unsets the variables sage-bench reads, so a developer's
// settings do not change what a test runs.
func clearEnv(t *testing.T) {
	t.Helper()
	for _, k := range []string{EnvDatabaseURL, EnvDaemonURL, EnvToken} {
		t.Setenv(k, "")
	}
}

// MustReport runs sage-bench with args and -json, and decodes the report.
func MustReport(t *testing.T, args ...string) report {
	t.Helper()
	clearEnv(t)
	var out, errOut bytes.Buffer
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	if code := Run(ctx, append(args, "-json", "-q"), &out, &errOut); code != 0 {
		t.Fatalf("sage-bench %q: exit %d\n%s", args, code, errOut.String())
	}
	var r report
	if err := json.Unmarshal(out.Bytes(), &r); err != nil {
		t.Fatalf("decode report: %v\n%s", err, out.String())
	}
	return r
}

// checkReport checks what every small run must report.
func checkReport(t *testing.T, r report, memories, queries int, levels []int) {
	t.Helper()
	if r.Seed.Memories != memories || r.Seed.Deduplicated != 0 || r.Seed.PerSecond <= 0 || r.Seed.Sessions < 1 {
		t.Errorf("seed: %+v", r.Seed)
	}
	if r.Stored < int64(memories) || r.Daemon.Embedder != "builtin" || r.Daemon.Postgres == "" || r.Daemon.Pgvector == "" {
		t.Errorf("store %d, daemon %+v", r.Stored, r.Daemon)
	}
	if len(r.Queries) != len(levels)+1 {
		t.Fatalf("%d query phases; want %d", len(r.Queries), len(levels)+1)
	}
	for i, q := range r.Queries {
		tool, conc := toolContext, 1
		if i < len(levels) {
			tool, conc = toolSearch, levels[i]
		}
		if q.Tool != tool || q.Concurrency != conc || q.Calls != queries {
			t.Errorf("phase %d: %+v; want %s concurrency %d, %d calls", i, q, tool, conc, queries)
		}
		// Hybrid search always finds some memory in a non-empty store.
		if q.NonEmpty == 0 || q.Latency.P50 <= 0 || q.Latency.P50 > q.Latency.P95 || q.Latency.P95 > q.Latency.P99 || q.Latency.P99 > q.Latency.Max {
			t.Errorf("phase %d: %+v", i, q)
		}
	}
	// VmHWM is not monotonic to the reader (Linux updates the recorded
	// peak lazily), but it is never below VmRSS of the same read.
	ok := func(m *memStatus) bool { return m != nil && m.VmRSSKiB > 0 && m.VmHWMKiB >= m.VmRSSKiB }
	if !ok(r.RSS.AfterSeed) || !ok(r.RSS.AfterQueries) {
		t.Errorf("rss: after seed %+v, after queries %+v", r.RSS.AfterSeed, r.RSS.AfterQueries)
	}
	if len(r.Targets) != 2 {
		t.Errorf("targets: %+v", r.Targets)
	}
}

func benchDatabases(t *testing.T, admin string) map[string]bool {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, admin)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	rows, _ := conn.Query(ctx, "SELECT datname FROM pg_database WHERE datname LIKE 'sage_bench_%'")
	names, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]bool{}
	for _, n := range names {
		out[n] = true
	}
	return out
}

// TestRunStartsDaemon runs the whole benchmark small: build the daemon,
// create a database, seed, query, drop.
func TestRunStartsDaemon(t *testing.T) {
	admin := pgtest.AdminURL(t)
	r := MustReport(t, "-database-url", admin, "-n", "60", "-clients", "3", "-queries", "15", "-warmup", "2", "-search-concurrency", "1,2")
	checkReport(t, r, 60, 15, []int{1, 2})
	if r.Seed.CPU == nil || r.Seed.CPU.Daemon == nil || r.Queries[0].CPU == nil || r.Queries[0].CPU.Daemon == nil {
		t.Errorf("no daemon CPU per call: %+v", r.Seed.CPU)
	}
	if !r.Daemon.Started || r.Stored != 60 {
		t.Errorf("daemon %+v, %d stored; want a fresh one with 60", r.Daemon, r.Stored)
	}
}

// TestRunExistingDaemon benchmarks a daemon that is already running.
func TestRunExistingDaemon(t *testing.T) {
	admin := pgtest.AdminURL(t)
	ctx := context.Background()
	dir := t.TempDir()
	bin, err := buildDaemon(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	db, err := createDatabase(ctx, admin)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := db.drop(context.Background()); err != nil {
			t.Error(err)
		}
	})
	d, err := startDaemon(ctx, bin, dir, db.url, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.stop() })
	for run := 1; run <= 2; run++ { // a second run adds to the store
		r := MustReport(t, "-daemon-url", d.URL, "-token", d.Token, "-daemon-pid", strconv.Itoa(d.PID()),
			"-n", "30", "-clients", "2", "-queries", "10", "-warmup", "0", "-search-concurrency", "1")
		checkReport(t, r, 30, 10, []int{1})
		if r.Daemon.Started || r.Stored != int64(30*run) {
			t.Errorf("run %d: daemon %+v, %d stored; want the running one with %d", run, r.Daemon, r.Stored, 30*run)
		}
	}
	// -no-seed queries what is there.
	r := MustReport(t, "-daemon-url", d.URL, "-token", d.Token, "-no-seed",
		"-n", "30", "-queries", "10", "-warmup", "0", "-search-concurrency", "1")
	if r.Seed.Memories != 0 || r.Stored != 60 || len(r.Queries) != 2 || r.Queries[0].NonEmpty == 0 || len(r.Targets) != 1 || r.RSS.AfterQueries != nil {
		t.Errorf("-no-seed: %+v", r)
	}
	if got := benchDatabases(t, admin); !got[db.name] {
		t.Errorf("database %s is gone while the daemon still uses it", db.name)
	}
}

func TestCreateAndDropDatabase(t *testing.T) {
	admin := pgtest.AdminURL(t)
	ctx := context.Background()
	db, err := createDatabase(ctx, admin)
	if err != nil {
		t.Fatal(err)
	}
	if !benchDatabases(t, admin)[db.name] || !strings.Contains(db.url, "/"+db.name) {
		t.Fatalf("database %s (%s) not created", db.name, pgtest.Redact(db.url))
	}
	if err := db.drop(ctx); err != nil {
		t.Fatal(err)
	}
	if benchDatabases(t, admin)[db.name] {
		t.Errorf("database %s not dropped", db.name)
	}
}

func TestRunFailures(t *testing.T) {
	admin := pgtest.AdminURL(t)
	clearEnv(t)
	for _, tc := range []struct {
		name string
		args []string
		code int
		want string
	}{
		{"help", []string{"-h"}, 0, "usage: sage-bench"},
		{"bad flag", []string{"-n", "0", "-database-url", admin}, 2, "-n must be"},
		{"no database", []string{"-database-url", ""}, 2, "-database-url"},
		{"missing binary", []string{"-database-url", admin, "-daemon-bin", "/nonexistent/sage-daemon", "-n", "1"}, 1, "start daemon"},
		{"unreachable daemon", []string{"-daemon-url", "http://127.0.0.1:1", "-token", "t0ken-t0ken-t0ken", "-n", "1"}, 1, "connect mcp"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var out, errOut bytes.Buffer
			code := Run(context.Background(), tc.args, &out, &errOut)
			if code != tc.code || !strings.Contains(errOut.String(), tc.want) {
				t.Errorf("exit %d, stderr %q; want %d and %q", code, errOut.String(), tc.code, tc.want)
			}
			if strings.Contains(errOut.String(), "t0ken-t0ken-t0ken") {
				t.Errorf("stderr shows the token: %s", errOut.String())
			}
		})
	}
}

// TestRunDropsDatabaseOnFailure: a run that fails after creating its
// database drops it.
func TestRunDropsDatabaseOnFailure(t *testing.T) {
	admin := pgtest.AdminURL(t)
	clearEnv(t)
	var out, errOut bytes.Buffer
	code := Run(context.Background(), []string{"-database-url", admin, "-daemon-bin", "/nonexistent/sage-daemon", "-n", "1"}, &out, &errOut)
	_, rest, ok := strings.Cut(errOut.String(), "starting sage-daemon on database ")
	if code != 1 || !ok {
		t.Fatalf("exit %d; stderr %q", code, errOut.String())
	}
	name, _, _ := strings.Cut(rest, "\n")
	if !strings.HasPrefix(name, "sage_bench_") {
		t.Fatalf("odd database name %q", name)
	}
	if benchDatabases(t, admin)[name] {
		t.Errorf("failed run left database %s behind", name)
	}
}
