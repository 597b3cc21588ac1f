package main

import (
	"context"
	"fmt"

	"github.com/sage-mcp/sage/shared/api"
)

// manageInjections lists the injection audit.
func manageInjections(ctx context.Context, m *manageCtx, args []string) error {
	fs := m.flags("[flags]", "List the context blocks injected into prompts (by the prompt hook or search_memory\nwith max_chars), most recent first: when, where, the prompt's start and SHA-256,\nthe memories with their scores and each retriever's rank, the characters injected.")
	session := fs.String("session", "", "only injections into this session")
	limit := fs.Int("limit", 20, "at most this many (1-100)")
	if _, err := m.parseN(args, 0, 0, "takes no arguments; use --session ID"); err != nil {
		return err
	}
	if *limit < 1 || *limit > 100 {
		return m.usageErr("--limit %d: want 1 to 100", *limit)
	}
	c, ctx, cancel, err := m.connect(ctx)
	defer cancel()
	if err != nil {
		return err
	}
	list, err := c.Injections(ctx, *session, *limit)
	if err != nil {
		return err
	}
	if m.json {
		if list == nil {
			list = []api.Injection{}
		}
		return m.printJSON(list)
	}
	if len(list) == 0 {
		fmt.Fprintln(m.stdout, "No injections recorded.")
		return nil
	}
	for _, in := range list {
		where := in.Source
		if in.Project != "" {
			where += " · " + in.Project
		}
		if in.SessionID != "" {
			where += " · session " + in.SessionID
		}
		fmt.Fprintf(m.stdout, "#%d  %s  %s  %d chars\n", in.ID, in.At.Local().Format("2006-01-02 15:04:05"), where, in.Chars)
		fmt.Fprintf(m.stdout, "    prompt %q (sha256 %.12s…)\n", oneLine(in.PromptHead, 120), in.PromptSHA256)
		for _, mm := range in.Memories {
			fmt.Fprintf(m.stdout, "    #%d  score %.4f  %s\n", mm.ID, mm.Score, hits(mm.Keyword, mm.Vector))
		}
	}
	return nil
}

// hits describes each retriever's rank and score of a memory.
func hits(k, v api.Hit) string {
	one := func(name string, h api.Hit) string {
		if h.Rank == 0 {
			return name + " —"
		}
		return fmt.Sprintf("%s #%d %.3f", name, h.Rank, h.Score)
	}
	return one("keyword", k) + ", " + one("vector", v)
}
