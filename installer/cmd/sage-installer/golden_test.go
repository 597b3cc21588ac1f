package main

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/sage-mcp/sage/testkit/golden"
)

// TestGoldenOutput pins what the commands print: the plans of install and
// uninstall, status, and the usage. Paths are shown as $HOME and $DIST (the
// stand-in bridge's directory); the daemon is down (port 1).
func TestGoldenOutput(t *testing.T) {
	const down = "http://127.0.0.1:1"
	tests := []struct {
		name  string
		setup [][]string // commands run first
		args  []string
		code  int
	}{
		{name: "usage", args: []string{"help"}},
		{name: "unknown_command", args: []string{"frobnicate"}, code: 2},
		{name: "install_dry_run", args: []string{"install", "--dry-run", "--bridge", "$BRIDGE", "--claude", "none", "--url", down, "--token", "secret_tok_0123", "--compose-dir", "$HOME/compose"}},
		{name: "install", args: []string{"install", "--bridge", "$BRIDGE", "--claude", "none", "--no-service", "--url", down, "--token", "secret_tok_0123"}},
		{name: "install_again",
			setup: [][]string{{"install", "--bridge", "$BRIDGE", "--claude", "none", "--no-service", "--url", down, "--token", "secret_tok_0123"}},
			args:  []string{"install", "--bridge", "$BRIDGE", "--claude", "none", "--no-service", "--url", down}},
		{name: "install_no_token", args: []string{"install", "--bridge", "$BRIDGE", "--claude", "none", "--no-service", "--url", down}, code: 1},
		{name: "uninstall_dry_run",
			setup: [][]string{{"install", "--bridge", "$BRIDGE", "--claude", "none", "--no-service", "--url", down, "--token", "secret_tok_0123"}},
			args:  []string{"uninstall", "--dry-run", "--claude", "none", "--no-service"}},
		{name: "uninstall_nothing_installed", args: []string{"uninstall", "--claude", "none", "--no-service"}},
		{name: "status_installed_daemon_down",
			setup: [][]string{{"install", "--bridge", "$BRIDGE", "--claude", "none", "--no-service", "--url", down, "--token", "secret_tok_0123"}},
			args:  []string{"status", "--claude", "none"}, code: 3},
		{name: "status_nothing_installed", args: []string{"status", "--claude", "none", "--url", down}, code: 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := MustHome(t)
			t.Setenv("PATH", "/usr/bin:/bin")
			dist := filepath.Dir(h.Bridge)
			expand := func(args []string) []string {
				out := make([]string, len(args))
				for i, a := range args {
					out[i] = strings.NewReplacer("$BRIDGE", h.Bridge, "$HOME", h.Dir).Replace(a)
				}
				return out
			}
			for _, s := range tt.setup {
				MustRun(t, expand(s)...)
			}
			stdout, stderr, code := run(t, expand(tt.args)...)
			if code != tt.code {
				t.Errorf("exit %d, want %d", code, tt.code)
			}
			if strings.Contains(stdout+stderr, "secret_tok") {
				t.Error("the token was printed")
			}
			norm := strings.NewReplacer(h.Dir, "$HOME", dist, "$DIST").Replace
			golden.Assert(t, tt.name, "$ sage-installer "+strings.Join(tt.args, " ")+"\n--- stdout\n"+norm(stdout)+"--- stderr\n"+norm(stderr))
		})
	}
}
