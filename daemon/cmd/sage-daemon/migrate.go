package main

import (
	"context"
	"flag"
	"fmt"

	"github.com/sage-mcp/sage/daemon/backend"
)

// runMigrate applies every migration (under an advisory lock, so it is
// safe while daemons run) and exits. serve does the same at start.
func runMigrate(ctx context.Context, e *env, args []string) int {
	fs := flag.NewFlagSet("migrate", flag.ContinueOnError)
	cfg, _, err := loadConfig(e, fs, args, true)
	if err != nil {
		return fail(e, err)
	}
	db, err := backend.Open(ctx, cfg, newLogger(cfg, e.stderr))
	if err != nil {
		return fail(e, err)
	}
	db.Close()
	fmt.Fprintln(e.stderr, "database migrated")
	return 0
}
