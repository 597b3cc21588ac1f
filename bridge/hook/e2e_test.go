package hook_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/sage-mcp/sage/bridge/client"
	"github.com/sage-mcp/sage/bridge/hook"
	"github.com/sage-mcp/sage/bridge/outbox"
	"github.com/sage-mcp/sage/shared/api"
	"github.com/sage-mcp/sage/testkit/daemontest"
	"github.com/sage-mcp/sage/testkit/testenv"
)

// MustBridge builds cmd/sage-bridge once per test process.
func MustBridge(t testing.TB) string {
	t.Helper()
	return daemontest.MustBuildCommand(t, "bridge/cmd/sage-bridge")
}

// env is the environment of one simulated Claude Code user.
type env struct {
	t       *testing.T
	bin     string
	url     string // MCP URL
	token   string
	cache   string
	cwd     string
	extra   []string
	session string
	tr      string // transcript path
}

func newEnv(t *testing.T, mcpURL, token string) *env {
	t.Helper()
	root := t.TempDir()
	cwd := filepath.Join(root, "work", "sage-demo")
	if err := os.MkdirAll(filepath.Join(cwd, ".git"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(cwd, "sub"), 0o700); err != nil {
		t.Fatal(err)
	}
	tr := filepath.Join(root, "transcript.jsonl")
	b, err := os.ReadFile("testdata/transcript.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(tr, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return &env{t: t, bin: MustBridge(t), url: mcpURL, token: token, cache: filepath.Join(root, "cache"),
		cwd: filepath.Join(cwd, "sub"), session: "4f1c2d3e-0000-4000-8000-000000000001", tr: tr}
}

func (e *env) environ() []string {
	return append(os.Environ(),
		"SAGE_URL="+e.url, "SAGE_TOKEN="+e.token, "SAGE_TOKEN_FILE=",
		"SAGE_CONFIG="+filepath.Join(e.cache, "no-config.json"),
		"SAGE_CACHE_DIR="+e.cache, "SAGE_OUTBOX_DIR=",
		"SAGE_HOOKS_INJECT=", "SAGE_HOOKS_MAX_CHARS=", "SAGE_HOOKS_TIMEOUT_MS=", "SAGE_HOOKS_MIN_SCORE=")
}

// payload fills a testdata fixture.
func (e *env) payload(name, prompt string) []byte {
	e.t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		e.t.Fatal(err)
	}
	esc := func(s string) string { j, _ := json.Marshal(s); return string(j[1 : len(j)-1]) }
	s := strings.NewReplacer("{{SESSION}}", esc(e.session), "{{TRANSCRIPT}}", esc(e.tr), "{{CWD}}", esc(e.cwd), "{{PROMPT}}", esc(prompt)).Replace(string(b))
	return []byte(s)
}

type hookRun struct {
	stdout, stderr string
	code           int
	elapsed        time.Duration
}

// run runs `sage-bridge hook <event>` with stdin.
func (e *env) run(event string, stdin []byte, extraEnv ...string) hookRun {
	e.t.Helper()
	cmd := exec.Command(e.bin, "hook", event)
	cmd.Env = append(append(e.environ(), e.extra...), extraEnv...)
	cmd.Stdin = bytes.NewReader(stdin)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	start := time.Now()
	err := cmd.Run()
	r := hookRun{stdout: out.String(), stderr: errb.String(), elapsed: time.Since(start)}
	if err != nil {
		if ee, ok := err.(*exec.ExitError); ok {
			r.code = ee.ExitCode()
		} else {
			e.t.Fatalf("run hook %s: %v", event, err)
		}
	}
	return r
}

// mustRun runs a hook and checks it exited 0.
func (e *env) mustRun(event string, stdin []byte, extraEnv ...string) hookRun {
	e.t.Helper()
	r := e.run(event, stdin, extraEnv...)
	if r.code != 0 {
		e.t.Fatalf("hook %s exited %d; stderr: %s", event, r.code, r.stderr)
	}
	return r
}

