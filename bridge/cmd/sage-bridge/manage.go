package main

import (
	"context"
	"fmt"
	"io"
)

// runManage is not written yet.
func runManage(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fmt.Fprintln(stderr, "sage-bridge: manage: not implemented yet")
	return 1
}
