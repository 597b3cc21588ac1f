package main

import (
	"context"
	"flag"
	"fmt"
	"os"

	"github.com/sage-mcp/sage/bridge/client"
	"github.com/sage-mcp/sage/bridge/hook"
	"github.com/sage-mcp/sage/shared/api"
)

// whyCommand shows what the prompt hook would inject for a prompt now, and
// why, without recording anything.
var whyCommand = manageCommand{
	usage:   "\"<prompt>\" [flags]",
	help:    "Show what the prompt hook would inject for this prompt now, and why: every\nmemory considered with each retriever's rank and score and the gate's verdict.\nRecords nothing.",
	maxArgs: -1,
	flags:   manageWhy,
}

func manageWhy(fs *flag.FlagSet) manageAction {
	project := fs.String("project", "", "the project the prompt is asked in (default: that of the current directory)")
	session := fs.String("session", "", "the session asking (its own memories are left out)")
	maxChars := fs.Int("max-chars", hook.DefaultMaxChars, "the hook's size budget")
	return func(ctx context.Context, m *manageCtx, pos []string) error {
		prompt, err := m.textArg(pos, "give a prompt, like: sage_manage why \"How do I stop the web server?\"")
		if err != nil {
			return err
		}
		if *project == "" {
			if wd, err := os.Getwd(); err == nil {
				*project = hook.ProjectName(wd)
			}
		}
		return manageCall(ctx, m, func(ctx context.Context, c *client.Client) (api.ContextResponse, error) {
			return c.Context(ctx, client.ContextParams{Query: prompt, MaxResults: hook.ContextResults, MaxChars: *maxChars,
				Project: *project, ExcludeSession: *session, Gate: true, DryRun: true})
		}, func(resp api.ContextResponse) {
			if hook.Trivial(prompt) {
				fmt.Fprintln(m.stdout, "The hook skips this prompt as trivial: nothing would be injected.")
			}
			if resp.Context == "" {
				fmt.Fprintf(m.stdout, "Nothing would be injected (project %q).\n", *project)
			} else {
				fmt.Fprintf(m.stdout, "Would inject %d characters (project %q):\n%s\n", len([]rune(resp.Context)), *project, resp.Context)
			}
			if len(resp.Candidates) == 0 {
				fmt.Fprintln(m.stdout, "No memory was considered.")
				return
			}
			fmt.Fprintln(m.stdout, "Considered:")
			for _, cd := range resp.Candidates {
				verdict := "no "
				if cd.Injected {
					verdict = "yes"
				}
				fmt.Fprintf(m.stdout, "  %s #%d  %s  (%s)\n", verdict, cd.Memory.ID, hits(cd.Keyword, cd.Vector), cd.Reason)
				fmt.Fprintf(m.stdout, "      %s\n", oneLine(cd.Memory.Text, 140))
			}
		})
	}
}
