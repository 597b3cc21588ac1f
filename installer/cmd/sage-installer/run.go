package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/sage-mcp/sage/installer"
)

const usage = `Usage:
  sage-installer install   [flags]   install Sage for the current user
  sage-installer uninstall [flags]   undo what install did
  sage-installer status    [flags]   show what is installed and whether it works
  sage-installer version             print the version

Run "sage-installer <command> -h" for the flags. See docs/INSTALL.md.
`

// Run dispatches on the subcommand (args[1]) and returns the exit code.
func Run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) < 2 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	sub, rest := args[1], args[2:]
	switch sub {
	case "install":
		return runInstall(ctx, rest, stdout, stderr)
	case "uninstall":
		return runUninstall(ctx, rest, stdout, stderr)
	case "status":
		return runStatus(ctx, rest, stdout, stderr)
	case "version", "--version":
		return runVersion(stdout)
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return 0
	}
	fmt.Fprintf(stderr, "sage-installer: unknown command %q\n\n%s", sub, usage)
	return 2
}

// parseOptions parses the flags of command cmd into options with defaults
// (flags > environment > defaults) and validates them.
func parseOptions(cmd string, args []string, stderr io.Writer) (*installer.Options, error) {
	var o installer.Options
	fs := flag.NewFlagSet("sage-installer "+cmd, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&o.BinDir, "bin-dir", "", "directory for sage-bridge and sage_manage (env "+installer.EnvBinDir+"; default ~/.local/bin, on Windows %LOCALAPPDATA%\\Programs\\Sage)")
	fs.StringVar(&o.Claude, "claude", "", "the claude CLI to register with (env "+installer.EnvClaude+"; default: claude on PATH; \"none\": edit ~/.claude.json instead)")
	fs.BoolVar(&o.NoService, "no-service", false, "do not install (or uninstall) the user service")
	fs.BoolVar(&o.DryRun, "dry-run", false, "print every change and make none")
	if cmd == "install" || cmd == "status" {
		fs.StringVar(&o.URL, "url", "", "the daemon's URL or MCP endpoint (env SAGE_URL; default http://127.0.0.1:17800/mcp)")
	}
	if cmd == "install" {
		fs.StringVar(&o.Bridge, "bridge", "", "the sage-bridge binary to install (default: the one beside sage-installer)")
		fs.StringVar(&o.Token, "token", "", "the daemon's access token (env SAGE_TOKEN)")
		fs.StringVar(&o.TokenFile, "token-file", "", "a file holding the token, e.g. the daemon's token file; the config keeps its path (env SAGE_TOKEN_FILE)")
		fs.StringVar(&o.EnvFile, "env-file", "", "a .env file to read SAGE_TOKEN from (env "+installer.EnvEnvFile+")")
		fs.StringVar(&o.Mode, "mode", "", "how Claude Code reaches Sage: stdio (through sage-bridge, default) or http (directly)")
		fs.BoolVar(&o.NoHooks, "no-hooks", false, "do not add the automatic-memory hooks to Claude Code's settings.json")
		fs.StringVar(&o.ComposeDir, "compose-dir", "", "have the service run \"docker compose up -d\" in `DIR` at login (env "+installer.EnvComposeDir+")")
	}
	if cmd == "uninstall" {
		fs.BoolVar(&o.Purge, "purge", false, "also delete the backups install and uninstall made, and Sage's cache (the outbox of undelivered turns, after trying to deliver them; hook.log)")
	}
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return nil, fmt.Errorf("find home directory: %w", err)
	}
	if err := o.Defaults(home, os.Getenv); err != nil {
		return nil, err
	}
	if err := o.Validate(); err != nil {
		return nil, err
	}
	return &o, nil
}

// runPlan is a command that plans its changes with plan, then prints the
// plan (--dry-run) or applies it: warnings first (stderr), notes last.
func runPlan(ctx context.Context, cmd string, plan func(context.Context, *installer.Options) (*installer.Plan, error), args []string, stdout, stderr io.Writer) int {
	o, err := parseOptions(cmd, args, stderr)
	if err != nil {
		return exitParse(cmd, err, stderr)
	}
	p, err := plan(ctx, o)
	if err != nil {
		fmt.Fprintf(stderr, "sage-installer %s: %v\n", cmd, err)
		return 1
	}
	for _, w := range p.Warnings {
		fmt.Fprintf(stderr, "sage-installer %s: WARNING: %s\n", cmd, w)
	}
	if o.DryRun {
		fmt.Fprintln(stdout, "dry run: nothing is changed")
		p.Print(stdout)
	} else if err := p.Apply(ctx, stdout); err != nil {
		fmt.Fprintf(stderr, "sage-installer %s: %v\n", cmd, err)
		return 1
	}
	for _, n := range p.Notes {
		fmt.Fprintln(stdout, n)
	}
	return 0
}

// exitParse prints a parse error and returns the exit code for it.
func exitParse(cmd string, err error, stderr io.Writer) int {
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	fmt.Fprintf(stderr, "sage-installer %s: %v\n", cmd, err)
	return 2
}
