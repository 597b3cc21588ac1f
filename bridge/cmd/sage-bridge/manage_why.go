package main

import (
	"context"
	"fmt"
	"os"
	"strings"

	"github.com/sage-mcp/sage/bridge/client"
	"github.com/sage-mcp/sage/bridge/hook"
)

// manageWhy shows what the prompt hook would inject for a prompt now, and
// why, without recording anything.
func manageWhy(ctx context.Context, m *manageCtx, args []string) error {
	fs := m.flags("\"<prompt>\" [flags]", "Show what the prompt hook would inject for this prompt now, and why: every\nmemory considered with each retriever's rank and score and the gate's verdict.\nRecords nothing.")
	project := fs.String("project", "", "the project the prompt is asked in (default: that of the current directory)")
	session := fs.String("session", "", "the session asking (its own memories are left out)")
	maxChars := fs.Int("max-chars", hook.DefaultMaxChars, "the hook's size budget")
	pos, err := m.parse(args)
	if err != nil {
		return err
	}
	prompt := strings.TrimSpace(strings.Join(pos, " "))
	if prompt == "" {
		return m.usageErr("give a prompt, like: sage_manage why \"How do I stop the web server?\"")
	}
	if *project == "" {
		if wd, err := os.Getwd(); err == nil {
			*project = hook.ProjectName(wd)
		}
	}
	c, ctx, cancel, err := m.connect(ctx)
	defer cancel()
	if err != nil {
		return err
	}
	resp, err := c.Context(ctx, client.ContextParams{Query: prompt, MaxResults: hook.ContextResults, MaxChars: *maxChars,
		Project: *project, ExcludeSession: *session, Gate: true, DryRun: true})
	if err != nil {
		return err
	}
	if m.json {
		return m.printJSON(resp)
	}
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
		return nil
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
	return nil
}
