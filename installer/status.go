package installer

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

	"github.com/sage-mcp/sage/installer/claude"
	"github.com/sage-mcp/sage/installer/files"
	"github.com/sage-mcp/sage/shared/claudehooks"
	"github.com/sage-mcp/sage/shared/config"
	"github.com/sage-mcp/sage/shared/health"
)

// StatusOptions are what Status needs besides Options.
type StatusOptions struct {
	// URLFlag is true when --url was given: it then wins over the client
	// config's URL (the environment's SAGE_URL is read through getenv).
	URLFlag bool
	// Getenv reads the environment (os.Getenv when nil).
	Getenv func(string) string
}

// statusReport writes status lines and remembers whether one failed.
type statusReport struct {
	w  io.Writer
	ok bool
}

// line writes "ok" or "MISS" for what, with detail.
func (r *statusReport) line(good bool, what, detail string) {
	mark := "ok  "
	if !good {
		mark, r.ok = "MISS", false
	}
	fmt.Fprintf(r.w, "%s %-14s %s\n", mark, what, detail)
}

// skip writes a line for something not wanted.
func (r *statusReport) skip(what, detail string) { fmt.Fprintf(r.w, "skip %-14s %s\n", what, detail) }

// Status writes what is installed where, whether Claude Code sees Sage,
// whether the service runs and whether the daemon answers and accepts the
// token, one line each, to w. It reports whether everything is in place and
// working.
func Status(ctx context.Context, o *Options, so StatusOptions, w io.Writer) bool {
	if so.Getenv == nil {
		so.Getenv = os.Getenv
	}
	r := &statusReport{w: w, ok: true}
	bridge := o.BridgePath()
	r.line(files.Exists(bridge), "sage-bridge", bridge)
	r.line(files.Exists(o.ManagePath()), "sage_manage", o.ManagePath())
	hint := PathHint(o.BinDir, so.Getenv("PATH"), so.Getenv("SHELL"), o.GOOS)
	r.line(hint == "", "PATH", o.BinDir+map[bool]string{true: " is on PATH", false: " is not on PATH"}[hint == ""])

	cfg := statusConfig(r, o, so)
	statusClaude(ctx, r, o)
	statusHooks(r, o)
	statusService(ctx, r, o, bridge)
	if cfg.URL != "" {
		statusDaemon(ctx, r, cfg)
	}
	return r.ok
}

// statusConfig checks the client config and returns it resolved.
func statusConfig(r *statusReport, o *Options, so StatusOptions) config.Config {
	file, err := config.Load(o.ConfigPath)
	if err != nil {
		r.line(false, "config", err.Error())
		return config.Config{}
	}
	flags := config.Flags{}
	if so.URLFlag {
		flags.URL = o.URL
	}
	cfg, err := config.Resolve(flags, so.Getenv, file)
	if err != nil {
		r.line(false, "config", fmt.Sprintf("%s: %v", o.ConfigPath, err))
		return config.Config{}
	}
	r.line(true, "config", fmt.Sprintf("%s (url %s, token: %s)", o.ConfigPath, cfg.URL, cfg.TokenSource))
	return cfg
}

// statusClaude checks the registration with Claude Code: through the
// claude CLI when there is one, else in ~/.claude.json.
func statusClaude(ctx context.Context, r *statusReport, o *Options) {
	cli := ""
	if o.Claude != ClaudeNone {
		cli, _ = claude.FindCLI(o.Claude)
	}
	if cli != "" {
		out, err := claude.CLI{Path: cli}.Run(ctx, "mcp", "get", claude.ServerName)
		detail := firstLines(out, "Status:", "Type:", "Command:", "URL:")
		r.line(err == nil && strings.Contains(out, "Connected"), "claude mcp", "claude mcp get sage: "+detail)
		return
	}
	doc, err := claude.ReadDoc(o.ClaudePaths.ConfigJSON)
	if err != nil {
		r.line(false, "claude mcp", err.Error())
		return
	}
	entry, found, err := claude.Server(doc, claude.ServerName)
	if err != nil || !found {
		r.line(false, "claude mcp", "no mcpServers.sage in "+o.ClaudePaths.ConfigJSON+" (claude CLI not found)")
		return
	}
	r.line(true, "claude mcp", "mcpServers.sage in "+o.ClaudePaths.ConfigJSON+": "+redactJSON(compact(entry)))
}

// statusHooks checks that settings.json has Sage's hook for every event.
func statusHooks(r *statusReport, o *Options) {
	doc, err := claude.ReadDoc(o.ClaudePaths.Settings)
	if err != nil {
		r.line(false, "hooks", err.Error())
		return
	}
	n, err := claude.CountHooks(doc)
	if err != nil {
		r.line(false, "hooks", err.Error())
		return
	}
	var missing []string
	for _, ev := range claudehooks.Events {
		if n[ev] == 0 {
			missing = append(missing, ev)
		}
	}
	if len(missing) == 0 {
		r.line(true, "hooks", fmt.Sprintf("%s in %s", Plural(len(claudehooks.Events), "event", "events"), o.ClaudePaths.Settings))
	} else {
		r.line(false, "hooks", "missing for "+strings.Join(missing, ", ")+" in "+o.ClaudePaths.Settings)
	}
}

// statusService checks the user service: wanted unless install recorded
// --no-service (or status got --no-service).
func statusService(ctx context.Context, r *statusReport, o *Options, bridge string) {
	wanted := !o.NoService
	if m, err := LoadManifest(o); err == nil && files.Exists(o.ManifestPath()) {
		wanted = wanted && m.Service
	}
	switch {
	case files.Exists(bridge):
		out, err := exec.CommandContext(ctx, bridge, "service", "status").CombinedOutput()
		detail := strings.TrimSpace(string(out))
		if err != nil && !wanted {
			r.skip("service", detail+"; not wanted (install --no-service)")
		} else {
			r.line(err == nil, "service", detail)
		}
	case !wanted:
		r.skip("service", "not wanted (install --no-service)")
	default:
		r.line(false, "service", "sage-bridge is not installed")
	}
}

// statusDaemon checks that the daemon is up and accepts the token.
func statusDaemon(ctx context.Context, r *statusReport, cfg config.Config) {
	base := config.BaseURL(cfg.URL)
	hctx, cancel := context.WithTimeout(ctx, TokenCheckTimeout)
	err := health.Check(hctx, http.DefaultClient, base)
	cancel()
	if err != nil {
		r.line(false, "daemon", err.Error())
		return
	}
	r.line(true, "daemon", base+health.Path+" answers 200")
	hctx, cancel = context.WithTimeout(ctx, TokenCheckTimeout)
	state, err := CheckToken(hctx, nil, base, cfg.Token)
	cancel()
	switch state {
	case TokenAccepted:
		r.line(true, "token", "accepted (from "+cfg.TokenSource+")")
	case TokenNotNeeded:
		r.line(true, "token", "none needed: the daemon runs with SAGE_AUTH=off")
	case TokenUnverified:
		r.line(false, "token", err.Error())
	default:
		r.line(false, "token", fmt.Sprintf("%v (token from %s). %s", err, cfg.TokenSource, TokenHelp))
	}
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
