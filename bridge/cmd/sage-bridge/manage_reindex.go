package main

import (
	"context"
	"flag"
	"fmt"

	"github.com/sage-mcp/sage/bridge"
	"github.com/sage-mcp/sage/bridge/client"
)

// manageReindex re-embeds stale memories, with progress.
func manageReindex(ctx context.Context, m *manageCtx, args []string) error {
	m.flags("[flags]", "Re-embed every memory whose vector is missing or from another model than the\ndaemon's current embedder. Needs an admin token. Search keeps working meanwhile.")
	if _, err := m.parseN(args, 0, 0, "takes no arguments"); err != nil {
		return err
	}
	if !isSet(m.fs, "timeout") {
		m.timeout = 0
	}
	c, ctx, cancel, err := m.connect(ctx)
	defer cancel()
	if err != nil {
		return err
	}
	bar := newProgress(m.stderr, "reindex")
	last, err := c.Reindex(ctx, func(p client.ReindexProgress) { bar.update(p.Done, p.Total, false) })
	bar.update(last.Done, last.Total, true)
	bar.done()
	if err != nil {
		return err
	}
	if m.json {
		return m.printJSON(last)
	}
	fmt.Fprintf(m.stdout, "Reindexed %d of %s.\n", last.Done, bridge.Plural(last.Total, "memory", "memories"))
	return nil
}

// isSet reports whether the flag name was given on the command line.
func isSet(fs *flag.FlagSet, name string) bool {
	set := false
	fs.Visit(func(f *flag.Flag) {
		if f.Name == name {
			set = true
		}
	})
	return set
}
