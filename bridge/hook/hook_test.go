package hook

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/sage-mcp/sage/bridge/outbox"
	"github.com/sage-mcp/sage/shared/api"
	"github.com/sage-mcp/sage/shared/claudehooks"
	"github.com/sage-mcp/sage/shared/config"
)

func TestTrivial(t *testing.T) {
	tests := []struct {
		prompt string
		want   bool
	}{
		{"ok", true}, {"OK!", true}, {"thanks", true}, {"Thank you.", true}, {"继续", true}, {"好的，谢谢", true},
		{"/compact", true}, {"/review-pr 12", true}, {"", true}, {"  ", true}, {"y", true}, {"fix it", true},
		{"go on", true}, {"yes please", true},
		{"fix the outbox", false}, {"记忆系统怎么用", false}, {"sage_manage search 记忆", false},
		{"How does the outbox survive a crash?", false}, {"continue with the migration of the tokens table", false},
	}
	for _, tt := range tests {
		if got := Trivial(tt.prompt); got != tt.want {
			t.Errorf("Trivial(%q) = %v, want %v", tt.prompt, got, tt.want)
		}
	}
}

func TestProjectName(t *testing.T) {
	root := t.TempDir()
	repo := filepath.Join(root, "code", "my-repo")
	deep := filepath.Join(repo, "a", "b")
	wt := filepath.Join(root, "worktree")
	plain := filepath.Join(root, "notes")
	for _, d := range []string{filepath.Join(repo, ".git"), deep, wt, plain} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			t.Fatal(err)
		}
	}
	// A git worktree has a .git file.
	if err := os.WriteFile(filepath.Join(wt, ".git"), []byte("gitdir: /x\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct{ cwd, want string }{
		{repo, "my-repo"}, {deep, "my-repo"}, {wt, "worktree"}, {plain, "notes"}, {"", ""},
		{filepath.Join(root, "missing", "dir"), "dir"},
	}
	for _, tt := range tests {
		if got := ProjectName(tt.cwd); got != tt.want {
			t.Errorf("ProjectName(%q) = %q, want %q", tt.cwd, got, tt.want)
		}
	}
}

