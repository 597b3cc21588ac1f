// Command sage-bridge-bench measures sage-bridge: cold start to the
// initialize response, per-call latency of tools/call through the bridge
// against direct HTTP to the same server, and the bridge's peak RSS. See
// docs/BENCHMARKS.md.
package main

import (
	"context"
	"os"

	"github.com/sage-mcp/sage/shared/program"
)

func main() {
	program.Main(func(ctx context.Context) int { return Run(ctx, os.Args[1:], os.Stdout, os.Stderr) })
}
