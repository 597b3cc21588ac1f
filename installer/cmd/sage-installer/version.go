package main

import (
	"fmt"
	"io"
	"runtime"
)

// version is set at build time with -ldflags "-X main.version=…".
var version = "dev"

// runVersion prints the installer's version.
func runVersion(stdout io.Writer) int {
	fmt.Fprintf(stdout, "sage-installer %s (%s/%s)\n", version, runtime.GOOS, runtime.GOARCH)
	return 0
}
