package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sage-mcp/sage/testkit/pgtest"
)

func TestHealthcheckSubcommand(t *testing.T) {
	t.Parallel()
	d := MustStartDaemon(t, "SAGE_DATABASE_URL="+MustDatabase(t), "SAGE_DATA_DIR="+t.TempDir())
	d.MustReady(t)
	out, errOut, code := runCmd(t, []string{"SAGE_LISTEN=" + d.Addr}, "healthcheck")
	if code != 0 || !strings.Contains(out, "ok") {
		t.Fatalf("healthcheck on a ready daemon: code %d, %s %s", code, out, errOut)
	}
	if err := d.Stop(t); err != nil {
		t.Fatalf("SIGTERM exit: %v; log:\n%s", err, d.Log.String())
	}
	if !strings.Contains(d.Log.String(), "draining in-flight requests") {
		t.Fatalf("no drain on SIGTERM; log:\n%s", d.Log.String())
	}
	_, errOut, code = runCmd(t, []string{"SAGE_LISTEN=" + d.Addr}, "healthcheck")
	if code != 1 || !strings.Contains(errOut, "unhealthy") {
		t.Fatalf("healthcheck on a stopped daemon: code %d, %s", code, errOut)
	}
}

func TestGeneratedTokenFile(t *testing.T) {
	t.Parallel()
	dataDir := filepath.Join(t.TempDir(), "data")
	dbURL := MustDatabase(t)
	d := MustStartDaemon(t, "SAGE_DATABASE_URL="+dbURL, "SAGE_DATA_DIR="+dataDir)
	d.MustReady(t)
	path := filepath.Join(dataDir, "token")
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatalf("token file: %v; log:\n%s", err, d.Log.String())
	}
	if fi.Mode().Perm() != 0o600 {
		t.Fatalf("token file mode %v, want 0600", fi.Mode().Perm())
	}
	b, _ := os.ReadFile(path)
	secret := strings.TrimSpace(string(b))
	if out, _, code := runCmd(t, []string{"SAGE_DATA_DIR=" + dataDir}, "token", "show"); code != 0 || strings.TrimSpace(out) != secret {
		t.Fatalf("token show: code %d", code)
	}
	if got := status(d.URL+"/api/v1/tokens", secret); got != 200 {
		t.Fatalf("generated admin token: GET /api/v1/tokens = %d", got)
	}
	log := d.Log.String()
	if strings.Contains(log, secret) || strings.Contains(log, secret[len(secret)-20:]) {
		t.Fatal("the log contains the token")
	}
	if !strings.Contains(log, path) {
		t.Fatalf("the log does not say where the token is:\n%s", log)
	}
	d.Stop(t)

	// A restart keeps the same key and file.
	d2 := MustStartDaemon(t, "SAGE_DATABASE_URL="+dbURL, "SAGE_DATA_DIR="+dataDir)
	d2.MustReady(t)
	b2, _ := os.ReadFile(path)
	if string(b2) != string(b) {
		t.Fatal("the token file changed on restart")
	}
	if got := status(d2.URL+"/api/v1/status", secret); got != 200 {
		t.Fatalf("after restart: %d", got)
	}
	if strings.Contains(d2.Log.String(), secret) {
		t.Fatal("the log contains the token")
	}
}

func TestConfiguredTokenIdempotent(t *testing.T) {
	t.Parallel()
	dbURL := MustDatabase(t)
	secret := "configured-admin-token-0123456789"
	for i := 0; i < 2; i++ {
		d := MustStartDaemon(t, "SAGE_DATABASE_URL="+dbURL, "SAGE_DATA_DIR="+t.TempDir(), "SAGE_TOKEN="+secret)
		d.MustReady(t)
		if got := status(d.URL+"/api/v1/tokens", secret); got != 200 {
			t.Fatalf("start %d: SAGE_TOKEN: %d", i, got)
		}
		if strings.Contains(d.Log.String(), secret) {
			t.Fatal("the log contains SAGE_TOKEN")
		}
		d.Stop(t)
	}
	out, _, code := runCmd(t, []string{"SAGE_DATABASE_URL=" + dbURL}, "token", "list")
	if code != 0 || strings.Count(out, "SAGE_TOKEN") != 1 {
		t.Fatalf("token list after two starts (want one SAGE_TOKEN key):\n%s", out)
	}
}

func TestStartWithDatabaseDown(t *testing.T) {
	t.Parallel()
	pg := pgtest.StartServer(t)
	pg.Stop()
	secret := "configured-admin-token-0123456789"
	d := MustStartDaemon(t, "SAGE_DATABASE_URL="+pg.URL(), "SAGE_DATA_DIR="+t.TempDir(), "SAGE_TOKEN="+secret)
	if got := status(d.URL+"/readyz", ""); got != 503 {
		t.Fatalf("readyz with the database down = %d, want 503", got)
	}
	if got := status(d.URL+"/api/v1/status", secret); got != 503 {
		t.Fatalf("REST with the database down = %d, want 503", got)
	}
	_, _, code := runCmd(t, []string{"SAGE_LISTEN=" + d.Addr}, "healthcheck")
	if code != 1 {
		t.Fatalf("healthcheck while not ready: %d, want 1", code)
	}
	pg.Start()
	d.MustReady(t)
	if got := status(d.URL+"/api/v1/status", secret); got != 200 {
		t.Fatalf("REST after the database came up = %d; log:\n%s", got, d.Log.String())
	}
}

