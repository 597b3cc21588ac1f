package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"
	"time"

	"github.com/sage-mcp/sage/bridge/client"
	"github.com/sage-mcp/sage/bridge/hook"
	"github.com/sage-mcp/sage/bridge/outbox"
	"github.com/sage-mcp/sage/shared/claudehooks"
	"github.com/sage-mcp/sage/shared/config"
)

// hookLogMax is the size at which the hook log is rotated (one old file kept).
const hookLogMax = 1 << 20

// runHook runs `sage-bridge hook <event>` for Claude Code. It always returns
// 0: a hook must never break Claude Code. Its output goes to stdout only
// when the hook succeeded; problems go to stderr (one short line) and to
// the hook log (<cache dir>/hook.log).
func runHook(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) (code int) {
	if len(args) != 1 || strings.HasPrefix(args[0], "-") {
		fmt.Fprintf(stderr, "usage: sage-bridge hook <event>\n  events: %s\n  (run by Claude Code with the event's JSON on stdin)\n", strings.Join(claudehooks.Events, ", "))
		return 0
	}
	event := args[0]
	getenv := os.Getenv
	cache, err := hook.CacheDir(getenv)
	if err != nil {
		fmt.Fprintf(stderr, "sage hook %s: %v\n", event, err)
		return 0
	}
	logger, closeLog := openHookLog(cache)
	defer closeLog()

	// Settings first: they give the budget the watchdog enforces.
	r, err := newHookRunner(cache, logger, getenv)
	if err != nil {
		logger.Error("hook setup", "event", event, "err", err)
		fmt.Fprintf(stderr, "sage hook %s: %v\n", event, err)
		return 0
	}
	budget := r.Budget(event)

	var out bytes.Buffer
	done := make(chan error, 1)
	start := time.Now()
	go func() {
		defer func() {
			if p := recover(); p != nil {
				logger.Error("hook panic", "event", event, "panic", fmt.Sprint(p), "stack", string(debug.Stack()))
				done <- fmt.Errorf("internal error: %v", p)
			}
		}()
		in, err := hook.ParseInput(stdin)
		if err != nil {
			done <- err
			return
		}
		done <- r.Run(ctx, event, in, &out)
	}()
	// The watchdog: whatever blocks (a stuck stdin, a lock on a network
	// file system), the hook returns shortly after its budget.
	timer := time.NewTimer(budget + 250*time.Millisecond)
	defer timer.Stop()
	select {
	case err = <-done:
	case <-timer.C:
		err = fmt.Errorf("gave up after %v", time.Since(start).Round(time.Millisecond))
	}
	if err != nil {
		logger.Warn("hook failed", "event", event, "elapsed", time.Since(start), "err", err)
		fmt.Fprintf(stderr, "sage hook %s: %s\n", event, shorten(err.Error(), 300))
		return 0
	}
	logger.Debug("hook done", "event", event, "elapsed", time.Since(start), "output", out.Len())
	_, _ = stdout.Write(out.Bytes())
	return 0
}

// newHookRunner loads the client config and builds the runner.
func newHookRunner(cache string, logger *slog.Logger, getenv func(string) string) (*hook.Runner, error) {
	path, err := config.PathFrom(getenv)
	if err != nil {
		return nil, err
	}
	file, err := config.LoadOptional(path)
	if err != nil {
		return nil, err
	}
	cfg, err := config.Resolve(config.Flags{}, getenv, file)
	if err != nil {
		return nil, err
	}
	opts, err := hook.ResolveOptions(cfg, file, getenv)
	if err != nil {
		return nil, err
	}
	opts.StateDir = filepath.Join(cache, "sessions")
	opts.DownMarker = filepath.Join(cache, "daemon-down")
	obDir := getenv(outbox.EnvDir)
	if obDir == "" {
		obDir = filepath.Join(cache, "outbox")
	}
	ob, err := outbox.Open(obDir, logger)
	if err != nil {
		return nil, err
	}
	c := client.New(cfg.BaseURL(), cfg.Token)
	c.UserAgent = "sage-bridge-hook"
	return &hook.Runner{Client: c, Outbox: ob, Options: opts, Logger: logger}, nil
}

// openHookLog opens <cache>/hook.log for appending, rotating it to
// hook.log.1 past hookLogMax. On failure logging is discarded.
func openHookLog(cache string) (*slog.Logger, func()) {
	if err := os.MkdirAll(cache, 0o700); err != nil {
		return slog.New(slog.DiscardHandler), func() {}
	}
	p := filepath.Join(cache, "hook.log")
	if fi, err := os.Stat(p); err == nil && fi.Size() > hookLogMax {
		_ = os.Rename(p, p+".1")
	}
	f, err := os.OpenFile(p, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return slog.New(slog.DiscardHandler), func() {}
	}
	level := slog.LevelInfo
	if os.Getenv("SAGE_HOOKS_DEBUG") == "1" {
		level = slog.LevelDebug
	}
	h := slog.NewTextHandler(f, &slog.HandlerOptions{Level: level})
	return slog.New(h).With("pid", os.Getpid()), func() { f.Close() }
}

func shorten(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
