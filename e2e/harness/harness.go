// Package harness runs the real Claude Code CLI end to end for Sage's tests
// and benchmarks: a temporary HOME with Sage installed by the real
// sage-installer (built from this checkout), the real sage-daemon on a
// pgtest database, and a fake Anthropic Messages API (package fakeapi)
// served by the test itself. Nothing leaves the machine: Claude Code's
// telemetry, updater and other non-essential traffic are turned off.
//
// The CLI is the pinned npm package named by SAGE_TEST_CLAUDE (set by
// scripts/test.sh); without it a test is skipped, and fails under CI=true.
package harness

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/sage-mcp/sage/e2e/fakeapi"
	"github.com/sage-mcp/sage/testkit/claudetest"
	"github.com/sage-mcp/sage/testkit/daemontest"
)

// Sage selects how the environment gets Sage.
type Sage int

// The ways an environment gets Sage.
const (
	// Installed: a running daemon and Sage installed by sage-installer.
	Installed Sage = iota
	// None: plain Claude Code, no Sage at all.
	None
	// InstalledNoDaemon: Sage installed against Options.DaemonURL (a
	// daemon that is down or hung), no daemon started.
	InstalledNoDaemon
)

// Options shape an Env.
type Options struct {
	// Responder scripts the model (nil: every reply is "OK.").
	Responder fakeapi.Responder
	// Sage selects the setup (default Installed).
	Sage Sage
	// DaemonURL and Token are the daemon for InstalledNoDaemon.
	DaemonURL, Token string
	// Project is the name of the working directory, a git work tree
	// (default "e2e-demo").
	Project string
	// Env is extra environment for Claude Code (and its hooks and bridge).
	Env []string
}

// Env is one Claude Code user with their own HOME.
type Env struct {
	T testing.TB
	// CLI is the Claude Code binary.
	CLI string
	// API is the fake Messages API.
	API *fakeapi.Server
	// Daemon is the Sage daemon (nil unless Options.Sage is Installed).
	Daemon *daemontest.Daemon
	// Home is $HOME, Work the project directory Claude Code runs in,
	// Cache Sage's cache directory (hook state, outbox, hook.log).
	Home, Work, Cache string
	// Project is the project name Sage derives from Work.
	Project string

	env []string
}

// MustCLI returns the pinned Claude Code CLI (see claudetest.MustCLI).
func MustCLI(t testing.TB) string {
	t.Helper()
	return claudetest.MustCLI(t)
}

// New builds an environment for t; everything it starts stops when t ends.
func New(t testing.TB, o Options) *Env {
	t.Helper()
	cli := MustCLI(t)
	if o.Project == "" {
		o.Project = "e2e-demo"
	}
	root := t.TempDir()
	e := &Env{T: t, CLI: cli, Home: filepath.Join(root, "home"), Project: o.Project}
	e.Work = filepath.Join(root, "work", o.Project)
	e.Cache = filepath.Join(e.Home, ".cache", "sage")
	for _, d := range []string{e.Home, filepath.Join(e.Work, ".git")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	e.API = fakeapi.New(o.Responder)
	t.Cleanup(e.API.Close)
	// A failed test shows what Claude Code sent the model, request by request.
	t.Cleanup(func() {
		if !t.Failed() {
			return
		}
		for _, r := range e.API.MessagesRequests() {
			t.Logf("request %d: prompt %q last user message %.600q", r.Seq, r.Messages.Prompt(), r.Messages.LastUser().Content)
		}
	})
	e.env = []string{
		"HOME=" + e.Home,
		"USER=" + os.Getenv("USER"),
		"PATH=" + os.Getenv("PATH"),
		"TMPDIR=" + os.TempDir(),
		"XDG_CONFIG_HOME=" + filepath.Join(e.Home, ".config"),
		"XDG_CACHE_HOME=" + filepath.Join(e.Home, ".cache"),
		"XDG_DATA_HOME=" + filepath.Join(e.Home, ".local", "share"),
		"SHELL=/bin/bash",
		"LANG=C.UTF-8",
		"ANTHROPIC_BASE_URL=" + e.API.URL,
		"ANTHROPIC_API_KEY=sk-ant-e2e-fake",
		// No network beyond the fake API.
		"DISABLE_TELEMETRY=1",
		"DISABLE_AUTOUPDATER=1",
		"DISABLE_ERROR_REPORTING=1",
		"DISABLE_BUG_COMMAND=1",
		"CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC=1",
		"CLAUDE_CODE_DISABLE_FEEDBACK_SURVEY=1",
		"CLAUDE_CODE_DISABLE_TERMINAL_TITLE=1",
		"CLAUDE_CODE_IDE_SKIP_AUTO_INSTALL=1",
		"DISABLE_COST_WARNINGS=1",
		"NO_COLOR=1",
	}
	e.env = append(e.env, o.Env...)
	switch o.Sage {
	case Installed:
		e.Daemon = daemontest.Start(t)
		e.install(e.Daemon.MCPURL, e.Daemon.Token)
	case InstalledNoDaemon:
		e.install(o.DaemonURL, o.Token)
	}
	return e
}

// Environ returns the environment Claude Code runs with.
func (e *Env) Environ() []string { return append([]string(nil), e.env...) }

// install runs the real sage-installer (stdio mode, no service).
func (e *Env) install(url, token string) {
	e.T.Helper()
	inst := daemontest.MustBuildCommand(e.T, "installer/cmd/sage-installer")
	bridge := daemontest.MustBuildCommand(e.T, "bridge/cmd/sage-bridge")
	cmd := exec.Command(inst, "install", "--mode", "stdio", "--bridge", bridge, "--claude", e.CLI,
		"--no-service", "--url", url, "--token", token)
	cmd.Env = e.env
	cmd.Dir = e.Home
	if out, err := cmd.CombinedOutput(); err != nil {
		e.T.Fatalf("sage-installer install: %v\n%s", err, out)
	}
}

// Command returns `claude args...` ready to run in Work with the
// environment's variables.
func (e *Env) Command(ctx context.Context, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, e.CLI, args...)
	cmd.Dir = e.Work
	cmd.Env = e.env
	cmd.WaitDelay = 5 * time.Second
	return cmd
}

