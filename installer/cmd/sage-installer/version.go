package main

import (
	"fmt"
	"io"
	"runtime"

	"github.com/sage-mcp/sage/shared/version"
)

// runVersion prints the installer's version (shared/version).
func runVersion(stdout io.Writer) int {
	fmt.Fprintf(stdout, "sage-installer %s (%s/%s)\n", version.String(), runtime.GOOS, runtime.GOARCH)
	return 0
}
