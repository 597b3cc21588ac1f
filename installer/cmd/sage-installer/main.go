// Command sage-installer installs Sage for the current user: sage-bridge and
// sage_manage on PATH, the client config, the registration with Claude Code,
// the hooks and the bridge's user service. See docs/INSTALL.md.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := Run(ctx, os.Args, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
