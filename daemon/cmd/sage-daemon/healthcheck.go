package main

import (
	"context"
	"flag"
	"fmt"
	"net/http"
	"time"
)

// runHealthcheck asks the daemon at SAGE_LISTEN for /readyz (or /healthz
// with --live) and exits 0 when it answers 200, else 1. The distroless
// container's HEALTHCHECK runs it: there is no curl there.
func runHealthcheck(ctx context.Context, e *env, args []string) int {
	fs := flag.NewFlagSet("healthcheck", flag.ContinueOnError)
	live := fs.Bool("live", false, "check liveness (/healthz) instead of readiness (/readyz)")
	timeout := fs.Duration("timeout", 4*time.Second, "give up after this long")
	cfg, _, err := loadConfig(e, fs, args, false)
	if err != nil {
		return fail(e, err)
	}
	path := "/readyz"
	if *live {
		path = "/healthz"
	}
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, cfg.LocalURL()+path, nil)
	if err != nil {
		return fail(e, err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		fmt.Fprintf(e.stderr, "unhealthy: %s%s: %v\n", cfg.LocalURL(), path, err)
		return 1
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		fmt.Fprintf(e.stderr, "unhealthy: %s%s: %s\n", cfg.LocalURL(), path, resp.Status)
		return 1
	}
	fmt.Fprintf(e.stdout, "ok: %s%s\n", cfg.LocalURL(), path)
	return 0
}
