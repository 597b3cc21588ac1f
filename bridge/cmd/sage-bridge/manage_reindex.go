package main

import (
	"context"
	"fmt"

	"github.com/sage-mcp/sage/bridge"
	"github.com/sage-mcp/sage/bridge/client"
)

// reindexCommand re-embeds stale memories, with progress.
var reindexCommand = manageCommand{
	usage:   "[flags]",
	help:    "Re-embed every memory whose vector is missing or from another model than the\ndaemon's current embedder. Needs an admin token. Search keeps working meanwhile.",
	untimed: true,
	run:     manageReindex,
}

func manageReindex(ctx context.Context, m *manageCtx, _ []string) error {
	return manageCall(ctx, m, func(ctx context.Context, c *client.Client) (client.ReindexProgress, error) {
		bar := newProgress(m.stderr, "reindex")
		last, err := c.Reindex(ctx, func(p client.ReindexProgress) { bar.update(p.Done, p.Total, false) })
		bar.update(last.Done, last.Total, true)
		bar.done()
		return last, err
	}, func(last client.ReindexProgress) {
		fmt.Fprintf(m.stdout, "Reindexed %d of %s.\n", last.Done, bridge.Plural(last.Total, "memory", "memories"))
	})
}