// manage runs `sage-bridge manage args…`.
func (e *env) manage(args ...string) hookRun {
	e.t.Helper()
	cmd := exec.Command(e.bin, append([]string{"manage"}, args...)...)
	cmd.Env = e.environ()
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	r := hookRun{stdout: out.String(), stderr: errb.String()}
	if ee, ok := err.(*exec.ExitError); ok {
		r.code = ee.ExitCode()
	} else if err != nil {
		e.t.Fatal(err)
	}
	return r
}

func (e *env) outbox() *outbox.Outbox {
	e.t.Helper()
	o, err := outbox.Open(filepath.Join(e.cache, "outbox"), nil)
	if err != nil {
		e.t.Fatal(err)
	}
	return o
}

// MustHavePending fails the test unless o holds want pending entries.
func MustHavePending(t *testing.T, o *outbox.Outbox, want int) {
	t.Helper()
	p, err := o.Pending()
	if err != nil {
		t.Fatal(err)
	}
	if len(p) != want {
		t.Fatalf("outbox holds %d entries, want %d", len(p), want)
	}
}

// additionalContext decodes a hook's stdout.
func additionalContext(t *testing.T, event, stdout string) string {
	t.Helper()
	if stdout == "" {
		return ""
	}
	var out hook.Output
	if err := json.Unmarshal([]byte(stdout), &out); err != nil {
		t.Fatalf("%s stdout is not JSON: %v: %q", event, err, stdout)
	}
	if out.HookSpecificOutput == nil || out.HookSpecificOutput.HookEventName != event {
		t.Fatalf("%s stdout = %s", event, stdout)
	}
	return out.HookSpecificOutput.AdditionalContext
}

// startEnv starts a daemon and returns it, a client of it and a hook
// environment pointed at it.
func startEnv(t *testing.T) (*daemontest.Daemon, *client.Client, *env) {
	t.Helper()
	d := daemontest.Start(t)
	return d, MustClient(t, d), newEnv(t, d.MCPURL, d.Token)
}

func MustClient(t *testing.T, d *daemontest.Daemon) *client.Client {
	t.Helper()
	return client.New(d.URL, d.Token)
}

func MustSession(t *testing.T, c *client.Client, id string) client.SessionDetail {
	t.Helper()
	s, err := c.Session(context.Background(), id)
	if err != nil {
		t.Fatalf("session %s: %v", id, err)
	}
	return s
}