func TestTokenSubcommands(t *testing.T) {
	t.Parallel()
	env := []string{"SAGE_DATABASE_URL=" + MustDatabase(t)}
	out, errOut, code := runCmd(t, env, "token", "issue", "--name", "ci", "--namespace", "team", "--scope", "admin", "--ttl", "1h")
	if code != 0 {
		t.Fatalf("issue: %d %s", code, errOut)
	}
	secret := strings.TrimSpace(out)
	if !strings.HasPrefix(secret, "sage_") || strings.Contains(errOut, secret) {
		t.Fatalf("issue: stdout %q, stderr %q", out, errOut)
	}
	id := strings.Fields(strings.TrimPrefix(errOut, "issued "))[0]
	out, _, code = runCmd(t, env, "token", "list")
	if code != 0 || !strings.Contains(out, id) || !strings.Contains(out, "team") || !strings.Contains(out, "active") || strings.Contains(out, secret) {
		t.Fatalf("list:\n%s", out)
	}
	if _, errOut, code = runCmd(t, env, "token", "revoke", id); code != 0 {
		t.Fatalf("revoke: %s", errOut)
	}
	out, _, _ = runCmd(t, env, "token", "list")
	if !strings.Contains(out, "revoked") {
		t.Fatalf("list after revoke:\n%s", out)
	}
	if _, _, code = runCmd(t, env, "token", "revoke", "tok_nope"); code != 1 {
		t.Fatalf("revoke unknown: code %d", code)
	}
	if _, _, code = runCmd(t, env, "token", "issue", "--scope", "root"); code != 1 {
		t.Fatalf("issue with a bad scope: code %d", code)
	}
	if _, errOut, code = runCmd(t, env, "migrate"); code != 0 {
		t.Fatalf("migrate: %s", errOut)
	}
	if _, errOut, code = runCmd(t, env, "reindex"); code != 0 || !strings.Contains(errOut, "reindexed") {
		t.Fatalf("reindex: %d %s", code, errOut)
	}
}

func TestRunInProcess(t *testing.T) {
	tests := []struct {
		name   string
		args   []string
		env    map[string]string
		code   int
		stdout string
		stderr string
	}{
		{"version", []string{"version"}, nil, 0, "sage-daemon ", ""},
		{"help", []string{"help"}, nil, 0, "healthcheck", ""},
		{"unknown", []string{"frobnicate"}, nil, 2, "", `unknown command "frobnicate"`},
		{"no database url", []string{"serve"}, nil, 1, "", "SAGE_DATABASE_URL is required"},
		{"bad listen", []string{"serve", "--listen", "nope"}, map[string]string{"SAGE_DATABASE_URL": "postgres://h/db"}, 1, "", "SAGE_LISTEN"},
		{"bad log format", []string{"serve"}, map[string]string{"SAGE_DATABASE_URL": "postgres://h/db", "SAGE_LOG_FORMAT": "xml"}, 1, "", "SAGE_LOG_FORMAT"},
		{"token usage", []string{"token"}, nil, 2, "", "usage"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out, errOut bytes.Buffer
			e := &env{stdout: &out, stderr: &errOut, getenv: func(k string) string { return tt.env[k] }}
			code := run(context.Background(), e, tt.args)
			if code != tt.code || !strings.Contains(out.String(), tt.stdout) || !strings.Contains(errOut.String(), tt.stderr) {
				t.Fatalf("code %d, stdout %q, stderr %q", code, out.String(), errOut.String())
			}
		})
	}
}

func TestVersionLdflags(t *testing.T) {
	t.Parallel()
	out, _, code := runCmd(t, nil, "version")
	if code != 0 || !strings.Contains(out, "test-1.2.3") {
		t.Fatalf("version: %q", out)
	}
}

func TestBadTokenFileIsFatal(t *testing.T) {
	t.Parallel()
	dataDir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dataDir, "token"), []byte("short\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, errOut, code := runCmd(t, []string{"SAGE_DATABASE_URL=" + MustDatabase(t), "SAGE_DATA_DIR=" + dataDir,
		"SAGE_LISTEN=127.0.0.1:0"}, "serve")
	if code != 1 || !strings.Contains(errOut, "admin token") || !strings.Contains(errOut, "at least 16 characters") {
		t.Fatalf("code %d; log:\n%s", code, errOut)
	}
	if strings.Contains(errOut, "short") {
		t.Fatalf("the log contains the token file's content:\n%s", errOut)
	}
}

// TestHelp: every way of asking for help lists every command with its
// description, then serve's flags, and exits 0.
func TestHelp(t *testing.T) {
	tests := []struct {
		name     string
		args     []string
		toStderr bool
	}{
		{"--help", []string{"--help"}, false},
		{"-h", []string{"-h"}, false},
		{"help", []string{"help"}, false},
		{"serve -h", []string{"serve", "-h"}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out, errOut bytes.Buffer
			e := &env{stdout: &out, stderr: &errOut, getenv: func(string) string { return "" }}
			if code := run(context.Background(), e, tt.args); code != 0 {
				t.Fatalf("exit %d, stderr %q", code, errOut.String())
			}
			text := out.String()
			if tt.toStderr {
				text = errOut.String()
			}
			for _, c := range commands() {
				if !strings.Contains(text, "  "+c.name+" ") || !strings.Contains(text, c.usage) {
					t.Errorf("help lacks command %s (%q):\n%s", c.name, c.usage, text)
				}
			}
			flags := strings.Index(text, "-listen")
			if flags < 0 || flags < strings.Index(text, "commands:") || !strings.Contains(text, "SAGE_LISTEN") {
				t.Errorf("help lacks serve's flags after the commands:\n%s", text)
			}
		})
	}
}
