package main

import (
	"context"
	"flag"
	"fmt"

	sage "github.com/sage-mcp/sage/daemon"
	"github.com/sage-mcp/sage/daemon/backend"
	"github.com/sage-mcp/sage/daemon/embed"
	"github.com/sage-mcp/sage/daemon/postgres"
)

// runReindex re-embeds, with the configured embedder, every memory whose
// vector is missing or from another model, printing progress to stderr.
// Without --namespace it goes through every namespace. Daemons keep
// serving meanwhile.
func runReindex(ctx context.Context, e *env, args []string) int {
	fs := flag.NewFlagSet("reindex", flag.ContinueOnError)
	ns := fs.String("namespace", "", "only this namespace (default: all)")
	cfg, _, err := loadConfig(e, fs, args, true)
	if err != nil {
		return fail(e, err)
	}
	log := newLogger(cfg, e.stderr)
	emb, err := embed.New(cfg.Embed, log)
	if err != nil {
		return fail(e, err)
	}
	db, err := backend.Open(ctx, cfg, log)
	if err != nil {
		return fail(e, err)
	}
	defer db.Close()
	namespaces := []string{*ns}
	if *ns == "" {
		if namespaces, err = db.Namespaces(ctx); err != nil {
			return fail(e, err)
		}
	}
	svc := postgres.NewMemoryService(db, emb, log)
	for _, n := range namespaces {
		err := svc.Reindex(sage.WithNamespace(ctx, n), func(p sage.ReindexProgress) {
			fmt.Fprintf(e.stderr, "\rreindex %s: %d/%d", n, p.Done, p.Total)
		})
		fmt.Fprintln(e.stderr)
		if err != nil {
			return fail(e, fmt.Errorf("reindex %s: %w", n, err))
		}
	}
	fmt.Fprintf(e.stderr, "reindexed %d namespace(s) with %s\n", len(namespaces), postgres.ModelKey(emb))
	return 0
}
