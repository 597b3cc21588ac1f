package main

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/sage-mcp/sage/bridge/client"
	"github.com/sage-mcp/sage/shared/api"
	"github.com/sage-mcp/sage/testkit/daemontest"
)

// TestManageWhyAndInjections: why shows the gated block and every
// candidate's hits and verdict and records nothing; injections lists what
// the hook path recorded, by session.
func TestManageWhyAndInjections(t *testing.T) {
	d := daemontest.Start(t)
	manageSetEnv(t, d.MCPURL, d.Token)
	c := client.New(d.URL, d.Token)
	ctx := context.Background()
	if _, err := c.SaveTurns(ctx, []api.Turn{
		{SessionID: "old", Project: "web-ui", UserPrompt: "the dev server conflicts with the other app on port 3000",
			AssistantResponse: "I moved the Vite dev server to port 5173 with strictPort: true in vite.config.ts."},
	}); err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		prompt string
		want   []string
	}{
		{"Which port does our Vite dev server use now?", []string{"Would inject", "5173", "yes #", "keyword #1"}},
		{"How do I stop the web server?", []string{"Nothing would be injected", "no  #"}},
	}
	for _, tt := range tests {
		r := manageMustRun(t, "", "why", tt.prompt, "--project", "web-ui", "--session", "new")
		for _, w := range tt.want {
			if !strings.Contains(r.stdout, w) {
				t.Errorf("why %q lacks %q:\n%s", tt.prompt, w, r.stdout)
			}
		}
	}
	// The hook's own options apply, and what they keep out is listed with
	// the reason.
	port := "Which port does our Vite dev server use now?"
	for _, tt := range []struct {
		name string
		env  [][2]string
		args []string
		want []string
	}{
		{"own session", nil, []string{"--session", "old"},
			[]string{"Nothing would be injected (project", "no  #", "(from this session)"}},
		{"min score", [][2]string{{"SAGE_HOOKS_MIN_SCORE", "50"}}, nil,
			[]string{"min score 50.", "Nothing would be injected (project", "< min_score 50"}},
		{"injection off", [][2]string{{"SAGE_HOOKS_INJECT", "0"}}, nil,
			[]string{"Nothing would be injected: injection is off", "Otherwise the block would be", "5173", "yes #"}},
		{"budget", [][2]string{{"SAGE_HOOKS_MAX_CHARS", "700"}}, []string{"--max-chars", "1200"},
			[]string{"up to 8 memories, 1200 characters, min score 0."}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			for _, kv := range tt.env {
				t.Setenv(kv[0], kv[1])
			}
			r := manageMustRun(t, "", append([]string{"why", port, "--project", "web-ui"}, tt.args...)...)
			for _, w := range tt.want {
				if !strings.Contains(r.stdout, w) {
					t.Errorf("why lacks %q:\n%s", w, r.stdout)
				}
			}
		})
	}

	r := manageMustRun(t, "", "why", "--json", port, "--project", "web-ui")
	var resp api.ContextResponse
	if err := json.Unmarshal([]byte(r.stdout), &resp); err != nil || resp.Recorded != 0 || len(resp.Candidates) == 0 {
		t.Fatalf("why --json: %v %s", err, r.stdout)
	}
	if r := manageMustRun(t, "", "injections"); !strings.Contains(r.stdout, "No injections recorded.") {
		t.Fatalf("why recorded something:\n%s", r.stdout)
	}

	// The hook's path records.
	if _, err := c.Context(ctx, client.ContextParams{Query: "Which port does our Vite dev server use now?", Project: "web-ui",
		ExcludeSession: "new", Gate: true, Source: "hook"}); err != nil {
		t.Fatal(err)
	}
	r = manageMustRun(t, "", "injections", "--session", "new")
	for _, w := range []string{"hook · web-ui · session new", `prompt "Which port does our Vite dev server use now?"`, "keyword #1", "chars"} {
		if !strings.Contains(r.stdout, w) {
			t.Errorf("injections lacks %q:\n%s", w, r.stdout)
		}
	}
	if r := manageMustRun(t, "", "injections", "--session", "other"); !strings.Contains(r.stdout, "No injections recorded.") {
		t.Errorf("injections of another session:\n%s", r.stdout)
	}
	r = manageMustRun(t, "", "injections", "--json")
	var list []api.Injection
	if err := json.Unmarshal([]byte(r.stdout), &list); err != nil || len(list) != 1 || len(list[0].PromptSHA256) != 64 {
		t.Errorf("injections --json: %v %s", err, r.stdout)
	}
	for _, bad := range [][]string{{"why"}, {"injections", "extra"}, {"injections", "--limit", "0"}} {
		if r := manageRun(t, "", bad...); r.code != 2 {
			t.Errorf("%v: exit %d, want 2 (usage)", bad, r.code)
		}
	}
}
