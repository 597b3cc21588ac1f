package main

import (
	"context"
	"fmt"
	"io"
)

// runVersion is not written yet.
func runVersion(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fmt.Fprintln(stderr, "sage-bridge: version: not implemented yet")
	return 1
}
