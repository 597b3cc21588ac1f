package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	ksvc "github.com/kardianos/service"
	"github.com/sage-mcp/sage/bridge/client"
	"github.com/sage-mcp/sage/bridge/outbox"
	"github.com/sage-mcp/sage/bridge/service"
	"github.com/sage-mcp/sage/shared/config"
)

const serviceUsage = `Usage: sage-bridge service <action> [flags]

Actions:
  run        run in the foreground (what the service manager starts)
  install    install the user service (systemd --user, launchd LaunchAgent,
             Windows service: needs an elevated prompt)
  uninstall  remove it
  start      start it
  stop       stop it
  restart    restart it
  status     print whether it is installed and running

Flags (run, install):
`

// serviceConfig is the typed configuration of "sage-bridge service".
type serviceConfig struct {
	Action     string
	ComposeDir string
	Interval   time.Duration
}

// Validate checks the configuration.
func (c serviceConfig) Validate() error {
	known := false
	for _, a := range service.Actions {
		known = known || a == c.Action
	}
	if !known {
		return fmt.Errorf("unknown action %q (want one of %s)", c.Action, strings.Join(service.Actions, ", "))
	}
	if c.Interval < service.MinInterval {
		return fmt.Errorf("--interval %s is below the minimum %s", c.Interval, service.MinInterval)
	}
	if c.ComposeDir != "" && !filepath.IsAbs(c.ComposeDir) {
		return fmt.Errorf("--compose-dir must be an absolute path, got %q", c.ComposeDir)
	}
	return nil
}

// runService is "sage-bridge service <action>".
func runService(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		fmt.Fprint(stderr, serviceUsage)
		fs := serviceFlags(&serviceConfig{}, stderr)
		fs.PrintDefaults()
		if len(args) == 0 {
			return 2
		}
		return 0
	}
	c := serviceConfig{Action: args[0], Interval: service.DefaultInterval}
	fs := serviceFlags(&c, stderr)
	if err := fs.Parse(args[1:]); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "sage-bridge service: unexpected argument %q\n", fs.Arg(0))
		return 2
	}
	if err := c.Validate(); err != nil {
		fmt.Fprintf(stderr, "sage-bridge service: %v\n", err)
		return 2
	}

	exe, err := os.Executable()
	if err == nil {
		exe, err = filepath.EvalSymlinks(exe)
	}
	if err != nil {
		fmt.Fprintf(stderr, "sage-bridge service: find own executable: %v\n", err)
		return 1
	}
	runArgs := []string{"service", "run"}
	if c.ComposeDir != "" {
		runArgs = append(runArgs, "--compose-dir", c.ComposeDir)
	}
	if c.Interval != service.DefaultInterval {
		runArgs = append(runArgs, "--interval", c.Interval.String())
	}

	logger := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	var runner *service.Runner
	if c.Action == "run" {
		runner, err = serviceRunner(c, logger)
		if err != nil {
			fmt.Fprintf(stderr, "sage-bridge service: %v\n", err)
			return 1
		}
	}
	prog := &service.Program{Runner: runner}
	s, err := service.New(prog, exe, runArgs)
	if err != nil {
		fmt.Fprintf(stderr, "sage-bridge service: %v\n", err)
		return 1
	}

	switch c.Action {
	case "run":
		if ksvc.Interactive() {
			logger.Info("sage-bridge service running in the foreground")
			if err := runner.Run(ctx); err != nil {
				fmt.Fprintf(stderr, "sage-bridge service: %v\n", err)
				return 1
			}
			return 0
		}
		if err := s.Run(); err != nil {
			fmt.Fprintf(stderr, "sage-bridge service: %v\n", err)
			return 1
		}
		return 0
	case "status":
		st, err := service.Status(s)
		if err != nil {
			fmt.Fprintf(stderr, "sage-bridge service: %v\n", err)
			return 1
		}
		fmt.Fprintf(stdout, "%s (%s)\n", st, s.Platform())
		if st != service.StateRunning {
			return 3
		}
		return 0
	}
	msg, err := service.Control(s, c.Action)
	if err != nil {
		if fix := serviceFix(s.Platform()); fix != "" {
			fmt.Fprintf(stderr, "sage-bridge service: %s\n  cause: %v\n", fix, err)
			return 1
		}
		fmt.Fprintf(stderr, "sage-bridge service: %v\n", err)
		return 1
	}
	fmt.Fprintf(stdout, "sage-bridge service: %s (%s)\n", msg, s.Platform())
	return 0
}

