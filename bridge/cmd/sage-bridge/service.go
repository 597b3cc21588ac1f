package main

import (
	"context"
	"fmt"
	"io"
)

// runService is not written yet.
func runService(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fmt.Fprintln(stderr, "sage-bridge: service: not implemented yet")
	return 1
}
