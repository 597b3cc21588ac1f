package main

import (
	"context"
	"fmt"
	"strings"

	"github.com/sage-mcp/sage/bridge"
)

// manageSessions lists sessions.
func manageSessions(ctx context.Context, m *manageCtx, args []string) error {
	fs := m.flags("[flags]", "List sessions, most recent first.")
	limit := fs.Int("limit", 20, "at most this many sessions")
	project := fs.String("project", "", "only this project")
	if _, err := m.parseN(args, 0, 0, "takes no arguments"); err != nil {
		return err
	}
	c, ctx, cancel, err := m.connect(ctx)
	defer cancel()
	if err != nil {
		return err
	}
	ss, err := c.Sessions(ctx, *project, *limit)
	if err != nil {
		return err
	}
	if m.json {
		return m.printJSON(ss)
	}
	if len(ss) == 0 {
		fmt.Fprintln(m.stdout, "No sessions yet.")
		return nil
	}
	for _, s := range ss {
		proj := s.Project
		if proj == "" {
			proj = "-"
		}
		fmt.Fprintf(m.stdout, "%s  %-36s  %-16s %4d  %s\n", s.LastAt.Local().Format("2006-01-02 15:04"), s.ID, oneLine(proj, 16), s.Memories, oneLine(s.Title, 70))
	}
	return nil
}

// manageShow prints one session's memories.
func manageShow(ctx context.Context, m *manageCtx, args []string) error {
	m.flags("<session> [flags]", "Show a session and its memories in time order.")
	pos, err := m.parseN(args, 1, 1, "give one session id (see \"sage_manage sessions\")")
	if err != nil {
		return err
	}
	c, ctx, cancel, err := m.connect(ctx)
	defer cancel()
	if err != nil {
		return err
	}
	s, err := c.Session(ctx, pos[0])
	if err != nil {
		return err
	}
	if m.json {
		return m.printJSON(s)
	}
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
		for _, l := range strings.Split(strings.TrimSpace(it.Text), "\n") {
			fmt.Fprintf(m.stdout, "  %s\n", l)
		}
	}
	return nil
}
