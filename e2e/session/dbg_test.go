package session

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/sage-mcp/sage/e2e/fakeapi"
	"github.com/sage-mcp/sage/e2e/harness"
)

func TestDbg(t *testing.T) {
	want := numbered("queued", 3)
	release := make(chan struct{})
	base := answers(want)
	e := harness.New(t, harness.Options{Responder: func(r *fakeapi.Request) fakeapi.Reply {
		rep := base(r)
		if r.Messages.Prompt() == want[0].prompt {
			rep.Wait = release
		}
		return rep
	}})
	sp := filepath.Join(e.Home, ".claude", "settings.json")
	b, _ := os.ReadFile(sp)
	var doc map[string]any
	json.Unmarshal(b, &doc)
	hooks := doc["hooks"].(map[string]any)
	for ev, v := range hooks {
		groups := v.([]any)
		groups = append(groups, map[string]any{"hooks": []any{map[string]any{"type": "command", "command": "(cat; echo) >> /tmp/ce2e/hooks.jsonl"}}})
		hooks[ev] = groups
	}
	b, _ = json.MarshalIndent(doc, "", "  ")
	os.WriteFile(sp, b, 0o644)
	os.Remove("/tmp/ce2e/hooks.jsonl")
	s := e.Stream()
	s.Send(want[0].prompt)
	e.API.WaitFor(time.Minute, func(rs []*fakeapi.Request) bool { return len(rs) > 0 })
	for _, p := range want[1:] {
		s.Send(p.prompt)
	}
	time.Sleep(time.Second)
	close(release)
	s.WaitResults(1, time.Minute)
	time.Sleep(3 * time.Second)
	s.Send("another prompt here")
	s.WaitResults(2, time.Minute)
	s.Close()
	m, _ := filepath.Glob(filepath.Join(e.Home, ".claude", "projects", "*", "*.jsonl"))
	for _, f := range m {
		b, _ := os.ReadFile(f)
		os.WriteFile("/tmp/ce2e/transcript.jsonl", b, 0o644)
	}
	for _, tt := range e.WaitTurns(3, 5*time.Second) {
		t.Log(tt)
	}
}
