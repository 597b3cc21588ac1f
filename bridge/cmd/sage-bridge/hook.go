package main

import (
	"context"
	"fmt"
	"io"
)

// runHook is not written yet.
func runHook(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fmt.Fprintln(stderr, "sage-bridge: hook: not implemented yet")
	return 1
}
