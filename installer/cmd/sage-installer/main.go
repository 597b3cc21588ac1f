// Command sage-installer installs Sage for the current user: sage-bridge and
// sage_manage on PATH, the client config, the registration with Claude Code,
// the hooks and the bridge's user service. See docs/INSTALL.md.
package main

import (
	"context"
	"os"

	"github.com/sage-mcp/sage/shared/program"
)

func main() {
	program.Main(func(ctx context.Context) int { return Run(ctx, os.Args, os.Stdout, os.Stderr) })
}
