package main

import (
	"context"
	"os"
	"strings"
	"testing"

	"github.com/sage-mcp/sage/installer/claude"
	"github.com/sage-mcp/sage/testkit/claudetest"
	"github.com/sage-mcp/sage/testkit/daemontest"
)

// MustBuildBridge builds the real sage-bridge from this checkout, once.
func MustBuildBridge(t *testing.T) string {
	t.Helper()
	return daemontest.MustBuildCommand(t, "bridge/cmd/sage-bridge")
}

// TestClaudeCodeSeesSage installs with the real claude CLI against a real
// daemon and asks Claude Code whether it connects, in both modes.
func TestClaudeCodeSeesSage(t *testing.T) {
	cli := claudetest.MustCLI(t)
	bridge := MustBuildBridge(t)
	d := daemontest.Start(t)
	for _, mode := range []string{"stdio", "http"} {
		t.Run(mode, func(t *testing.T) {
			h := MustHome(t)
			args := []string{"install", "--mode", mode, "--bridge", bridge, "--claude", cli, "--no-service",
				"--url", d.MCPURL, "--token", d.Token}
			MustRun(t, args...)

			c := claude.CLI{Path: cli}
			out, err := c.Run(context.Background(), "mcp", "list")
			if err != nil {
				t.Fatalf("claude mcp list: %v\n%s", err, out)
			}
			line := ""
			for _, l := range strings.Split(out, "\n") {
				if strings.HasPrefix(l, "sage:") {
					line = l
				}
			}
			if !strings.Contains(line, "✔ Connected") {
				t.Fatalf("claude mcp list does not show sage connected:\n%s\ndaemon log:\n%s", out, d.Log())
			}
			if strings.Contains(out, d.Token) {
				t.Error("claude mcp list printed the token")
			}

			MustSageHooks(t, h)

			// A second install leaves Claude Code's registration alone.
			cj := MustRead(t, h.path(".claude.json"))
			if out := MustRun(t, args...); !strings.Contains(out, "nothing to change") {
				t.Errorf("second install:\n%s", out)
			}
			if MustRead(t, h.path(".claude.json")) != cj {
				t.Error("second install rewrote ~/.claude.json")
			}

			status, _, _ := run(t, "status", "--claude", cli)
			if !strings.Contains(status, "ok   claude mcp") || !strings.Contains(status, "ok   daemon") || !strings.Contains(status, "ok   hooks") {
				t.Errorf("status:\n%s", status)
			}

			MustRun(t, "uninstall", "--claude", cli, "--no-service")
			out, err = c.Run(context.Background(), "mcp", "list")
			if err != nil {
				t.Fatalf("claude mcp list after uninstall: %v\n%s", err, out)
			}
			if strings.Contains(out, "sage:") {
				t.Errorf("sage still registered after uninstall:\n%s", out)
			}
			if _, err := os.Stat(h.path(".claude/settings.json")); !os.IsNotExist(err) {
				t.Errorf("settings.json, created by install, left after uninstall (%v):\n%s", err, MustRead(t, h.path(".claude/settings.json")))
			}
		})
	}
}