// PrintResult is the outcome of one `claude -p` run.
type PrintResult struct {
	SessionID string `json:"session_id"`
	Result    string `json:"result"`
	IsError   bool   `json:"is_error"`
	Subtype   string `json:"subtype"`
	// Elapsed is the process's wall time.
	Elapsed time.Duration `json:"-"`
	// FirstRequest is the time from the process's start to the fake API's
	// first Messages request that carries this run's prompt: Claude Code's
	// start-up, with the SessionStart and UserPromptSubmit hooks and the
	// MCP servers' connection. Zero when the run sent none.
	FirstRequest time.Duration `json:"-"`
}

// Print runs `claude -p prompt --output-format json` plus args and
// returns its result; it fails t when claude fails.
func (e *Env) Print(prompt string, args ...string) PrintResult {
	e.T.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	full := append([]string{"-p", prompt, "--output-format", "json"}, args...)
	cmd := e.Command(ctx, full...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	start := time.Now()
	out, err := cmd.Output()
	elapsed := time.Since(start)
	if err != nil {
		e.T.Fatalf("claude %s: %v\nstdout: %s\nstderr: %s%s", strings.Join(full, " "), err, out, stderr.String(), e.hookLog())
	}
	var r PrintResult
	if err := json.Unmarshal(lastLine(out), &r); err != nil {
		e.T.Fatalf("claude -p output: %v\n%s", err, out)
	}
	r.Elapsed = elapsed
	for _, req := range e.API.MessagesRequests() {
		if req.At.After(start) && req.Messages.Prompt() == prompt {
			r.FirstRequest = req.At.Sub(start)
			break
		}
	}
	if r.IsError {
		e.T.Fatalf("claude -p %q: error result %q (%s)%s", prompt, r.Result, r.Subtype, e.hookLog())
	}
	return r
}

func lastLine(b []byte) []byte {
	s := strings.TrimSpace(string(b))
	if i := strings.LastIndexByte(s, '\n'); i >= 0 {
		s = s[i+1:]
	}
	return []byte(s)
}

// hookLog returns Sage's hook log, for failure messages.
func (e *Env) hookLog() string {
	b, err := os.ReadFile(filepath.Join(e.Cache, "hook.log"))
	if err != nil {
		return ""
	}
	return "\nhook.log:\n" + string(b)
}

// HookLog returns what Sage's hooks logged so far.
func (e *Env) HookLog() string { return e.hookLog() }

// Turn is one conversation turn stored by the daemon.
type Turn struct {
	SessionID, Project string
	Prompt, Response   string
}

func (t Turn) String() string { return fmt.Sprintf("%q → %q", t.Prompt, t.Response) }

// Turns reads the turns the daemon stored, in the order they were stored.
func (e *Env) Turns() []Turn {
	e.T.Helper()
	if e.Daemon == nil {
		e.T.Fatal("harness: no daemon in this environment")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, e.Daemon.DatabaseURL)
	if err != nil {
		e.T.Fatalf("harness: connect: %v", err)
	}
	defer conn.Close(ctx)
	rows, err := conn.Query(ctx, `SELECT session_id, project, text FROM memories WHERE kind = 'turn' ORDER BY id`)
	if err != nil {
		e.T.Fatalf("harness: query turns: %v", err)
	}
	var out []Turn
	for rows.Next() {
		var t Turn
		var text string
		if err := rows.Scan(&t.SessionID, &t.Project, &text); err != nil {
			e.T.Fatalf("harness: scan: %v", err)
		}
		t.Prompt, t.Response = splitTurn(text)
		out = append(out, t)
	}
	if err := rows.Err(); err != nil {
		e.T.Fatalf("harness: read turns: %v", err)
	}
	return out
}

// splitTurn splits a stored turn text "User: p\n\nAssistant: r".
func splitTurn(text string) (prompt, response string) {
	text = strings.TrimPrefix(text, "User: ")
	if i := strings.Index(text, "\n\nAssistant: "); i >= 0 {
		return text[:i], text[i+len("\n\nAssistant: "):]
	}
	if r, ok := strings.CutPrefix(text, "Assistant: "); ok {
		return "", r
	}
	return text, ""
}

// WaitTurns waits until the daemon holds at least n turns (or timeout
// passes) and returns them. The hooks save at Stop, which Claude Code may
// run after a result is printed.
func (e *Env) WaitTurns(n int, timeout time.Duration) []Turn {
	e.T.Helper()
	deadline := time.Now().Add(timeout)
	for {
		turns := e.Turns()
		if len(turns) >= n || time.Now().After(deadline) {
			return turns
		}
		time.Sleep(100 * time.Millisecond) // polling the database
	}
}
