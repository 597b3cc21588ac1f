package main

import (
	"context"
	"fmt"
	"io"
	"path/filepath"
	"strings"
)

// Run dispatches on the program name and the first argument; it returns the
// exit code. With no arguments it serves MCP on stdin/stdout. Invoked as
// sage_manage (or as `sage-bridge manage`) it is the management CLI.
func Run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	name := strings.TrimSuffix(filepath.Base(args[0]), ".exe")
	if strings.HasPrefix(name, "sage_manage") || strings.HasPrefix(name, "sage-manage") {
		return runManage(ctx, args[1:], stdin, stdout, stderr)
	}
	if len(args) < 2 {
		return runServe(ctx, nil, stdin, stdout, stderr)
	}
	sub, rest := args[1], args[2:]
	switch sub {
	case "serve":
		return runServe(ctx, rest, stdin, stdout, stderr)
	case "hook":
		return runHook(ctx, rest, stdin, stdout, stderr)
	case "manage":
		return runManage(ctx, rest, stdin, stdout, stderr)
	case "doctor":
		return runDoctor(ctx, rest, stdin, stdout, stderr)
	case "service":
		return runService(ctx, rest, stdin, stdout, stderr)
	case "version", "--version", "-v":
		return runVersion(ctx, rest, stdin, stdout, stderr)
	case "help", "--help", "-h":
		fmt.Fprint(stdout, usage)
		return 0
	}
	if strings.HasPrefix(sub, "-") { // flags for serve
		return runServe(ctx, args[1:], stdin, stdout, stderr)
	}
	fmt.Fprintf(stderr, "sage-bridge: unknown command %q\n\n%s", sub, usage)
	return 2
}

const usage = `Usage:
  sage-bridge [serve] [flags]   serve MCP on stdin/stdout, forwarding to sage-daemon
                                (--url, --token-file, --request-timeout; see docs/BRIDGE.md)
  sage-bridge hook <event>      run a Claude Code hook (reads its JSON on stdin)
  sage-bridge manage <command>  the sage_manage CLI (also: invoke as sage_manage)
  sage-bridge doctor            check the configuration and the daemon step by step
  sage-bridge service <action>  run or control the background user service
  sage-bridge version           print the version
`
