package main

import (
	"context"
	"io"

	"github.com/sage-mcp/sage/installer"
)

// runInstall is "sage-installer install".
func runInstall(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	return runPlan(ctx, "install", installer.PlanInstall, args, stdout, stderr)
}
