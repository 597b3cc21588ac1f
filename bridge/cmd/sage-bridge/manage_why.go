package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/sage-mcp/sage/bridge/client"
	"github.com/sage-mcp/sage/bridge/hook"
	"github.com/sage-mcp/sage/shared/api"
)

// whyCommand shows what the prompt hook would inject for a prompt now, and
// why, without recording anything.
var whyCommand = manageCommand{
	usage:   "\"<prompt>\" [flags]",
	help:    "Show what the prompt hook would inject for this prompt now, and why: every\nmemory considered with each retriever's rank and score and the gate's verdict,\nwith the hook's own options (config, environment and the console's settings).\nRecords nothing.",
	maxArgs: -1,
	flags:   manageWhy,
}

func manageWhy(fs *flag.FlagSet) manageAction {
	project := fs.String("project", "", "the project the prompt is asked in (default: that of the current directory)")
	session := fs.String("session", "", "the session asking (its own memories are left out)")
	maxChars := fs.Int("max-chars", 0, "the hook's size budget (default: the hook's own)")
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
		var (
			opts hook.Options
			skip string
		)
		return manageCall(ctx, m, func(ctx context.Context, c *client.Client) (api.ContextResponse, error) {
			o, err := hook.ResolveOptions(m.cfg, m.getenv)
			if err != nil {
				return api.ContextResponse{}, err
			}
			var p client.ContextParams
			p, opts, skip = (&hook.Runner{Client: c, Options: o}).PromptQuery(ctx, *project, *session, prompt, *maxChars)
			return c.Context(ctx, p)
		}, func(resp api.ContextResponse) {
			printWhy(m.stdout, *project, opts, skip, resp)
		})
	}
}

// printWhy writes why's answer: the options, the block that would be
// injected and every memory considered with its verdict.
func printWhy(w io.Writer, project string, o hook.Options, skip string, resp api.ContextResponse) {
	fmt.Fprintf(w, "Hook options for project %q: up to %d memories, %d characters, min score %g.\n",
		project, o.Results(), o.MaxChars, o.MinScore)
	switch n := len([]rune(resp.Context)); {
	case skip != "":
		fmt.Fprintf(w, "Nothing would be injected: %s.\n", skip)
		if n > 0 {
			fmt.Fprintf(w, "Otherwise the block would be %d characters:\n%s\n", n, resp.Context)
		}
	case n == 0:
		fmt.Fprintf(w, "Nothing would be injected (project %q).\n", project)
	default:
		fmt.Fprintf(w, "Would inject %d characters (project %q):\n%s\n", n, project, resp.Context)
	}
	if len(resp.Candidates) == 0 {
		fmt.Fprintln(w, "No memory was considered.")
		return
	}
	fmt.Fprintln(w, "Considered:")
	for _, cd := range resp.Candidates {
		verdict := "no "
		if cd.Injected {
			verdict = "yes"
		}
		fmt.Fprintf(w, "  %s #%d  %s  (%s)\n", verdict, cd.Memory.ID, hits(cd.Keyword, cd.Vector), cd.Reason)
		fmt.Fprintf(w, "      %s\n", oneLine(cd.Memory.Text, 140))
	}
}
