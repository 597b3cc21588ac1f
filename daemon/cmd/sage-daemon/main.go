// Command sage-daemon is Sage's long-running memory server: MCP at /mcp,
// REST under /api/v1, on PostgreSQL with pgvector. Run "sage-daemon help".
package main

import (
	"context"
	"os"

	"github.com/sage-mcp/sage/shared/program"
)

func main() {
	program.Main(func(ctx context.Context) int { return Run(ctx, os.Args[1:], os.Stdout, os.Stderr) })
}
