package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	ksvc "github.com/kardianos/service"
	"github.com/sage-mcp/sage/bridge/service"
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
	c, code, ok := parseService(args, stderr)
	if !ok {
		return code
	}
	exe, err := os.Executable()
	if err == nil {
		exe, err = filepath.EvalSymlinks(exe)
	}
	if err != nil {
		fmt.Fprintf(stderr, "sage-bridge service: find own executable: %v\n", err)
		return 1
	}
	logger := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	var runner *service.Runner
	if c.Action == "run" {
		if runner, err = service.ConfiguredRunner(c.ComposeDir, c.Interval, logger); err != nil {
			fmt.Fprintf(stderr, "sage-bridge service: %v\n", err)
			return 1
		}
	}
	s, err := service.New(&service.Program{Runner: runner}, exe, c.runArgs())
	if err != nil {
		fmt.Fprintf(stderr, "sage-bridge service: %v\n", err)
		return 1
	}
	switch c.Action {
	case "run":
		return serviceRun(ctx, s, runner, logger, stderr)
	case "status":
		return serviceStatus(s, stdout, stderr)
	}
	return serviceControl(s, c.Action, stdout, stderr)
}

// parseService parses and validates the action and its flags; when ok is
// false the command ends with code.
func parseService(args []string, stderr io.Writer) (c serviceConfig, code int, ok bool) {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		fmt.Fprint(stderr, serviceUsage)
		serviceFlags(&serviceConfig{}, stderr).PrintDefaults()
		if len(args) == 0 {
			return c, 2, false
		}
		return c, 0, false
	}
	c = serviceConfig{Action: args[0], Interval: service.DefaultInterval}
	fs := serviceFlags(&c, stderr)
	if err := fs.Parse(args[1:]); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return c, 0, false
		}
		return c, 2, false
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "sage-bridge service: unexpected argument %q\n", fs.Arg(0))
		return c, 2, false
	}
	if err := c.Validate(); err != nil {
		fmt.Fprintf(stderr, "sage-bridge service: %v\n", err)
		return c, 2, false
	}
	return c, 0, true
}

// runArgs are the arguments the service manager starts the bridge with.
func (c serviceConfig) runArgs() []string {
	args := []string{"service", "run"}
	if c.ComposeDir != "" {
		args = append(args, "--compose-dir", c.ComposeDir)
	}
	if c.Interval != service.DefaultInterval {
		args = append(args, "--interval", c.Interval.String())
	}
	return args
}

// serviceRun runs the service: in the foreground from a terminal, else
// under the service manager.
func serviceRun(ctx context.Context, s ksvc.Service, runner *service.Runner, logger *slog.Logger, stderr io.Writer) int {
	var err error
	if ksvc.Interactive() {
		logger.Info("sage-bridge service running in the foreground")
		err = runner.Run(ctx)
	} else {
		err = s.Run()
	}
	if err != nil {
		fmt.Fprintf(stderr, "sage-bridge service: %v\n", err)
		return 1
	}
	return 0
}

// serviceStatus prints the service's state; it exits 3 unless running.
func serviceStatus(s ksvc.Service, stdout, stderr io.Writer) int {
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

// serviceControl installs, uninstalls, starts, stops or restarts.
func serviceControl(s ksvc.Service, action string, stdout, stderr io.Writer) int {
	msg, err := service.Control(s, action)
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
