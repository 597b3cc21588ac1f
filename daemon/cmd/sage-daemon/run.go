package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"

	"github.com/sage-mcp/sage/daemon/backend"
	"github.com/sage-mcp/sage/daemon/config"
	"github.com/sage-mcp/sage/daemon/postgres"
)

// command is a subcommand.
type command struct {
	name, usage string
	run         func(ctx context.Context, e *env, args []string) int
}

// env is what every subcommand gets.
type env struct {
	stdout, stderr io.Writer
	getenv         func(string) string
}

func commands() []command {
	return []command{
		{"serve", "serve MCP and REST (the default; its flags are below)", runServe},
		{"healthcheck", "exit 0 when the daemon at SAGE_LISTEN is ready (--live: alive), else 1", runHealthcheck},
		{"token", "manage access keys: token issue|list|revoke|show (show prints SAGE_DATA_DIR/token)", runToken},
		{"migrate", "apply the database migrations and exit", runMigrate},
		{"reindex", "re-embed memories whose vectors are missing or from another model", runReindex},
		{"version", "print the version", runVersion},
	}
}

// Run runs sage-daemon with args (without the program name) and returns
// the exit code.
func Run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	return run(ctx, &env{stdout: stdout, stderr: stderr, getenv: os.Getenv}, args)
}

// isHelp reports whether arg asks for the usage.
func isHelp(arg string) bool {
	switch arg {
	case "help", "-h", "-help", "--help":
		return true
	}
	return false
}

func run(ctx context.Context, e *env, args []string) int {
	if len(args) > 0 && isHelp(args[0]) {
		usage(e.stdout)
		return 0
	}
	name := "serve"
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		name, args = args[0], args[1:]
	}
	for _, c := range commands() {
		if c.name == name {
			return c.run(ctx, e, args)
		}
	}
	fmt.Fprintf(e.stderr, "sage-daemon: unknown command %q\n", name)
	usage(e.stderr)
	return 2
}

// usage prints every command with a line each, then serve's flags.
func usage(w io.Writer) {
	fmt.Fprintln(w, "usage: sage-daemon [command] [flags]")
	fmt.Fprintln(w, "\ncommands:")
	for _, c := range commands() {
		fmt.Fprintf(w, "  %-12s %s\n", c.name, c.usage)
	}
	fmt.Fprintf(w, "  %-12s %s\n", "help", "print this help (also -h, --help)")
	fmt.Fprintln(w, "\nEvery setting is a flag or an environment variable (flags win over the environment).")
	fmt.Fprintln(w, "\nflags of serve (and of the commands that reach the database):")
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	_, _, _ = config.Load(fs, nil, func(string) string { return "" })
	fs.SetOutput(w)
	fs.PrintDefaults()
}

// loadConfig parses the config flags of a subcommand (plus the extra ones
// its caller defined on fs) and, when validate is set, validates it.
func loadConfig(e *env, fs *flag.FlagSet, args []string, validate bool) (config.Config, []string, error) {
	fs.SetOutput(e.stderr)
	cfg, rest, err := config.Load(fs, args, e.getenv)
	if err != nil {
		return cfg, nil, err
	}
	if validate {
		if err := cfg.Validate(); err != nil {
			return cfg, nil, fmt.Errorf("invalid configuration:\n%w", err)
		}
	}
	return cfg, rest, nil
}

// openDatabase loads the validated configuration like loadConfig and opens
// (and migrates) its database; it returns the arguments left after the
// flags.
func openDatabase(ctx context.Context, e *env, fs *flag.FlagSet, args []string) (*postgres.DB, []string, error) {
	cfg, rest, err := loadConfig(e, fs, args, true)
	if err != nil {
		return nil, nil, err
	}
	db, err := backend.Open(ctx, cfg, newLogger(cfg, e.stderr))
	if err != nil {
		return nil, nil, err
	}
	return db, rest, nil
}

// newLogger returns the slog logger to stderr that cfg asks for.
func newLogger(cfg config.Config, w io.Writer) *slog.Logger {
	level, err := cfg.Level()
	if err != nil {
		level = slog.LevelInfo
	}
	opts := &slog.HandlerOptions{Level: level}
	if cfg.LogFormat == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

// fail prints err and returns exit code 1 (2 for usage errors).
func fail(e *env, err error) int {
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	fmt.Fprintf(e.stderr, "sage-daemon: %v\n", err)
	return 1
}

// quieter returns log with records below min dropped, unless log is at
// debug level: the MCP SDK logs every stateless request at info.
func quieter(log *slog.Logger, min slog.Level) *slog.Logger {
	if log.Enabled(context.Background(), slog.LevelDebug) {
		return log
	}
	return slog.New(floorHandler{log.Handler(), min})
}

type floorHandler struct {
	slog.Handler
	min slog.Level
}

func (h floorHandler) Enabled(ctx context.Context, l slog.Level) bool {
	return l >= h.min && h.Handler.Enabled(ctx, l)
}

func (h floorHandler) WithAttrs(a []slog.Attr) slog.Handler {
	return floorHandler{h.Handler.WithAttrs(a), h.min}
}

func (h floorHandler) WithGroup(n string) slog.Handler {
	return floorHandler{h.Handler.WithGroup(n), h.min}
}
