package main

import (
	"context"
	"flag"
	"fmt"
	"strings"

	"github.com/sage-mcp/sage/bridge/client"
	"github.com/sage-mcp/sage/shared/api"
)

// searchCommand searches memories.
var searchCommand = manageCommand{
	usage:   "<query> [flags]",
	help:    "Search memories by meaning and keywords (hybrid), best first.",
	maxArgs: -1,
	flags:   manageSearch,
}

func manageSearch(fs *flag.FlagSet) manageAction {
	limit := fs.Int("limit", 10, "at most this many results (1-100)")
	mode := fs.String("mode", "", "hybrid (default), semantic or keyword")
	project := fs.String("project", "", "only this project")
	session := fs.String("session", "", "only this session")
	kind := fs.String("kind", "", "only these kinds, comma-separated (turn,note,decision,fact,todo)")
	full := fs.Bool("full", false, "print whole memories instead of one line each")
	return func(ctx context.Context, m *manageCtx, pos []string) error {
		q, err := m.textArg(pos, "give a query, like: sage_manage search \"outbox lock\"")
		if err != nil {
			return err
		}
		if *limit < 1 || *limit > 100 {
			return m.usageErr("--limit %d: want 1 to 100", *limit)
		}
		p := client.SearchParams{Query: q, Limit: *limit, Mode: *mode, Project: *project, SessionID: *session}
		if *kind != "" {
			p.Kinds = strings.Split(*kind, ",")
		}
		return manageCall(ctx, m, func(ctx context.Context, c *client.Client) ([]api.Memory, error) {
			return c.Search(ctx, p)
		}, func(res []api.Memory) {
			if len(res) == 0 {
				fmt.Fprintf(m.stdout, "No memories match %q.\n", q)
				return
			}
			for i, r := range res {
				where := r.OccurredAt.Local().Format("2006-01-02 15:04")
				if r.Project != "" {
					where += " · " + r.Project
				}
				fmt.Fprintf(m.stdout, "%2d. #%d  %s · %s  (score %.4f)\n", i+1, r.ID, where, r.Kind, r.Score)
				if *full {
					printLines(m.stdout, "      ", r.Text)
				} else {
					fmt.Fprintf(m.stdout, "    %s\n", oneLine(r.Text, 160))
				}
				if r.SessionID != "" {
					fmt.Fprintf(m.stdout, "    session %s\n", r.SessionID)
				}
			}
		})
	}
}
