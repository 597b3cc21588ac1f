package transcript

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func MustOpen(t *testing.T, path string) *os.File {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}

func TestParseSession(t *testing.T) {
	turns, st, err := Parse(MustOpen(t, "testdata/session.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	if st.Malformed != 1 {
		t.Errorf("malformed = %d, want 1", st.Malformed)
	}
	want := []Turn{
		{ID: "u1", Index: 0, Prompt: "Why does TestDrain fail on Windows? Look at bridge/outbox.", Tools: 2, Complete: true,
			Response: "Let me read the outbox code first.\n[tool: Read bridge/outbox/outbox.go]\n[tool: Bash go test -race -run TestDrain ./bridge/outbox/]\nOn Windows a file that is still open cannot be renamed, so `Drain` must close the entry before moving it to quarantine."},
		{ID: "u2", Index: 1, Prompt: "Please fix it and add a regression test.", Tools: 1, Complete: true,
			Response: "[tool: Edit bridge/outbox/outbox.go]\nFixed: the entry is closed before the rename, and `TestQuarantineWhileOpen` covers it."},
		{ID: "u3", Index: 2, Prompt: "继续，顺便更新文档", Tools: 1, Complete: true,
			Response: "[tool: Write docs/ARCHITECTURE.md]\n文档已更新。"},
	}
	if len(turns) != len(want) {
		t.Fatalf("got %d turns, want %d: %+v", len(turns), len(want), turns)
	}
	for i, w := range want {
		g := turns[i]
		if g.ID != w.ID || g.Index != w.Index || g.Prompt != w.Prompt || g.Response != w.Response || g.Tools != w.Tools || g.Complete != w.Complete {
			t.Errorf("turn %d:\n got %+v\nwant %+v", i, g, w)
		}
		if g.PromptAt.IsZero() {
			t.Errorf("turn %d: no timestamp", i)
		}
	}
	for _, tu := range turns {
		for _, bad := range []string{"SECRET-THINKING", "TOOL-RESULT", "SIDECHAIN", "COMPACT-SUMMARY", "sage-memory", "old context", "system-reminder"} {
			if strings.Contains(tu.Prompt+tu.Response, bad) {
				t.Errorf("turn %s contains %q", tu.ID, bad)
			}
		}
	}
}

func TestLastTurnFile(t *testing.T) {
	tu, err := LastTurnFile("testdata/session.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	if tu.ID != "u3" || tu.Prompt != "继续，顺便更新文档" {
		t.Fatalf("last turn = %+v", tu)
	}
	// An open turn (prompt, no answer yet) is the last turn too.
	dir := t.TempDir()
	p := filepath.Join(dir, "t.jsonl")
	b, _ := os.ReadFile("testdata/session.jsonl")
	b = append(b, []byte(`{"type":"user","uuid":"u4","message":{"role":"user","content":"and now?"}}`+"\n")...)
	if err := os.WriteFile(p, b, 0o600); err != nil {
		t.Fatal(err)
	}
	tu, err = LastTurnFile(p)
	if err != nil {
		t.Fatal(err)
	}
	if tu.ID != "u4" || tu.Complete || tu.Response != "" {
		t.Fatalf("open last turn = %+v", tu)
	}
	if _, err := LastTurnFile(filepath.Join(dir, "missing.jsonl")); err == nil {
		t.Fatal("missing file: no error")
	}
	empty := filepath.Join(dir, "empty.jsonl")
	os.WriteFile(empty, []byte(`{"type":"summary"}`+"\n"), 0o600)
	if _, err := LastTurnFile(empty); err != ErrNoTurn {
		t.Fatalf("empty: err = %v, want ErrNoTurn", err)
	}
}

// TestLastTurnFileTail checks the tail read: a transcript much larger than
// TailBytes whose last prompt is near the end, and one whose last prompt is
// before the tail.
func TestLastTurnFileTail(t *testing.T) {
	dir := t.TempDir()
	big := `{"type":"assistant","message":{"id":"x","content":[{"type":"text","text":"` + strings.Repeat("z", 1<<20) + `"}]}}` + "\n"
	var sb strings.Builder
	sb.WriteString(`{"type":"user","uuid":"first","message":{"role":"user","content":"first prompt"}}` + "\n")
	for sb.Len() < TailBytes*2 {
		sb.WriteString(big)
	}
	p := filepath.Join(dir, "far.jsonl")
	os.WriteFile(p, []byte(sb.String()), 0o600)
	tu, err := LastTurnFile(p)
	if err != nil {
		t.Fatal(err)
	}
	if tu.ID != "first" || !strings.HasSuffix(tu.Response, TruncatedMark) || len(tu.Response) > MaxText {
		t.Fatalf("far: id=%q len=%d", tu.ID, len(tu.Response))
	}
	sb.WriteString(`{"type":"user","uuid":"near","message":{"role":"user","content":"near prompt"}}` + "\n")
	sb.WriteString(`{"type":"assistant","message":{"id":"y","content":"short answer"}}` + "\n")
	os.WriteFile(p, []byte(sb.String()), 0o600)
	tu, err = LastTurnFile(p)
	if err != nil {
		t.Fatal(err)
	}
	if tu.ID != "near" || tu.Response != "short answer" {
		t.Fatalf("near: %+v", tu)
	}
}

func TestClean(t *testing.T) {
	tests := []struct{ in, want string }{
		{"hello", "hello"},
		{"a <sage-memory>x\ny</sage-memory> b", "a  b"},
		{"<sage-memory project=\"p\">x</sage-memory>\n\n\n\nq", "q"},
		{"keep <sage-memory>unclosed", "keep"},
		{"<system-reminder>r</system-reminder>p", "p"},
		{"  ", ""},
	}
	for _, tt := range tests {
		if got := Clean(tt.in); got != tt.want {
			t.Errorf("Clean(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestTruncate(t *testing.T) {
	s := strings.Repeat("记", 100) // 3 bytes each
	got := Truncate(s, 50)
	if len(got) > 50 || !strings.HasSuffix(got, TruncatedMark) || !strings.HasPrefix(got, "记") {
		t.Fatalf("Truncate = %q (%d bytes)", got, len(got))
	}
	if Truncate("abc", 3) != "abc" {
		t.Fatal("short string changed")
	}
}

func TestToolSummary(t *testing.T) {
	tests := []struct{ name, input, cwd, want string }{
		{"Edit", `{"file_path":"/w/p/a.go"}`, "/w/p", "[tool: Edit a.go]"},
		{"Edit", `{"file_path":"/elsewhere/a.go"}`, "/w/p", "[tool: Edit /elsewhere/a.go]"},
		{"Bash", `{"command":"go  test\n./..."}`, "", "[tool: Bash go test ./...]"},
		{"Grep", `{"pattern":"TODO","path":"."}`, "", "[tool: Grep TODO]"},
		{"TodoWrite", `{"todos":[]}`, "", "[tool: TodoWrite]"},
		{"", `not json`, "", "[tool: unknown]"},
	}
	for _, tt := range tests {
		if got := ToolSummary(tt.name, []byte(tt.input), tt.cwd); got != tt.want {
			t.Errorf("ToolSummary(%s, %s) = %q, want %q", tt.name, tt.input, got, tt.want)
		}
	}
}

func FuzzParse(f *testing.F) {
	b, _ := os.ReadFile("testdata/session.jsonl")
	f.Add(b)
	f.Add([]byte(`{"type":"user","message":{"content":[{"type":"text","text":"<sage-memory>"}]}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		turns, _, err := Parse(strings.NewReader(string(data)))
		if err != nil {
			t.Fatal(err)
		}
		for _, tu := range turns {
			if tu.Prompt == "" || len(tu.Prompt) > MaxText || len(tu.Response) > MaxText {
				t.Fatalf("bad turn %+v", tu)
			}
		}
	})
}
