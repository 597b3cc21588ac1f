package main

import (
	"context"
	"fmt"
	"io"
	"runtime"

	"github.com/sage-mcp/sage/shared/version"
)

// versionString is the bridge's version (shared/version).
func versionString() string { return version.String() }

// runVersion prints the version, Go version and platform.
func runVersion(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fmt.Fprintf(stdout, "sage-bridge %s (%s, %s/%s)\n", versionString(), runtime.Version(), runtime.GOOS, runtime.GOARCH)
	return 0
}
