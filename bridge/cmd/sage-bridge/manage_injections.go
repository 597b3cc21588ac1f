package main

import (
	"context"
	"flag"
	"fmt"

	"github.com/sage-mcp/sage/bridge/client"
	"github.com/sage-mcp/sage/shared/api"
)

// injectionsCommand lists the injection audit.
var injectionsCommand = manageCommand{
	usage: "[flags]",
	help:  "List the context blocks injected into prompts (by the prompt hook or search_memory\nwith max_chars), most recent first: when, where, the prompt's start and SHA-256,\nthe memories with their scores and each retriever's rank, the characters injected.",
	want:  "takes no arguments; use --session ID",
	flags: manageInjections,
}

func manageInjections(fs *flag.FlagSet) manageAction {
	session := fs.String("session", "", "only injections into this session")
	limit := fs.Int("limit", 20, "at most this many (1-100)")
	return func(ctx context.Context, m *manageCtx, _ []string) error {
		if *limit < 1 || *limit > 100 {
			return m.usageErr("--limit %d: want 1 to 100", *limit)
		}
		return manageCall(ctx, m, func(ctx context.Context, c *client.Client) ([]api.Injection, error) {
			list, err := c.Injections(ctx, *session, *limit)
			if list == nil {
				list = []api.Injection{} // --json: [], not null
			}
			return list, err
		}, func(list []api.Injection) {
			if len(list) == 0 {
				fmt.Fprintln(m.stdout, "No injections recorded.")
				return
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
		})
	}
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
