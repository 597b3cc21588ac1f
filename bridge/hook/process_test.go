package hook

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

func TestErrorLine(t *testing.T) {
	tests := []struct {
		name string
		msg  string
		want string // the message part of the line
	}{
		{"short", "daemon unreachable", "daemon unreachable"},
		{"ascii cut", strings.Repeat("a", 400), strings.Repeat("a", maxErrorLine-1) + "…"},
		// A byte cut at 300 would split the é that starts at byte 299.
		{"no split rune", strings.Repeat("a", 299) + "éé" + strings.Repeat("b", 50), strings.Repeat("a", 299) + "…"},
		{"cjk", strings.Repeat("记", 400), strings.Repeat("记", maxErrorLine-1) + "…"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := errorLine("Stop", errors.New(tt.msg))
			if !utf8.ValidString(got) {
				t.Fatalf("errorLine split a character: %q", got[len(got)-8:])
			}
			if want := "sage hook Stop: " + tt.want; got != want {
				t.Fatalf("errorLine = %q…, want %q…", got[:min(len(got), 40)], want[:min(len(want), 40)])
			}
		})
	}
}

func TestRunWatched(t *testing.T) {
	prompt := `{"session_id":"s1","hook_event_name":"UserPromptSubmit","prompt":"how is the outbox format defined in detail?","cwd":"/tmp/p"}`
	tests := []struct {
		name    string
		client  API
		stdin   func(t *testing.T) io.Reader
		wantErr string
	}{
		{"stuck stdin", nil, func(t *testing.T) io.Reader {
			r, w := io.Pipe()
			t.Cleanup(func() { w.Close() })
			return r
		}, "gave up after"},
		// A nil client panics at the first daemon call.
		{"panic", nil, func(*testing.T) io.Reader { return strings.NewReader(prompt) }, "internal error"},
		{"bad payload", nil, func(*testing.T) io.Reader { return strings.NewReader("{not json") }, "decode hook input"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := &Runner{Client: tt.client, Options: Options{Inject: true, MaxChars: 2000, Timeout: 100 * time.Millisecond,
				MinScore: DefaultMinScore, StateDir: t.TempDir()}}
			var out bytes.Buffer
			start := time.Now()
			err := r.RunWatched(context.Background(), "UserPromptSubmit", tt.stdin(t), &out)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("err = %v, want %q", err, tt.wantErr)
			}
			if took := time.Since(start); took > 100*time.Millisecond+watchdogGrace+time.Second {
				t.Fatalf("took %v, want about the budget plus %v", took, watchdogGrace)
			}
			if out.Len() != 0 {
				t.Fatalf("stdout = %q after a failure", out.String())
			}
		})
	}
}

func TestOpenLogRotates(t *testing.T) {
	tests := []struct {
		name        string
		size        int
		wantRotated bool
	}{
		{"small", 10, false},
		{"over the limit", LogMax + 1, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cache := t.TempDir()
			p := filepath.Join(cache, "hook.log")
			if err := os.WriteFile(p, bytes.Repeat([]byte("x"), tt.size), 0o600); err != nil {
				t.Fatal(err)
			}
			logger, closeLog := OpenLog(cache, false)
			logger.Info("after")
			closeLog()
			_, err := os.Stat(p + ".1")
			if rotated := err == nil; rotated != tt.wantRotated {
				t.Fatalf("rotated = %v, want %v", rotated, tt.wantRotated)
			}
			b, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(string(b), "msg=after") {
				t.Fatalf("hook.log lacks the new entry: %q", b[max(0, len(b)-80):])
			}
		})
	}
}
