package hook

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"runtime/debug"
	"time"

	"github.com/sage-mcp/sage/bridge/client"
	"github.com/sage-mcp/sage/bridge/outbox"
	"github.com/sage-mcp/sage/shared/config"
	"github.com/sage-mcp/sage/shared/textcut"
)

// One hook process (`sage-bridge hook <event>`, a fresh process per event):
// the log, the runner built from the client config, and the watchdog.

const (
	// LogMax is the size at which the hook log is rotated (one old file,
	// hook.log.1, is kept).
	LogMax = 1 << 20
	// EnvDebug set to 1 logs every hook run, not only failures.
	EnvDebug = "SAGE_HOOKS_DEBUG"
	// watchdogGrace is how long past its budget a run may take before the
	// watchdog gives up on it.
	watchdogGrace = 250 * time.Millisecond
	// maxErrorLine bounds the error line written to stderr, in runes.
	maxErrorLine = 300
)

// Main runs one hook process for Claude Code: event's payload is read from
// stdin, the output goes to stdout only when the run succeeded, and a
// failure becomes one short line on stderr and an entry in
// <cache>/hook.log. It never fails: a hook must not break Claude Code.
func Main(ctx context.Context, event string, stdin io.Reader, stdout, stderr io.Writer, getenv func(string) string) {
	cache, err := config.CacheDir(getenv)
	if err != nil {
		fmt.Fprintln(stderr, errorLine(event, err))
		return
	}
	logger, closeLog := OpenLog(cache, getenv(EnvDebug) == "1")
	defer closeLog()

	// Settings first: they give the budget the watchdog enforces.
	r, err := NewProcessRunner(cache, logger, getenv)
	if err != nil {
		logger.Error("hook setup", "event", event, "err", err)
		fmt.Fprintln(stderr, errorLine(event, err))
		return
	}
	var out bytes.Buffer
	start := time.Now()
	if err := r.RunWatched(ctx, event, stdin, &out); err != nil {
		logger.Warn("hook failed", "event", event, "elapsed", time.Since(start), "err", err)
		fmt.Fprintln(stderr, errorLine(event, err))
		return
	}
	logger.Debug("hook done", "event", event, "elapsed", time.Since(start), "output", out.Len())
	_, _ = stdout.Write(out.Bytes())
}

// errorLine is the one line a failed run writes to stderr, cut to
// maxErrorLine runes.
func errorLine(event string, err error) string {
	return fmt.Sprintf("sage hook %s: %s", event, textcut.Runes(err.Error(), maxErrorLine, textcut.Ellipsis))
}

// RunWatched parses the payload from stdin and runs event within the
// run's budget. The watchdog returns shortly after the budget even when
// something blocks outside the context (a stuck stdin, a lock on a network
// file system); a panic is recovered, logged and returned as an error.
func (r *Runner) RunWatched(ctx context.Context, event string, stdin io.Reader, stdout io.Writer) error {
	budget := r.Budget(event)
	done := make(chan error, 1)
	start := time.Now()
	go func() {
		defer func() {
			if p := recover(); p != nil {
				r.log().Error("hook panic", "event", event, "panic", fmt.Sprint(p), "stack", string(debug.Stack()))
				done <- fmt.Errorf("internal error: %v", p)
			}
		}()
		in, err := ParseInput(stdin)
		if err != nil {
			done <- err
			return
		}
		done <- r.Run(ctx, event, in, stdout)
	}()
	timer := time.NewTimer(budget + watchdogGrace)
	defer timer.Stop()
	select {
	case err := <-done:
		return err
	case <-timer.C:
		return fmt.Errorf("gave up after %v", time.Since(start).Round(time.Millisecond))
	}
}

// NewProcessRunner builds the runner of a hook process: the client config
// (file, then environment), the hook options, the outbox under cache (or
// $SAGE_OUTBOX_DIR) and the REST client.
func NewProcessRunner(cache string, logger *slog.Logger, getenv func(string) string) (*Runner, error) {
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
	opts, err := ResolveOptions(cfg, getenv)
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
	return &Runner{Client: c, Outbox: ob, Options: opts, Logger: logger}, nil
}

// OpenLog opens <cache>/hook.log for appending, first rotating it to
// hook.log.1 when it is over LogMax; debug logs every run. On failure
// logging is discarded. The returned func closes the file.
func OpenLog(cache string, debug bool) (*slog.Logger, func()) {
	if err := os.MkdirAll(cache, 0o700); err != nil {
		return slog.New(slog.DiscardHandler), func() {}
	}
	p := filepath.Join(cache, "hook.log")
	if fi, err := os.Stat(p); err == nil && fi.Size() > LogMax {
		_ = os.Rename(p, p+".1")
	}
	f, err := os.OpenFile(p, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return slog.New(slog.DiscardHandler), func() {}
	}
	level := slog.LevelInfo
	if debug {
		level = slog.LevelDebug
	}
	h := slog.NewTextHandler(f, &slog.HandlerOptions{Level: level})
	return slog.New(h).With("pid", os.Getpid()), func() { f.Close() }
}
