package main

import (
	"context"
	"io"
	"strings"

	"github.com/sage-mcp/sage/installer"
)

// runStatus is "sage-installer status": what is installed where, whether
// Claude Code sees Sage, whether the service runs and the daemon answers.
// The exit code is 0 when everything is in place and working, 3 otherwise.
func runStatus(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	o, err := parseOptions("status", args, stderr)
	if err != nil {
		return exitParse("status", err, stderr)
	}
	if !installer.Status(ctx, o, installer.StatusOptions{URLFlag: setFlag(args, "url")}, stdout) {
		return 3
	}
	return 0
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
