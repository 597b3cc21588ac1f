package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/sage-mcp/sage/bridge/hook"
	"github.com/sage-mcp/sage/shared/claudehooks"
)

// runHook runs `sage-bridge hook <event>` for Claude Code (see hook.Main).
// It always returns 0: a hook must never break Claude Code.
func runHook(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) != 1 || strings.HasPrefix(args[0], "-") {
		fmt.Fprintf(stderr, "usage: sage-bridge hook <event>\n  events: %s\n  (run by Claude Code with the event's JSON on stdin)\n", strings.Join(claudehooks.Events, ", "))
		return 0
	}
	hook.Main(ctx, args[0], stdin, stdout, stderr, os.Getenv)
	return 0
}
