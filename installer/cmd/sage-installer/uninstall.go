package main

import (
	"context"
	"io"

	"github.com/sage-mcp/sage/installer"
)

// runUninstall is "sage-installer uninstall".
func runUninstall(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	return runPlan(ctx, "uninstall", installer.PlanUninstall, args, stdout, stderr)
}
