package hook_test

import (
	"context"
	"strings"
	"testing"

	"github.com/sage-mcp/sage/shared/api"
	"github.com/sage-mcp/sage/testkit/daemontest"
)

// TestGlobalMemoriesRecalled: memories stored without a project (what
// remember keeps with project "") are recalled in every project, by the
// SessionStart recap and by UserPromptSubmit; another project's are not.
func TestGlobalMemoriesRecalled(t *testing.T) {
	d := daemontest.Start(t)
	c := MustClient(t, d)
	ctx := context.Background()
	for _, n := range []api.Note{
		{Content: "Decision: every service answers health checks on /healthz.", Kind: "decision", Project: "sage-demo"},
		{Content: "Decision: the user wants answers in British English, with metric units.", Kind: "decision"},
		{Content: "TODO: renew the user's code signing certificate before March.", Kind: "todo"},
		{Content: "Decision: the other project writes American English.", Kind: "decision", Project: "other"},
	} {
		if _, err := c.SaveNote(ctx, n); err != nil {
			t.Fatal(err)
		}
	}
	e := newEnv(t, d.MCPURL, d.Token)

	recap := additionalContext(t, "SessionStart", e.mustRun("SessionStart", e.payload("session_start.json", "")).stdout)
	for _, want := range []string{"/healthz", "British English", "code signing certificate"} {
		if !strings.Contains(recap, want) {
			t.Errorf("recap lacks %q:\n%s", want, recap)
		}
	}
	if strings.Contains(recap, "American") {
		t.Errorf("recap shows another project's memory:\n%s", recap)
	}

	e.session = "prompt-session"
	got := additionalContext(t, "UserPromptSubmit", e.mustRun("UserPromptSubmit",
		e.payload("user_prompt_submit.json", "Which English spelling and units should the answers use?")).stdout)
	if !strings.Contains(got, "British English") || strings.Contains(got, "American") {
		t.Errorf("prompt context = %q, want the global preference and not the other project's", got)
	}
}
