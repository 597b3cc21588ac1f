package main

import (
	"context"
	"fmt"
	"io"
)

// runServe is not written yet.
func runServe(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fmt.Fprintln(stderr, "sage-bridge: serve: not implemented yet")
	return 1
}
