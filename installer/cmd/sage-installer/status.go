package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"strings"

	"github.com/sage-mcp/sage/installer"
	"github.com/sage-mcp/sage/installer/claude"
	"github.com/sage-mcp/sage/installer/files"
	"github.com/sage-mcp/sage/shared/claudehooks"
	"github.com/sage-mcp/sage/shared/config"
)

// runStatus is "sage-installer status": what is installed where, whether
// Claude Code sees Sage, whether the service runs and the daemon answers.
// The exit code is 0 when everything is in place and working, 3 otherwise.
func runStatus(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	o, err := parseOptions("status", args, stderr)
	if err != nil {
		return exitParse("status", err, stderr)
	}
	ok := true
	line := func(good bool, what, detail string) {
		mark := "ok  "
		if !good {
			mark, ok = "MISS", false
		}
		fmt.Fprintf(stdout, "%s %-14s %s\n", mark, what, detail)
	}
	skip := func(what, detail string) { fmt.Fprintf(stdout, "skip %-14s %s\n", what, detail) }

	// Binaries.
	bridge := o.BridgePath()
	line(files.Exists(bridge), "sage-bridge", bridge)
	line(files.Exists(o.ManagePath()), "sage_manage", o.ManagePath())
	hint := pathHint(o.BinDir, os.Getenv("PATH"), os.Getenv("SHELL"), o.GOOS)
	line(hint == "", "PATH", o.BinDir+map[bool]string{true: " is on PATH", false: " is not on PATH"}[hint == ""])

	// Client config.
	file, err := config.Load(o.ConfigPath)
	var cfg config.Config
	if err != nil {
		line(false, "config", err.Error())
	} else {
		flags := config.Flags{}
		if setFlag(args, "url") {
			flags.URL = o.URL
		}
		cfg, err = config.Resolve(flags, os.Getenv, file)
		if err != nil {
			line(false, "config", fmt.Sprintf("%s: %v", o.ConfigPath, err))
		} else {
			line(true, "config", fmt.Sprintf("%s (url %s, token: %s)", o.ConfigPath, cfg.URL, cfg.TokenSource))
		}
	}

	// Claude Code registration.
	cli := ""
	if o.Claude != installer.ClaudeNone {
		cli, _ = claude.FindCLI(o.Claude)
	}
	if cli != "" {
		out, err := claude.CLI{Path: cli}.Run(ctx, "mcp", "get", claude.ServerName)
		detail := firstLines(out, "Status:", "Type:", "Command:", "URL:")
		line(err == nil && strings.Contains(out, "Connected"), "claude mcp", "claude mcp get sage: "+detail)
	} else if doc, err := claude.ReadDoc(o.ClaudePaths.ConfigJSON); err != nil {
		line(false, "claude mcp", err.Error())
	} else if entry, found, err := claude.Server(doc, claude.ServerName); err != nil || !found {
		line(false, "claude mcp", "no mcpServers.sage in "+o.ClaudePaths.ConfigJSON+" (claude CLI not found)")
	} else {
		line(true, "claude mcp", "mcpServers.sage in "+o.ClaudePaths.ConfigJSON+": "+redactJSON(compact(entry)))
	}

	// Hooks.
	if doc, err := claude.ReadDoc(o.ClaudePaths.Settings); err != nil {
		line(false, "hooks", err.Error())
	} else if n, err := claude.CountHooks(doc); err != nil {
		line(false, "hooks", err.Error())
	} else {
		var missing []string
		for _, ev := range claudehooks.Events {
			if n[ev] == 0 {
				missing = append(missing, ev)
			}
		}
		if len(missing) == 0 {
			line(true, "hooks", fmt.Sprintf("%s in %s", installer.Plural(len(claudehooks.Events), "event", "events"), o.ClaudePaths.Settings))
		} else {
			line(false, "hooks", "missing for "+strings.Join(missing, ", ")+" in "+o.ClaudePaths.Settings)
		}
	}

	// Service: wanted unless install recorded --no-service (or status got
	// --no-service).
	wanted := !o.NoService
	if m, err := loadManifest(o); err == nil && files.Exists(o.ManifestPath()) {
		wanted = wanted && m.Service
	}
	switch {
	case files.Exists(bridge):
		out, err := exec.CommandContext(ctx, bridge, "service", "status").CombinedOutput()
		detail := strings.TrimSpace(string(out))
		if err != nil && !wanted {
			skip("service", detail+"; not wanted (install --no-service)")
		} else {
			line(err == nil, "service", detail)
		}
	case !wanted:
		skip("service", "not wanted (install --no-service)")
	default:
		line(false, "service", "sage-bridge is not installed")
	}

	// Daemon: up, and accepting the token.
	if cfg.URL != "" {
		base := config.BaseURL(cfg.URL)
		hctx, cancel := context.WithTimeout(ctx, tokenCheckTimeout)
		err := health(hctx, base)
		cancel()
		if err != nil {
			line(false, "daemon", err.Error())
		} else {
			line(true, "daemon", base+"/healthz answers 200")
			hctx, cancel := context.WithTimeout(ctx, tokenCheckTimeout)
			state, err := installer.CheckToken(hctx, nil, base, cfg.Token)
			cancel()
			switch state {
			case installer.TokenAccepted:
				line(true, "token", "accepted (from "+cfg.TokenSource+")")
			case installer.TokenNotNeeded:
				line(true, "token", "none needed: the daemon runs with SAGE_AUTH=off")
			case installer.TokenUnverified:
				line(false, "token", err.Error())
			default:
				line(false, "token", fmt.Sprintf("%v (token from %s). %s", err, cfg.TokenSource, installer.TokenHelp))
			}
		}
	}
	if !ok {
		return 3
	}
	return 0
}

func health(ctx context.Context, base string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/healthz", nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("health check: %w", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("health check: %s/healthz answered %s", base, resp.Status)
	}
	return nil
}

// setFlag reports whether -name or --name was given.
func setFlag(args []string, name string) bool {
	for _, a := range args {
		a = strings.TrimLeft(a, "-")
		if a == name || strings.HasPrefix(a, name+"=") {
			return true
		}
	}
	return false
}

// firstLines picks the lines of out that start with one of the prefixes
// (after blanks) and joins them.
func firstLines(out string, prefixes ...string) string {
	var got []string
	for _, l := range strings.Split(out, "\n") {
		l = strings.TrimSpace(l)
		for _, p := range prefixes {
			if strings.HasPrefix(l, p) {
				got = append(got, l)
			}
		}
	}
	if len(got) == 0 {
		return strings.TrimSpace(out)
	}
	return strings.Join(got, "; ")
}

// redactJSON hides a bearer token in a printed entry.
func redactJSON(s string) string {
	if i := strings.Index(s, "Bearer "); i >= 0 {
		j := strings.IndexByte(s[i:], '"')
		if j < 0 {
			return s[:i] + "Bearer ***"
		}
		return s[:i] + "Bearer ***" + s[i+j:]
	}
	return s
}

// compact returns raw JSON on one line.
func compact(raw []byte) string {
	var b bytes.Buffer
	if json.Compact(&b, raw) != nil {
		return string(raw)
	}
	return b.String()
}