func TestResolveOptions(t *testing.T) {
	f := func(s string) *config.File {
		t.Helper()
		file, err := config.Parse([]byte(s))
		if err != nil {
			t.Fatal(err)
		}
		return file
	}
	tests := []struct {
		name    string
		file    string
		env     map[string]string
		want    Options
		wantErr bool
	}{
		{"defaults", `{}`, nil, Options{Inject: true, MaxChars: DefaultMaxChars, Timeout: DefaultTimeout, MinScore: DefaultMinScore}, false},
		{"file", `{"hooks":{"inject":false,"max_chars":1000,"timeout_ms":900}}`, nil, Options{Inject: false, MaxChars: 1000, Timeout: 900 * time.Millisecond, MinScore: DefaultMinScore}, false},
		{"env wins", `{"hooks":{"inject":true,"max_chars":1000,"timeout_ms":900}}`,
			map[string]string{EnvInject: "0", EnvMaxChars: "2500", EnvTimeout: "300", EnvMinScore: "0"},
			Options{Inject: false, MaxChars: 2500, Timeout: 300 * time.Millisecond, MinScore: 0}, false},
		{"clamped chars", `{}`, map[string]string{EnvMaxChars: "10"}, Options{Inject: true, MaxChars: MinMaxChars, Timeout: DefaultTimeout, MinScore: DefaultMinScore}, false},
		{"bad inject", `{}`, map[string]string{EnvInject: "maybe"}, Options{}, true},
		{"bad chars", `{}`, map[string]string{EnvMaxChars: "lots"}, Options{}, true},
		{"bad timeout", `{}`, map[string]string{EnvTimeout: "60000"}, Options{}, true},
		{"bad score", `{}`, map[string]string{EnvMinScore: "-1"}, Options{}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			getenv := func(k string) string { return tt.env[k] }
			file := f(tt.file)
			c, err := config.Resolve(config.Flags{}, getenv, file)
			if err != nil {
				t.Fatal(err)
			}
			got, err := ResolveOptions(c, getenv)
			if tt.wantErr {
				if err == nil {
					t.Fatalf("no error, got %+v", got)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Fatalf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}

// TestOneTimeoutDefault: the hooks' budget and the config's default are
// one value, and it keeps the hooks of one prompt with a hung daemon
// within 2 s (the prompt hook's whole budget, then Stop with the marker).
func TestOneTimeoutDefault(t *testing.T) {
	none := func(string) string { return "" }
	c, err := config.Resolve(config.Flags{}, none, nil)
	if err != nil {
		t.Fatal(err)
	}
	o, err := ResolveOptions(c, none)
	if err != nil {
		t.Fatal(err)
	}
	if c.HooksTimeout != o.Timeout || o.Timeout != DefaultTimeout {
		t.Fatalf("config default %v, hook budget %v, hook.DefaultTimeout %v: want one value", c.HooksTimeout, o.Timeout, DefaultTimeout)
	}
	if total := o.budget(claudehooks.UserPromptSubmit) + SuspectBudget; total > 2*time.Second {
		t.Fatalf("prompt hook %v + Stop %v = %v with a hung daemon, want at most 2s", o.budget(claudehooks.UserPromptSubmit), SuspectBudget, total)
	}
}

func memories(n, size int) []api.Memory {
	var ms []api.Memory
	for i := range n {
		ms = append(ms, api.Memory{ID: int64(i + 1), Kind: "turn", Project: "p", Score: 0.03,
			Text:       strings.Repeat("记忆 memory text ", size/16+1)[:size],
			OccurredAt: time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)})
	}
	return ms
}

func TestFormatBudgets(t *testing.T) {
	sessions := []api.Session{{ID: "cur", Title: "current"}, {ID: "a", Title: strings.Repeat("标题 ", 200), Memories: 3, LastAt: time.Now()}}
	for _, budget := range []int{MinMaxChars, 333, 1000, 4000, MaxMaxChars} {
		for _, n := range []int{0, 1, 5, 50} {
			for _, size := range []int{10, 500, 5000} {
				ms := memories(n, size)
				var block strings.Builder
				for _, m := range ms {
					block.WriteString("- " + m.Text + "\n")
				}
				got := MarkContext(block.String(), budget)
				if c := utf8.RuneCountInString(got); c > budget {
					t.Fatalf("MarkContext(%d×%d, %d) = %d runes", n, size, budget, c)
				}
				if n > 0 && got == "" {
					t.Fatalf("MarkContext(%d×%d, %d) is empty", n, size, budget)
				}
				if got != "" && (!strings.HasPrefix(got, "<sage-memory>") || !strings.HasSuffix(got, "</sage-memory>")) {
					t.Fatalf("unmarked: %q", got)
				}
				if !utf8.ValidString(got) {
					t.Fatal("invalid UTF-8")
				}
				rc := FormatRecap("p", "cur", sessions, ms, ms, budget)
				if c := utf8.RuneCountInString(rc); c > budget {
					t.Fatalf("FormatRecap(%d×%d, %d) = %d runes", n, size, budget, c)
				}
				if strings.Contains(rc, "current") {
					t.Fatal("recap lists the current session")
				}
			}
		}
	}
	if MarkContext("", 1000) != "" || MarkContext("\n", 1000) != "" || FormatRecap("p", "", nil, nil, nil, 1000) != "" {
		t.Fatal("empty input gave output")
	}
}

// newTestRunner returns a Runner of c with the options o, its outbox and
// state directory under a new temporary directory, which it returns too.
func newTestRunner(t *testing.T, c API, o Options) (*Runner, string) {
	t.Helper()
	dir := t.TempDir()
	ob, err := outbox.Open(filepath.Join(dir, "outbox"), nil)
	if err != nil {
		t.Fatal(err)
	}
	o.StateDir = filepath.Join(dir, "state")
	return &Runner{Client: c, Outbox: ob, Options: o}, dir
}

// TestBuildTurn covers Stop's sources: transcript (with and without
// last_assistant_message), a lagging transcript, the state file only.
func TestBuildTurn(t *testing.T) {
	now := time.Date(2026, 11, 20, 9, 10, 0, 0, time.UTC)
	r, _ := newTestRunner(t, nil, Options{})
	r.Now = func() time.Time { return now }
	tr := "testdata/transcript.jsonl"
	// The transcript never catches up here: Stop waits for it until the
	// budget (less the outbox's reserve) is spent.
	ctx := context.Background()

	tu, ok, err := r.buildTurn(ctx, Input{SessionID: "s", TranscriptPath: tr, CWD: "/home/ada/src/sage", LastAssistantMessage: "文档已更新。"})
	if err != nil || !ok {
		t.Fatal(ok, err)
	}
	if tu.IdempotencyKey != "s:u3" || tu.UserPrompt != "继续，顺便更新文档" || strings.Count(tu.AssistantResponse, "文档已更新。") != 1 {
		t.Fatalf("turn = %+v", tu)
	}
	var meta map[string]any
	if err := json.Unmarshal(tu.Metadata, &meta); err != nil || meta["turn_uuid"] != "u3" {
		t.Fatalf("metadata = %s", tu.Metadata)
	}
	// last_assistant_message newer than the transcript's text is appended.
	tu, _, _ = r.buildTurn(ctx, Input{SessionID: "s", TranscriptPath: tr, LastAssistantMessage: "Also fixed the links."})
	if !strings.HasSuffix(tu.AssistantResponse, "Also fixed the links.") || tu.IdempotencyKey != "s:u3" {
		t.Fatalf("turn = %+v", tu)
	}
	// The transcript lags: the prompt remembered at UserPromptSubmit wins.
	r.saveState("s", state{Prompt: "a newer prompt", At: now})
	lagCtx, cancel := context.WithTimeout(ctx, stopReserve+50*time.Millisecond)
	defer cancel()
	tu, _, _ = r.buildTurn(lagCtx, Input{SessionID: "s", TranscriptPath: tr, LastAssistantMessage: "newer answer"})
	if tu.UserPrompt != "a newer prompt" || tu.AssistantResponse != "newer answer" || !strings.HasPrefix(tu.IdempotencyKey, "s:h") {
		t.Fatalf("lagging transcript: %+v", tu)
	}
	tu2, _, _ := r.buildTurn(lagCtx, Input{SessionID: "s", TranscriptPath: tr, LastAssistantMessage: "newer answer"})
	if tu2.IdempotencyKey != tu.IdempotencyKey {
		t.Fatal("hash key is not stable")
	}
	// The same prompt as the transcript's: the transcript wins.
	r.saveState("s", state{Prompt: "继续，顺便更新文档", At: now})
	if tu, _, _ = r.buildTurn(ctx, Input{SessionID: "s", TranscriptPath: tr}); tu.IdempotencyKey != "s:u3" {
		t.Fatalf("matching state: %+v", tu)
	}
	// Nothing at all: no turn.
	if _, ok, err := r.buildTurn(ctx, Input{SessionID: "other"}); ok || err != nil {
		t.Fatalf("empty: ok=%v err=%v", ok, err)
	}
	if _, _, err := r.buildTurn(ctx, Input{}); err == nil {
		t.Fatal("no session id: no error")
	}
}

func TestParseInput(t *testing.T) {
	for _, name := range []string{"session_start.json", "user_prompt_submit.json", "stop.json", "stop_legacy.json", "pre_compact.json", "session_end.json"} {
		f, err := os.Open(filepath.Join("testdata", name))
		if err != nil {
			t.Fatal(err)
		}
		in, err := ParseInput(f)
		f.Close()
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if in.SessionID == "" || in.HookEventName == "" || in.CWD == "" {
			t.Errorf("%s: %+v", name, in)
		}
	}
	if _, err := ParseInput(strings.NewReader("nope")); err == nil {
		t.Fatal("bad JSON accepted")
	}
}

func FuzzParseInput(f *testing.F) {
	b, _ := os.ReadFile("testdata/stop.json")
	f.Add(b)
	f.Fuzz(func(t *testing.T, b []byte) {
		_, _ = ParseInput(strings.NewReader(string(b)))
	})
}
