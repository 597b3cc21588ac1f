package main

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sage-mcp/sage/testkit/claudetest"
)

// claude runs the CLI with a private HOME in dir, with a timeout.
func claude(t testing.TB, bin, home string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Dir = home
	cmd.Env = append(os.Environ(), "HOME="+home, "XDG_CONFIG_HOME="+home+"/.config",
		"DISABLE_AUTOUPDATER=1", "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC=1", "CI=true")
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		t.Fatalf("claude %s: %v\n%s", strings.Join(args, " "), err, out.String())
	}
	return out.String()
}

// TestClaudeCodeRegistration registers the daemon with the real Claude
// Code CLI: with a bearer header it connects; without one it reports that
// the server needs authentication (OAuth discovery works), not a failure.
func TestClaudeCodeRegistration(t *testing.T) {
	t.Parallel()
	bin := claudetest.MustCLI(t)
	secret := "claude-e2e-admin-token-0123456789"
	d := MustStartDaemon(t, "SAGE_DATABASE_URL="+MustDatabase(t), "SAGE_DATA_DIR="+t.TempDir(), "SAGE_TOKEN="+secret)
	d.MustReady(t)
	home := t.TempDir()

	claude(t, bin, home, "mcp", "add", "--transport", "http", "sage", d.URL+"/mcp", "--header", "Authorization: Bearer "+secret)
	out := claude(t, bin, home, "mcp", "list")
	if line := listLine(out, "sage"); !strings.Contains(line, "✔ Connected") {
		t.Fatalf("with the bearer header, want ✔ Connected:\n%s\ndaemon log:\n%s", out, d.Log.String())
	}
	if n := oauthRequests(t, d.URL); n != 0 {
		t.Fatalf("with the bearer header, Claude Code made %d OAuth requests; want none", n)
	}

	claude(t, bin, home, "mcp", "add", "--transport", "http", "sage-oauth", d.URL+"/mcp")
	out = claude(t, bin, home, "mcp", "list")
	if line := listLine(out, "sage-oauth"); !strings.Contains(strings.ToLower(line), "needs authentication") {
		t.Fatalf("without a header, want Needs authentication:\n%s", out)
	}
	if n := oauthRequests(t, d.URL); n == 0 {
		t.Fatal("without a header, Claude Code did not discover the OAuth metadata")
	}
	if strings.Contains(out, secret) {
		t.Fatal("claude mcp list printed the token")
	}
}

// listLine returns the line of `claude mcp list` for server name.
func listLine(out, name string) string {
	for _, line := range strings.Split(out, "\n") {
		if strings.HasPrefix(line, name+":") {
			return line
		}
	}
	return ""
}

// oauthRequests counts the requests to OAuth metadata and registration
// endpoints so far, from the daemon's metrics (open to loopback).
func oauthRequests(t testing.TB, base string) int {
	t.Helper()
	resp, err := http.Get(base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	n := 0
	for _, line := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(line, "sage_http_requests_total{") &&
			(strings.Contains(line, `route="/.well-known/`) || strings.Contains(line, `route="/register"`)) {
			f := strings.Fields(line)
			v, _ := strconv.ParseFloat(f[len(f)-1], 64)
			n += int(v)
		}
	}
	return n
}