// serviceFix is what to do when the service manager of platform (as
// kardianos names it) cannot hold a user service: on Unix, anything but
// systemd and launchd.
func serviceFix(platform string) string {
	switch {
	case platform == "linux-systemd", strings.HasPrefix(platform, "darwin"), strings.HasPrefix(platform, "windows"):
		return ""
	case strings.HasPrefix(platform, "linux-"), strings.HasPrefix(platform, "unix-"):
		return "no systemd user manager here (service system " + platform + "): skip the service " +
			"(sage-installer install --no-service), or run `sage-bridge service run` yourself"
	}
	return ""
}

// serviceFlags defines the flags of "sage-bridge service <action>" on c;
// usage and errors go to out.
func serviceFlags(c *serviceConfig, out io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("sage-bridge service "+c.Action, flag.ContinueOnError)
	fs.SetOutput(out)
	fs.StringVar(&c.ComposeDir, "compose-dir", os.Getenv("SAGE_COMPOSE_DIR"), "run \"docker compose up -d\" in `DIR` at start (env SAGE_COMPOSE_DIR; default: compose_dir of the config file)")
	fs.DurationVar(&c.Interval, "interval", service.DefaultInterval, "time between two outbox drains and health checks")
	return fs
}

// serviceRunner builds the runner from the client config.
func serviceRunner(c serviceConfig, logger *slog.Logger) (*service.Runner, error) {
	path, err := config.Path()
	if err != nil {
		return nil, err
	}
	file, err := config.LoadOptional(path)
	if err != nil {
		return nil, err
	}
	cfg, err := config.Resolve(config.Flags{}, os.Getenv, file)
	if err != nil {
		return nil, err
	}
	composeDir := c.ComposeDir
	if composeDir == "" {
		composeDir, err = configComposeDir(path)
		if err != nil {
			return nil, err
		}
	}
	return &service.Runner{
		BaseURL:    cfg.BaseURL(),
		Drain:      drainer(client.New(cfg.BaseURL(), cfg.Token), logger),
		ComposeDir: composeDir,
		Interval:   c.Interval,
		Logger:     logger,
	}, nil
}

// drainer returns the runner's Drain: one outbox.Drain through sender,
// bounded by drainTimeout. Another process draining (ErrBusy) is not an
// error: the entries are on their way.
func drainer(sender outbox.Sender, logger *slog.Logger) func(context.Context) (int, error) {
	return func(ctx context.Context) (int, error) {
		ctx, cancel := context.WithTimeout(ctx, drainTimeout)
		defer cancel()
		res, err := outbox.Drain(ctx, sender, logger)
		if errors.Is(err, outbox.ErrBusy) {
			return res.Sent, nil
		}
		return res.Sent, err
	}
}

// drainTimeout bounds one drain round of the service.
const drainTimeout = 2 * time.Minute

// configComposeDir reads the optional "compose_dir" key of the config file,
// which the typed config.File keeps as an unknown field.
func configComposeDir(path string) (string, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("read config: %w", err)
	}
	var v struct {
		ComposeDir string `json:"compose_dir"`
	}
	if err := json.Unmarshal(b, &v); err != nil {
		return "", fmt.Errorf("%s: compose_dir: %w", path, err)
	}
	if v.ComposeDir != "" && !filepath.IsAbs(v.ComposeDir) {
		return "", fmt.Errorf("%s: compose_dir must be an absolute path", path)
	}
	return v.ComposeDir, nil
}
