package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sage-mcp/sage/bridge/client"
	"github.com/sage-mcp/sage/bridge/outbox"
	"github.com/sage-mcp/sage/shared/api"
	"github.com/sage-mcp/sage/testkit/daemontest"
)

type manageResult struct {
	code           int
	stdout, stderr string
}

// manageRun runs the sage_manage CLI in process.
func manageRun(t *testing.T, stdin string, args ...string) manageResult {
	t.Helper()
	var out, errb bytes.Buffer
	code := runManage(context.Background(), args, strings.NewReader(stdin), &out, &errb)
	return manageResult{code, out.String(), errb.String()}
}

// manageMustRun runs the CLI and fails the test unless it exits 0.
func manageMustRun(t *testing.T, stdin string, args ...string) manageResult {
	t.Helper()
	r := manageRun(t, stdin, args...)
	if r.code != 0 {
		t.Fatalf("sage_manage %s: exit %d\nstdout: %s\nstderr: %s", strings.Join(args, " "), r.code, r.stdout, r.stderr)
	}
	return r
}

// manageSetEnv points the CLI at d with a private cache and no config file.
func manageSetEnv(t *testing.T, url, token string) string {
	t.Helper()
	cache := t.TempDir()
	t.Setenv("SAGE_URL", url)
	t.Setenv("SAGE_TOKEN", token)
	t.Setenv("SAGE_TOKEN_FILE", "")
	t.Setenv("SAGE_CONFIG", filepath.Join(cache, "none.json"))
	t.Setenv("SAGE_CACHE_DIR", cache)
	t.Setenv("SAGE_OUTBOX_DIR", "")
	return cache
}

