// Command sage-hook-bench measures the UserPromptSubmit hook end to end,
// process start included: it seeds a running sage-daemon with memories (via
// REST turns, in batches) and spawns `sage-bridge hook UserPromptSubmit`
// with a realistic payload N times, reporting latency percentiles.
// docs/BENCHMARKS.md (section hooks) records its results.
package main

import (
	"context"
	"os"

	"github.com/sage-mcp/sage/shared/program"
)

func main() {
	program.Main(func(ctx context.Context) int { return run(ctx, os.Args[1:], os.Stdout, os.Stderr) })
}
