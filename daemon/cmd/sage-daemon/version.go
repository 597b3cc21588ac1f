package main

import (
	"context"
	"fmt"
	"runtime"

	sage "github.com/sage-mcp/sage/daemon"
)

func runVersion(_ context.Context, e *env, _ []string) int {
	fmt.Fprintf(e.stdout, "sage-daemon %s (%s, %s/%s)\n", sage.Version, runtime.Version(), runtime.GOOS, runtime.GOARCH)
	return 0
}