func MustMemories(t *testing.T, c *client.Client) int64 {
	t.Helper()
	st, err := c.Status(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return st.Memories
}

// seed stores earlier work of project sage-demo.
func seed(t *testing.T, c *client.Client) {
	t.Helper()
	ctx := context.Background()
	for _, n := range []api.Note{
		{Content: "Decision: the outbox uses one file per entry, renamed into place, and a flock while draining.", Kind: "decision", Project: "sage-demo", SessionID: "old-1"},
		{Content: "TODO: quarantine outbox entries that the daemon rejects as invalid.", Kind: "todo", Project: "sage-demo", SessionID: "old-1"},
		{Content: "Decision: unrelated project uses MySQL.", Kind: "decision", Project: "other", SessionID: "old-2"},
	} {
		if _, err := c.SaveNote(ctx, n); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := c.SaveTurns(ctx, []api.Turn{
		{IdempotencyKey: "old-1:t1", SessionID: "old-1", Project: "sage-demo", UserPrompt: "How should the outbox survive a crash of the hook?", AssistantResponse: "Write each entry to a temporary file, fsync it, rename it into the outbox directory and fsync the directory."},
		{IdempotencyKey: "old-1:t2", SessionID: "old-1", Project: "sage-demo", UserPrompt: "Pick a colour for the logo", AssistantResponse: "Teal."},
	}); err != nil {
		t.Fatal(err)
	}
}

func TestHooksEndToEnd(t *testing.T) {
	_, c, e := startEnv(t)
	seed(t, c)

	// SessionStart: a recap of project sage-demo (the git top-level name).
	r := e.mustRun("SessionStart", e.payload("session_start.json", ""))
	recap := additionalContext(t, "SessionStart", r.stdout)
	for _, want := range []string{"<sage-memory>", "</sage-memory>", "sage-demo", "flock while draining", "quarantine outbox entries"} {
		if !strings.Contains(recap, want) {
			t.Errorf("recap lacks %q:\n%s", want, recap)
		}
	}
	if strings.Contains(recap, "MySQL") {
		t.Errorf("recap shows another project's memory:\n%s", recap)
	}

	// UserPromptSubmit: relevant memories come back, within the budget.
	// (Another session: these prompts are not in the transcript.)
	stopSession := e.session
	e.session = "prompt-session"
	r = e.mustRun("UserPromptSubmit", e.payload("user_prompt_submit.json", "How does the outbox survive a crash? Remind me of the fsync and rename steps."), "SAGE_HOOKS_MAX_CHARS=600")
	got := additionalContext(t, "UserPromptSubmit", r.stdout)
	if !strings.Contains(got, "fsync") || !strings.HasPrefix(got, "<sage-memory>") || !strings.HasSuffix(got, "</sage-memory>") {
		t.Errorf("prompt context = %q", got)
	}
	if n := utf8.RuneCountInString(got); n > 600 {
		t.Errorf("prompt context has %d runes, budget 600", n)
	}
	if strings.Contains(got, "logo") {
		t.Errorf("irrelevant memory injected: %q", got)
	}

	// Trivial prompts and irrelevant prompts print nothing.
	for _, p := range []string{"ok", "thanks!", "继续", "/compact", "yes please"} {
		if r := e.mustRun("UserPromptSubmit", e.payload("user_prompt_submit.json", p)); r.stdout != "" {
			t.Errorf("trivial prompt %q injected %q", p, r.stdout)
		}
	}
	if r := e.mustRun("UserPromptSubmit", e.payload("user_prompt_submit.json", "Zebrafish quokka marmalade xylophone")); r.stdout != "" {
		t.Errorf("irrelevant prompt injected %q", r.stdout)
	}
	// Injection off.
	if r := e.mustRun("UserPromptSubmit", e.payload("user_prompt_submit.json", "How does the outbox survive a crash?"), "SAGE_HOOKS_INJECT=0"); r.stdout != "" {
		t.Errorf("SAGE_HOOKS_INJECT=0 still injected %q", r.stdout)
	}

	e.session = stopSession
	// Stop saves the last turn of the transcript, without thinking, tool
	// results or injected context; a replay does not duplicate it.
	before := MustMemories(t, c)
	for range 2 {
		if r := e.mustRun("Stop", e.payload("stop.json", "")); r.stdout != "" {
			t.Errorf("Stop printed %q", r.stdout)
		}
	}
	if n := MustMemories(t, c); n != before+1 {
		t.Fatalf("memories after two identical Stops = %d, want %d", n, before+1)
	}
	s := MustSession(t, c, e.session)
	if len(s.Items) != 1 {
		t.Fatalf("session has %d memories, want 1", len(s.Items))
	}
	m := s.Items[0]
	if !strings.Contains(m.Text, "继续，顺便更新文档") || !strings.Contains(m.Text, "[tool: Write docs/ARCHITECTURE.md]") || !strings.Contains(m.Text, "文档已更新。") {
		t.Errorf("saved turn = %q", m.Text)
	}
	if m.Project != "sage-demo" || m.IdempotencyKey != e.session+":u3" {
		t.Errorf("saved turn project=%q key=%q", m.Project, m.IdempotencyKey)
	}

	// Older Claude Code: no last_assistant_message; an earlier transcript
	// (cut after the second turn) gives that turn.
	b, _ := os.ReadFile(e.tr)
	lines := strings.SplitAfter(string(b), "\n")
	cut := 0
	for i, l := range lines {
		if strings.Contains(l, `"uuid":"u3"`) {
			cut = i
		}
	}
	os.WriteFile(e.tr, []byte(strings.Join(lines[:cut], "")), 0o600)
	e.mustRun("Stop", e.payload("stop_legacy.json", ""))
	s = MustSession(t, c, e.session)
	if len(s.Items) != 2 {
		t.Fatalf("session has %d memories, want 2", len(s.Items))
	}
	all := s.Items[0].Text + s.Items[1].Text
	for _, bad := range []string{"SECRET-THINKING", "TOOL-RESULT", "old context", "sage-memory", "SIDECHAIN"} {
		if strings.Contains(all, bad) {
			t.Errorf("saved text contains %q", bad)
		}
	}
	if !strings.Contains(all, "[tool: Edit bridge/outbox/outbox.go]") {
		t.Errorf("tool call summary missing: %q", all)
	}

	// PreCompact and SessionEnd flush and print nothing.
	for _, ev := range []struct{ name, file string }{{"PreCompact", "pre_compact.json"}, {"SessionEnd", "session_end.json"}} {
		if r := e.mustRun(ev.name, e.payload(ev.file, "")); r.stdout != "" {
			t.Errorf("%s printed %q", ev.name, r.stdout)
		}
	}
	MustHavePending(t, e.outbox(), 0)
}

// TestStopUsesPromptStateWithoutTranscript: no transcript at all (path
// missing): the prompt remembered at UserPromptSubmit and
// last_assistant_message make the turn.
func TestStopUsesPromptStateWithoutTranscript(t *testing.T) {
	_, c, e := startEnv(t)
	e.tr = filepath.Join(t.TempDir(), "missing.jsonl")
	e.mustRun("UserPromptSubmit", e.payload("user_prompt_submit.json", "Translate the README into French"))
	e.mustRun("Stop", e.payload("stop.json", ""))
	e.mustRun("Stop", e.payload("stop.json", ""))
	s := MustSession(t, c, e.session)
	if len(s.Items) != 1 || !strings.Contains(s.Items[0].Text, "Translate the README into French") || !strings.Contains(s.Items[0].Text, "文档已更新。") {
		t.Fatalf("session = %+v", s.Items)
	}
}

// TestOutboxReplayExactlyOnce: daemon down → turns queue; daemon back →
// each delivered once, even when an entry is replayed twice.
func TestOutboxReplayExactlyOnce(t *testing.T) {
	d, c, e := startEnv(t)
	d.Stop()
	const turns = 4
	for i := range turns {
		e.session = fmt.Sprintf("offline-%d", i)
		r := e.mustRun("Stop", e.payload("stop.json", ""))
		if r.stdout != "" {
			t.Fatalf("Stop printed %q while the daemon was down", r.stdout)
		}
	}
	o := e.outbox()
	MustHavePending(t, o, turns)
	// Simulate a crash after delivery and before removal: the same turn
	// queued twice.
	names, _ := o.Pending()
	dup, _ := os.ReadFile(filepath.Join(o.Dir(), names[0]))
	os.WriteFile(filepath.Join(o.Dir(), "99999999999999999999-dup.json"), dup, 0o600)
	// And a corrupt entry, which must not block the others.
	os.WriteFile(filepath.Join(o.Dir(), "99999999999999999999-bad.json"), []byte(`{"v":1,"kind":"turn","turn":{`), 0o600)

	d.Start()
	r := e.manage("sync")
	if r.code != 0 || !strings.Contains(r.stderr, "quarantined") {
		t.Fatalf("sync: code %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}
	if n := MustMemories(t, c); n != turns {
		t.Fatalf("memories = %d, want %d", n, turns)
	}
	MustHavePending(t, o, 0)
	if q, _ := o.Quarantined(); len(q) != 1 {
		t.Fatalf("quarantined = %v, want the corrupt entry", q)
	}
	// Replaying again changes nothing; this time through the binary
	// invoked as sage_manage.
	link := filepath.Join(t.TempDir(), "sage_manage")
	if err := os.Symlink(e.bin, link); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(link, "sync", "--json")
	cmd.Env = e.environ()
	out, err := cmd.Output()
	var res struct {
		Sent      int `json:"sent"`
		Remaining int `json:"remaining"`
	}
	if err != nil || json.Unmarshal(out, &res) != nil || res.Sent != 0 || res.Remaining != 0 {
		t.Fatalf("sage_manage sync --json: %v %s", err, out)
	}
	if n := MustMemories(t, c); n != turns {
		t.Fatalf("memories after second sync = %d, want %d", n, turns)
	}
}

// TestConcurrentHookProcesses: many hook processes at once, first with the
// daemon down (all queue), then up (all drain): every turn exactly once.
func TestConcurrentHookProcesses(t *testing.T) {
	d, c, e := startEnv(t)
	d.Stop()
	const procs = 6
	runAll := func(from int, event, file string) {
		var wg sync.WaitGroup
		for i := range procs {
			ee := *e
			ee.session = fmt.Sprintf("conc-%d", from+i)
			p := ee.payload(file, "")
			wg.Go(func() {
				r := ee.run(event, p)
				if r.code != 0 || r.stdout != "" {
					t.Errorf("%s: code %d stdout %q", event, r.code, r.stdout)
				}
			})
		}
		wg.Wait()
	}
	runAll(0, "Stop", "stop.json")
	MustHavePending(t, e.outbox(), procs)
	d.Start()
	// New turns and flushes at once, all draining the same outbox.
	var wg sync.WaitGroup
	wg.Go(func() { runAll(procs, "Stop", "stop.json") })
	wg.Go(func() { runAll(0, "PreCompact", "pre_compact.json") })
	wg.Wait()
	if r := e.manage("sync"); r.code != 0 {
		t.Fatalf("sync: %s", r.stderr)
	}
	if n := MustMemories(t, c); n != 2*procs {
		t.Fatalf("memories = %d, want %d", n, 2*procs)
	}
	for i := range 2 * procs {
		if s := MustSession(t, c, fmt.Sprintf("conc-%d", i)); len(s.Items) != 1 {
			t.Errorf("session conc-%d has %d memories", i, len(s.Items))
		}
	}
}

// TestBudgetWithHangingDaemon: a daemon that accepts and never answers
// cannot hold a hook past its budget; nothing goes to stdout; exit 0.
func TestBudgetWithHangingDaemon(t *testing.T) {
	e := newEnv(t, testenv.HungURL(t)+"/mcp", "sage_test_token")
	const budget = 700 * time.Millisecond
	// Process start, build cache and a loaded 2-core machine: a generous
	// margin. This is a correctness bound, not a speed measurement.
	const margin = 2 * time.Second
	o := e.outbox()
	if err := o.Append(api.Turn{IdempotencyKey: "s:1", SessionID: "s", UserPrompt: "queued", AssistantResponse: "x"}); err != nil {
		t.Fatal(err)
	}
	for _, ev := range []struct{ name, file, prompt string }{
		{"SessionEnd", "session_end.json", ""},
		{"UserPromptSubmit", "user_prompt_submit.json", "How does the outbox survive a crash?"},
		{"SessionStart", "session_start.json", ""},
		{"Stop", "stop.json", ""},
		{"PreCompact", "pre_compact.json", ""},
	} {
		r := e.run(ev.name, e.payload(ev.file, ev.prompt), fmt.Sprintf("SAGE_HOOKS_TIMEOUT_MS=%d", budget.Milliseconds()))
		if r.code != 0 || r.stdout != "" {
			t.Errorf("%s: code %d stdout %q", ev.name, r.code, r.stdout)
		}
		if r.elapsed > budget+margin {
			t.Errorf("%s took %v, budget %v", ev.name, r.elapsed, budget)
		}
	}
	// The queued turn and the Stop's turn are still there.
	MustHavePending(t, o, 2)
}

// TestFailuresPrintNothing: unreachable daemon, bad input, unknown event,
// bad settings: exit 0 and an empty stdout every time.
func TestFailuresPrintNothing(t *testing.T) {
	e := newEnv(t, testenv.RefusedURL(t)+"/mcp", "tok")
	cases := []struct {
		name, event string
		stdin       []byte
		env         []string
	}{
		{"unreachable start", "SessionStart", e.payload("session_start.json", ""), nil},
		{"unreachable prompt", "UserPromptSubmit", e.payload("user_prompt_submit.json", "How does the outbox survive a crash?"), nil},
		{"unreachable stop", "Stop", e.payload("stop.json", ""), nil},
		{"not json", "UserPromptSubmit", []byte("{not json"), nil},
		{"empty stdin", "Stop", nil, nil},
		{"unknown event", "Notification", e.payload("stop.json", ""), nil},
		{"bad env", "UserPromptSubmit", e.payload("user_prompt_submit.json", "How does the outbox survive?"), []string{"SAGE_HOOKS_MAX_CHARS=lots"}},
		{"bad url", "SessionStart", e.payload("session_start.json", ""), []string{"SAGE_URL=ftp://x"}},
	}
	for _, tc := range cases {
		r := e.run(tc.event, tc.stdin, tc.env...)
		if r.code != 0 || r.stdout != "" {
			t.Errorf("%s: code %d stdout %q", tc.name, r.code, r.stdout)
		}
		if strings.Contains(r.stderr, "tok\n") || strings.Contains(r.stderr, "Bearer") {
			t.Errorf("%s: stderr leaks the token: %q", tc.name, r.stderr)
		}
	}
	// The unreachable Stop queued its turn.
	MustHavePending(t, e.outbox(), 1)
}

// TestInjectedContextBudget: many long memories, several budgets: the
// injected context never exceeds its budget.
func TestInjectedContextBudget(t *testing.T) {
	d := daemontest.Start(t)
	c := MustClient(t, d)
	var turns []api.Turn
	for i := range 40 {
		turns = append(turns, api.Turn{IdempotencyKey: fmt.Sprintf("b:%d", i), SessionID: "budget-old", Project: "sage-demo",
			UserPrompt:        fmt.Sprintf("outbox crash recovery question %d", i),
			AssistantResponse: strings.Repeat("The outbox fsyncs the entry and the directory before renaming. 记忆 ", 40)})
	}
	if _, err := c.SaveTurns(context.Background(), turns); err != nil {
		t.Fatal(err)
	}
	e := newEnv(t, d.MCPURL, d.Token)
	for _, budget := range []int{200, 450, 1000, 3000} {
		r := e.mustRun("UserPromptSubmit", e.payload("user_prompt_submit.json", "outbox crash recovery: fsync the directory?"), fmt.Sprintf("SAGE_HOOKS_MAX_CHARS=%d", budget))
		got := additionalContext(t, "UserPromptSubmit", r.stdout)
		if got == "" {
			t.Errorf("budget %d: nothing injected", budget)
			continue
		}
		if n := utf8.RuneCountInString(got); n > budget {
			t.Errorf("budget %d: injected %d runes", budget, n)
		}
		r = e.mustRun("SessionStart", e.payload("session_start.json", ""), fmt.Sprintf("SAGE_HOOKS_MAX_CHARS=%d", budget))
		if n := utf8.RuneCountInString(additionalContext(t, "SessionStart", r.stdout)); n > budget {
			t.Errorf("budget %d: recap has %d runes", budget, n)
		}
	}
}