func TestManageCommands(t *testing.T) {
	d := daemontest.Start(t)
	cache := manageSetEnv(t, d.MCPURL, d.Token)
	c := client.New(d.URL, d.Token)
	ctx := context.Background()
	if _, err := c.SaveTurns(ctx, []api.Turn{
		{IdempotencyKey: "s1:1", SessionID: "s1", Project: "sage", UserPrompt: "记忆 怎么保存?", AssistantResponse: "每个回合由 Stop 钩子保存。"},
		{IdempotencyKey: "s1:2", SessionID: "s1", Project: "sage", UserPrompt: "What is the outbox?", AssistantResponse: "A durable queue of turns."},
		{IdempotencyKey: "s2:1", SessionID: "s2", Project: "other", UserPrompt: "Pick a logo colour", AssistantResponse: "Teal."},
	}); err != nil {
		t.Fatal(err)
	}

	r := manageMustRun(t, "", "status")
	if !strings.Contains(r.stdout, "memories    3 in 2 sessions") || !strings.Contains(r.stdout, "outbox      0 pending") {
		t.Errorf("status:\n%s", r.stdout)
	}
	r = manageMustRun(t, "", "status", "--json")
	var st struct {
		Daemon api.Status `json:"daemon"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &st); err != nil || st.Daemon.Memories != 3 {
		t.Errorf("status --json: %v %s", err, r.stdout)
	}

	r = manageMustRun(t, "", "search", "记忆")
	if !strings.Contains(r.stdout, "Stop 钩子") {
		t.Errorf("search 记忆:\n%s", r.stdout)
	}
	r = manageMustRun(t, "", "search", "outbox", "--json", "--project", "sage")
	var found []api.Memory
	if err := json.Unmarshal([]byte(r.stdout), &found); err != nil || len(found) == 0 || !strings.Contains(found[0].Text, "durable queue") {
		t.Errorf("search --json: %v %s", err, r.stdout)
	}

	r = manageMustRun(t, "", "sessions")
	if !strings.Contains(r.stdout, "s1") || !strings.Contains(r.stdout, "s2") {
		t.Errorf("sessions:\n%s", r.stdout)
	}
	r = manageMustRun(t, "", "show", "s1")
	if !strings.Contains(r.stdout, "What is the outbox?") || !strings.Contains(r.stdout, "记忆 怎么保存") || !strings.Contains(r.stdout, ", 2 memories\n") {
		t.Errorf("show s1:\n%s", r.stdout)
	}
	if r = manageMustRun(t, "", "show", "s2"); !strings.Contains(r.stdout, ", 1 memory\n") {
		t.Errorf("show s2 (one memory):\n%s", r.stdout)
	}

	// export → forget everything → import → same count; import again dedups.
	file := filepath.Join(t.TempDir(), "sage.jsonl")
	manageMustRun(t, "", "export", file)
	b, err := os.ReadFile(file)
	if err != nil || strings.Count(string(b), "\n") != 3 {
		t.Fatalf("export file: %v %q", err, b)
	}
	r = manageMustRun(t, "", "forget", "--session", "s1")
	if !strings.Contains(r.stdout, "Deleted 2 memories") {
		t.Errorf("forget --session: %s", r.stdout)
	}
	var ids []string
	for _, m := range found {
		ids = append(ids, fmt.Sprintf("#%d", m.ID))
	}
	r = manageMustRun(t, "", append([]string{"forget"}, ids...)...)
	if !strings.Contains(r.stdout, "Deleted 0 memories") {
		t.Errorf("forget ids already gone: %s", r.stdout)
	}
	r = manageMustRun(t, "", "import", file)
	if !strings.Contains(r.stdout, "Imported 2 memories (1 already there)") {
		t.Errorf("import: %s", r.stdout)
	}
	r = manageMustRun(t, string(b), "import", "--json")
	var imp api.ImportResponse
	if err := json.Unmarshal([]byte(r.stdout), &imp); err != nil || imp.Imported != 0 || imp.Deduplicated != 3 {
		t.Errorf("import from stdin again: %v %s", err, r.stdout)
	}
	var s2 client.SessionDetail
	if r = manageMustRun(t, "", "show", "s2", "--json"); json.Unmarshal([]byte(r.stdout), &s2) != nil || len(s2.Items) != 1 {
		t.Fatalf("show s2 --json: %s", r.stdout)
	}
	if r = manageMustRun(t, "", "forget", fmt.Sprintf("#%d", s2.Items[0].ID)); !strings.Contains(r.stdout, "Deleted 1 memory.") {
		t.Errorf("forget one id: %s", r.stdout)
	}

	r = manageMustRun(t, "", "reindex")
	if !strings.Contains(r.stdout, "Reindexed") {
		t.Errorf("reindex: %s", r.stdout)
	}

	// Tokens: issue, use, list, revoke.
	r = manageMustRun(t, "", "token", "issue", "laptop", "--scopes", "memories")
	secret := strings.TrimSpace(r.stdout)
	if secret == "" || !strings.Contains(r.stderr, "shown only once") {
		t.Fatalf("token issue: %q %q", r.stdout, r.stderr)
	}
	r = manageMustRun(t, "", "token", "list", "--json")
	var toks []api.Token
	if err := json.Unmarshal([]byte(r.stdout), &toks); err != nil {
		t.Fatal(err)
	}
	var id string
	for _, tk := range toks {
		if tk.Name == "laptop" {
			id = tk.ID
		}
	}
	if id == "" || strings.Contains(r.stdout, secret) {
		t.Fatalf("token list: %s", r.stdout)
	}
	t.Setenv("SAGE_TOKEN", secret)
	manageMustRun(t, "", "status")
	if r := manageRun(t, "", "token", "list"); r.code != 1 || !strings.Contains(r.stderr, "admin") {
		t.Errorf("non-admin token list: %d %s", r.code, r.stderr)
	}
	t.Setenv("SAGE_TOKEN", d.Token)
	manageMustRun(t, "", "token", "revoke", id)
	t.Setenv("SAGE_TOKEN", secret)
	if r := manageRun(t, "", "status"); r.code != 1 || !strings.Contains(r.stderr, "refused the token") || !strings.Contains(r.stderr, "docker compose exec sage sage-daemon token show") || strings.Contains(r.stderr, secret) {
		t.Errorf("revoked token: %d %s", r.code, r.stderr)
	}
	t.Setenv("SAGE_TOKEN", d.Token)

	// sync delivers the outbox.
	o, err := outbox.Open(filepath.Join(cache, "outbox"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := o.Append(api.Turn{IdempotencyKey: "s3:1", SessionID: "s3", UserPrompt: "queued while offline", AssistantResponse: "ok"}); err != nil {
		t.Fatal(err)
	}
	if r := manageMustRun(t, "", "status"); !strings.Contains(r.stdout, "1 pending") {
		t.Errorf("status with a queued turn:\n%s", r.stdout)
	}
	r = manageMustRun(t, "", "sync")
	if !strings.Contains(r.stdout, "Delivered 1 turn; the outbox is empty.") {
		t.Errorf("sync: %s", r.stdout)
	}
	if s, err := c.Session(ctx, "s3"); err != nil || len(s.Items) != 1 {
		t.Errorf("synced session: %v %+v", err, s)
	}
}

func TestManageErrors(t *testing.T) {
	manageSetEnv(t, "http://127.0.0.1:1/mcp", "tok")
	tests := []struct {
		args []string
		code int
		want string
	}{
		{nil, 2, "Usage: sage_manage"},
		{[]string{"frobnicate"}, 2, "unknown command"},
		{[]string{"search"}, 2, "give a query"},
		{[]string{"search", "x", "--limit", "0"}, 2, "--limit"},
		{[]string{"forget"}, 2, "give memory ids"},
		{[]string{"forget", "abc"}, 2, "not a memory id"},
		{[]string{"show"}, 2, "one session id"},
		{[]string{"token"}, 2, "give an action"},
		{[]string{"token", "mint"}, 2, "unknown action"},
		{[]string{"token", "issue", "x", "--ttl", "soon"}, 2, "--ttl"},
		{[]string{"status", "--bogus"}, 2, "flag provided but not defined"},
		{[]string{"status"}, 1, "not answering"},
		{[]string{"search", "记忆"}, 1, "sage-bridge doctor"},
		{[]string{"status", "--url", "ftp://x"}, 1, "http://"},
	}
	for _, tt := range tests {
		r := manageRun(t, "", tt.args...)
		if r.code != tt.code || !strings.Contains(r.stderr, tt.want) {
			t.Errorf("sage_manage %v: exit %d, stderr %q; want exit %d and %q", tt.args, r.code, r.stderr, tt.code, tt.want)
		}
	}
	if r := manageRun(t, "", "help"); r.code != 0 || !strings.Contains(r.stdout, "sync") {
		t.Errorf("help: %d %q", r.code, r.stdout)
	}
}
