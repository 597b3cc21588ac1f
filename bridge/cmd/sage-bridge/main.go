// Command sage-bridge is Sage's stdio MCP server for Claude Code, its hook
// runner and, when invoked as sage_manage, its management CLI.
package main

import (
	"context"
	"os"

	"github.com/sage-mcp/sage/shared/program"
)

func main() {
	program.Main(func(ctx context.Context) int { return Run(ctx, os.Args, os.Stdin, os.Stdout, os.Stderr) })
}
