// Package program holds what the main function of every Sage program does
// alike: run the program under a context that an interrupt or a SIGTERM
// cancels, so it can shut down cleanly, and exit with the program's code.
package program

import (
	"context"
	"os"
	"os/signal"
	"syscall"
)

// Main runs run under a context that SIGINT (Ctrl-C) or SIGTERM cancels and
// exits the process with the code run returns. Once run has returned, those
// signals have their default effect again.
func Main(run func(ctx context.Context) int) {
	os.Exit(code(run))
}

// code is Main without the exit.
func code(run func(ctx context.Context) int) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	return run(ctx)
}
