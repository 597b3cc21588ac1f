// Command sage-bench benchmarks a real sage-daemon over MCP: it starts the
// daemon against a fresh database, seeds it with save_conversation, then
// measures search_memory and get_context latency and the daemon's memory.
// Run "go run ./bench/cmd/sage-bench -h".
package main

import (
	"context"
	"os"

	"github.com/sage-mcp/sage/shared/program"
)

func main() {
	program.Main(func(ctx context.Context) int { return Run(ctx, os.Args[1:], os.Stdout, os.Stderr) })
}
