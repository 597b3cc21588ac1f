// Command sage-bridge-bench measures sage-bridge: cold start to the
// initialize response, per-call latency of tools/call through the bridge
// against direct HTTP to the same server, and the bridge's peak RSS. See
// docs/BENCHMARKS.md.
package main

import (
	"context"
	"os"
	"os/signal"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	code := Run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
