package main

import (
	"context"
	"flag"
	"fmt"
)

// runMigrate applies every migration (under an advisory lock, so it is
// safe while daemons run) and exits. serve does the same at start.
func runMigrate(ctx context.Context, e *env, args []string) int {
	fs := flag.NewFlagSet("migrate", flag.ContinueOnError)
	db, _, err := openDatabase(ctx, e, fs, args)
	if err != nil {
		return fail(e, err)
	}
	db.Close()
	fmt.Fprintln(e.stderr, "database migrated")
	return 0
}
