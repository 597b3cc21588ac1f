package main

import (
	"context"
	"fmt"
	"io"
)

// runDoctor is not written yet.
func runDoctor(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fmt.Fprintln(stderr, "sage-bridge: doctor: not implemented yet")
	return 1
}
