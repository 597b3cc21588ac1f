package main

import (
	"context"
	"fmt"
	"strings"

	"github.com/sage-mcp/sage/bridge/client"
)

// manageSearch searches memories.
func manageSearch(ctx context.Context, m *manageCtx, args []string) error {
	fs := m.flags("<query> [flags]", "Search memories by meaning and keywords (hybrid), best first.")
	limit := fs.Int("limit", 10, "at most this many results (1-100)")
	mode := fs.String("mode", "", "hybrid (default), semantic or keyword")
	project := fs.String("project", "", "only this project")
	session := fs.String("session", "", "only this session")
	kind := fs.String("kind", "", "only these kinds, comma-separated (turn,note,decision,fact,todo)")
	full := fs.Bool("full", false, "print whole memories instead of one line each")
	pos, err := m.parse(args)
	if err != nil {
		return err
	}
	q := strings.TrimSpace(strings.Join(pos, " "))
	if q == "" {
		return m.usageErr("give a query, like: sage_manage search \"outbox lock\"")
	}
	if *limit < 1 || *limit > 100 {
		return m.usageErr("--limit %d: want 1 to 100", *limit)
	}
	c, ctx, cancel, err := m.connect(ctx)
	defer cancel()
	if err != nil {
		return err
	}
	p := client.SearchParams{Query: q, Limit: *limit, Mode: *mode, Project: *project, SessionID: *session}
	if *kind != "" {
		p.Kinds = strings.Split(*kind, ",")
	}
	res, err := c.Search(ctx, p)
	if err != nil {
		return err
	}
	if m.json {
		return m.printJSON(res)
	}
	if len(res) == 0 {
		fmt.Fprintf(m.stdout, "No memories match %q.\n", q)
		return nil
	}
	for i, r := range res {
		where := r.OccurredAt.Local().Format("2006-01-02 15:04")
		if r.Project != "" {
			where += " · " + r.Project
		}
		fmt.Fprintf(m.stdout, "%2d. #%d  %s · %s  (score %.4f)\n", i+1, r.ID, where, r.Kind, r.Score)
		if *full {
			for _, l := range strings.Split(strings.TrimSpace(r.Text), "\n") {
				fmt.Fprintf(m.stdout, "      %s\n", l)
			}
		} else {
			fmt.Fprintf(m.stdout, "    %s\n", oneLine(r.Text, 160))
		}
		if r.SessionID != "" {
			fmt.Fprintf(m.stdout, "    session %s\n", r.SessionID)
		}
	}
	return nil
}
