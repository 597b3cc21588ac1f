// Command sage-daemon is Sage's long-running memory server: MCP at /mcp,
// REST under /api/v1, on PostgreSQL with pgvector. Run "sage-daemon help".
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := Run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
