package main

import (
	"context"
	"flag"
	"fmt"

	"github.com/sage-mcp/sage/bridge"
	"github.com/sage-mcp/sage/bridge/client"
	"github.com/sage-mcp/sage/shared/api"
)

// sessionsCommand lists sessions.
var sessionsCommand = manageCommand{
	usage: "[flags]",
	help:  "List sessions, most recent first.",
	flags: manageSessions,
}

func manageSessions(fs *flag.FlagSet) manageAction {
	limit := fs.Int("limit", 20, "at most this many sessions")
	project := fs.String("project", "", "only this project")
	return func(ctx context.Context, m *manageCtx, _ []string) error {
		return manageCall(ctx, m, func(ctx context.Context, c *client.Client) ([]api.Session, error) {
			return c.Sessions(ctx, *project, *limit)
		}, func(ss []api.Session) {
			if len(ss) == 0 {
				fmt.Fprintln(m.stdout, "No sessions yet.")
				return
			}
			for _, s := range ss {
				proj := s.Project
				if proj == "" {
					proj = "-"
				}
				fmt.Fprintf(m.stdout, "%s  %-36s  %-16s %4d  %s\n", s.LastAt.Local().Format("2006-01-02 15:04"), s.ID, oneLine(proj, 16), s.Memories, oneLine(s.Title, 70))
			}
		})
	}
}

// showCommand prints one session's memories.
var showCommand = manageCommand{
	usage:   "<session> [flags]",
	help:    "Show a session and its memories in time order.",
	minArgs: 1, maxArgs: 1, want: "give one session id (see \"sage_manage sessions\")",
	run: manageShow,
}

func manageShow(ctx context.Context, m *manageCtx, pos []string) error {
	return manageCall(ctx, m, func(ctx context.Context, c *client.Client) (client.SessionDetail, error) {
		return c.Session(ctx, pos[0])
	}, func(s client.SessionDetail) {
		fmt.Fprintf(m.stdout, "session   %s\n", s.ID)
		if s.Title != "" {
			fmt.Fprintf(m.stdout, "title     %s\n", s.Title)
		}
		if s.Project != "" {
			fmt.Fprintf(m.stdout, "project   %s\n", s.Project)
		}
		fmt.Fprintf(m.stdout, "period    %s — %s, %s\n", s.FirstAt.Local().Format("2006-01-02 15:04"), s.LastAt.Local().Format("2006-01-02 15:04"), bridge.Plural(s.Memories, "memory", "memories"))
		for _, it := range s.Items {
			fmt.Fprintf(m.stdout, "\n#%d  %s · %s\n", it.ID, it.OccurredAt.Local().Format("2006-01-02 15:04:05"), it.Kind)
			printLines(m.stdout, "  ", it.Text)
		}
	})
}
