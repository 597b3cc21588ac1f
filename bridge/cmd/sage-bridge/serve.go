package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/sage-mcp/sage/bridge/hook"
	"github.com/sage-mcp/sage/bridge/proxy"
	"github.com/sage-mcp/sage/shared/config"
)

// Environment variables of the serve command (besides those of config).
const (
	envLogFile        = "SAGE_LOG_FILE"
	envLogLevel       = "SAGE_LOG_LEVEL"
	envRequestTimeout = "SAGE_REQUEST_TIMEOUT"
	// envProjectDir and envSessionID are what Claude Code sets for the MCP
	// servers it starts: its project directory and its session id.
	envProjectDir = "CLAUDE_PROJECT_DIR"
	envSessionID  = "CLAUDE_CODE_SESSION_ID"
)

// sessionDefaults are the project and session the daemon uses for tool
// calls that name none: the project is derived from Claude Code's project
// directory ($CLAUDE_PROJECT_DIR, else the working directory Claude Code
// starts the bridge in) exactly as the hooks derive it, the session is
// $CLAUDE_CODE_SESSION_ID ("" when unset).
func sessionDefaults(getenv func(string) string, getwd func() (string, error)) (project, session string) {
	dir := getenv(envProjectDir)
	if dir == "" {
		if wd, err := getwd(); err == nil {
			dir = wd
		}
	}
	return hook.ProjectName(dir), strings.TrimSpace(getenv(envSessionID))
}

// serveFlags are the flags serve and doctor share.
type serveFlags struct {
	url, tokenFile string
	timeout        time.Duration
}

func (f *serveFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&f.url, "url", "", "daemon MCP endpoint (default $SAGE_URL, the config file, or "+config.DefaultURL+")")
	fs.StringVar(&f.tokenFile, "token-file", "", "file holding the bearer token (default $SAGE_TOKEN, $SAGE_TOKEN_FILE or the config file)")
	fs.DurationVar(&f.timeout, "request-timeout", 0, "deadline of each request (default $SAGE_REQUEST_TIMEOUT or 60s)")
}

// parseServeFlags parses args as the serve flags of the command name; ok is
// false when they are bad (the flag package said why on stderr).
func parseServeFlags(name string, args []string, stderr io.Writer) (f serveFlags, fs *flag.FlagSet, ok bool) {
	fs = flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	f.register(fs)
	ok = fs.Parse(args) == nil
	return f, fs, ok
}

// resolveConfig loads the config file and resolves flags > env > file >
// defaults. fileErr is a config file that could not be read (the rest
// still resolves without it); err means the result is unusable.
func resolveConfig(f serveFlags) (cfg config.Config, fileErr, err error) {
	path, fileErr := config.Path()
	var file *config.File
	if fileErr == nil {
		file, fileErr = config.LoadOptional(path)
	}
	cfg, err = config.Resolve(config.Flags{URL: f.url, TokenFile: f.tokenFile}, os.Getenv, file)
	cfg.FilePath = path
	return cfg, fileErr, err
}

// requestTimeout picks the flag, then $SAGE_REQUEST_TIMEOUT, then the
// default.
func requestTimeout(f serveFlags) (time.Duration, error) {
	if f.timeout > 0 {
		return f.timeout, nil
	}
	if v := os.Getenv(envRequestTimeout); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 {
			return proxy.DefaultRequestTimeout, fmt.Errorf("%s=%q is not a positive duration like 60s", envRequestTimeout, v)
		}
		return d, nil
	}
	return proxy.DefaultRequestTimeout, nil
}

// serveLogger logs to $SAGE_LOG_FILE (appending) or stderr, at
// $SAGE_LOG_LEVEL (debug, info, warn, error; default info). stdout is the
// protocol channel and never gets logs.
func serveLogger(stderr io.Writer) (*slog.Logger, func()) {
	var level slog.Level
	if err := level.UnmarshalText([]byte(strings.TrimSpace(os.Getenv(envLogLevel)))); err != nil {
		level = slog.LevelInfo
	}
	w, closeFn := stderr, func() {}
	if p := os.Getenv(envLogFile); p != "" {
		f, err := os.OpenFile(p, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
		if err != nil {
			fmt.Fprintf(stderr, "sage-bridge: log file %s: %v; logging to stderr\n", p, err)
		} else {
			w, closeFn = f, func() { f.Close() }
		}
	}
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: level})), closeFn
}

// runServe serves MCP on stdin/stdout, forwarding to the daemon. It only
// fails on bad flags: configuration and daemon problems are reported to
// the client as JSON-RPC errors, because Claude Code never restarts a stdio
// server.
func runServe(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	f, fs, ok := parseServeFlags("sage-bridge serve", args, stderr)
	if !ok {
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "sage-bridge serve: unexpected argument %q\n", fs.Arg(0))
		return 2
	}
	log, closeLog := serveLogger(stderr)
	defer closeLog()

	cfg, fileErr, cfgErr := resolveConfig(f)
	if fileErr != nil {
		log.Error("config file ignored", "err", fileErr)
	}
	timeout, tErr := requestTimeout(f)
	if tErr != nil {
		log.Warn("bad request timeout, using the default", "err", tErr)
	}
	project, session := sessionDefaults(os.Getenv, os.Getwd)
	opts := proxy.Options{
		Project:        project,
		SessionID:      session,
		URL:            cfg.URL,
		Token:          cfg.Token,
		Logger:         log,
		RequestTimeout: timeout,
		CacheFile:      proxy.DefaultCacheFile(),
		Version:        versionString(),
	}
	if cfgErr != nil {
		log.Error("configuration problem; answering requests with it", "err", cfgErr)
		opts.ConfigError = cfgErr
	}
	log.Info("sage-bridge serving", "version", opts.Version, "url", cfg.URL, "url_from", cfg.URLSource, "token_from", cfg.TokenSource,
		"project", project, "session", session)
	if err := proxy.Serve(ctx, stdin, stdout, opts); err != nil {
		log.Error("serve ended", "err", err)
		return 1
	}
	return 0
}
