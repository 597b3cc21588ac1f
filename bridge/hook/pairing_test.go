package hook

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sage-mcp/sage/bridge/client"
	"github.com/sage-mcp/sage/shared/api"
)

// recorder is an API that records the turns it is sent.
type recorder struct {
	mu    sync.Mutex
	turns []api.Turn
}

func (f *recorder) Context(context.Context, client.ContextParams) (api.ContextResponse, error) {
	return api.ContextResponse{}, nil
}
func (f *recorder) Sessions(context.Context, string, int) ([]api.Session, error) { return nil, nil }
func (f *recorder) Search(context.Context, client.SearchParams) ([]api.Memory, error) {
	return nil, nil
}
func (f *recorder) SendTurns(_ context.Context, ts []api.Turn) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.turns = append(f.turns, ts...)
	return nil
}

// byKey returns the recorded turns deduplicated by idempotency key, as the
// daemon stores them.
func (f *recorder) byKey() []api.Turn {
	f.mu.Lock()
	defer f.mu.Unlock()
	seen := map[string]bool{}
	var out []api.Turn
	for _, t := range f.turns {
		if !seen[t.IdempotencyKey] {
			seen[t.IdempotencyKey] = true
			out = append(out, t)
		}
	}
	return out
}

// transcriptLines are the entries Claude Code 2.1 writes for one turn.
func transcriptLines(promptID, prompt, answer string, at time.Time) string {
	u, _ := json.Marshal(map[string]any{"type": "user", "promptId": promptID, "uuid": "u-" + promptID,
		"timestamp": at.Format(time.RFC3339Nano), "message": map[string]any{"role": "user", "content": prompt}})
	a, _ := json.Marshal(map[string]any{"type": "assistant", "uuid": "a-" + promptID,
		"timestamp": at.Add(time.Second).Format(time.RFC3339Nano),
		"message":   map[string]any{"id": "m-" + promptID, "role": "assistant", "content": []any{map[string]any{"type": "text", "text": answer}}}})
	return string(u) + "\n" + string(a) + "\n"
}

func mustAppend(t *testing.T, path, s string) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteString(s); err != nil {
		t.Fatal(err)
	}
}

// TestStopPairsByPromptID runs UserPromptSubmit and Stop for fast
// consecutive prompts while the transcript lags one turn behind (or has
// not been written at all), as Claude Code does: each prompt must be saved
// exactly once, with its own answer.
func TestStopPairsByPromptID(t *testing.T) {
	cases := []struct {
		name string
		// written is how many turns the transcript holds at each Stop,
		// counted from the current one: 0 lags one turn behind, -1 means
		// no transcript file yet, 1 is up to date.
		written int
		// catchUp writes the current turn while Stop waits.
		catchUp bool
	}{
		{"no transcript yet", -1, false},
		{"transcript one turn behind", 0, false},
		{"transcript catches up while Stop waits", 0, true},
		{"transcript up to date", 1, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rec := &recorder{}
			r, dir := newTestRunner(t, rec, Options{Timeout: time.Second, MaxChars: 2000})
			tr := filepath.Join(dir, "session.jsonl")
			const n = 3
			for i := 1; i <= n; i++ {
				id := fmt.Sprintf("p%d", i)
				prompt, answer := fmt.Sprintf("Quick %d", i), fmt.Sprintf("Answer %d.", i)
				at := time.Now() // fast turns: well within a second of each other
				payload := func(event, extra string) Input {
					var in Input
					s := fmt.Sprintf(`{"session_id":"s","transcript_path":%q,"cwd":"/w/proj","prompt_id":%q,"hook_event_name":%q%s}`, tr, id, event, extra)
					if err := json.Unmarshal([]byte(s), &in); err != nil {
						t.Fatal(err)
					}
					return in
				}
				if err := r.Run(context.Background(), "UserPromptSubmit", payload("UserPromptSubmit", fmt.Sprintf(`,"prompt":%q`, prompt)), &bytes.Buffer{}); err != nil {
					t.Fatal(err)
				}
				switch {
				case tc.written == 1:
					mustAppend(t, tr, transcriptLines(id, prompt, answer, at))
				case tc.written == 0 && i > 1:
					prev := i - 1
					mustAppend(t, tr, transcriptLines(fmt.Sprintf("p%d", prev), fmt.Sprintf("Quick %d", prev), fmt.Sprintf("Answer %d.", prev), at.Add(-500*time.Millisecond)))
				}
				var wg sync.WaitGroup
				if tc.catchUp {
					wg.Go(func() { mustAppend(t, tr, transcriptLines(id, prompt, answer, at)) })
				}
				if err := r.Run(context.Background(), "Stop", payload("Stop", fmt.Sprintf(`,"last_assistant_message":%q`, answer)), &bytes.Buffer{}); err != nil {
					t.Fatal(err)
				}
				wg.Wait()
				if tc.catchUp {
					// The next turn's lag: drop what was caught up.
					if err := os.Truncate(tr, 0); err != nil {
						t.Fatal(err)
					}
				}
			}
			got := rec.byKey()
			var lines []string
			for _, tu := range got {
				lines = append(lines, tu.UserPrompt+" → "+tu.AssistantResponse)
			}
			if len(got) != n {
				t.Fatalf("%d turns saved, want %d:\n%s", len(got), n, strings.Join(lines, "\n"))
			}
			for i, tu := range got {
				want := fmt.Sprintf("Quick %d → Answer %d.", i+1, i+1)
				if lines[i] != want {
					t.Errorf("turn %d = %q, want %q", i, lines[i], want)
				}
				if tu.IdempotencyKey != fmt.Sprintf("s:pp%d", i+1) {
					t.Errorf("turn %d key %q", i, tu.IdempotencyKey)
				}
			}
		})
	}
}
