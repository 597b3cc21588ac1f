// Package session runs real Claude Code sessions against a fake model with
// Sage installed, and checks what Sage stored and injected.
package session

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/sage-mcp/sage/e2e/fakeapi"
	"github.com/sage-mcp/sage/e2e/harness"
	"github.com/sage-mcp/sage/shared/textcut"
)

// saveWait bounds how long the hooks may take to store the turns after
// Claude Code is done.
const saveWait = 15 * time.Second

// pair is a prompt and the answer the fake model gives it.
type pair struct{ prompt, answer string }

// numbered returns n prompts "<prefix> N …" with distinct answers.
func numbered(prefix string, n int) []pair {
	var ps []pair
	for i := 1; i <= n; i++ {
		ps = append(ps, pair{fmt.Sprintf("%s prompt number %d", prefix, i), fmt.Sprintf("Answer to %s number %d.", prefix, i)})
	}
	return ps
}

func answers(ps []pair) fakeapi.Responder {
	m := map[string]string{}
	for _, p := range ps {
		m[p.prompt] = p.answer
	}
	return fakeapi.Answers(m)
}

// hasLine reports whether prompt is p or holds p as one of its lines
// (Claude Code joins prompts queued while the model is busy into one).
func hasLine(prompt, p string) bool {
	for _, l := range strings.Split(prompt, "\n") {
		if strings.TrimSpace(l) == p {
			return true
		}
	}
	return false
}

// MustExactlyOnce waits for the turns of want and checks that the daemon
// holds each prompt exactly once, with its own answer, and nothing else.
func MustExactlyOnce(t *testing.T, e *harness.Env, minTurns int, want []pair) []harness.Turn {
	t.Helper()
	turns := e.WaitTurns(minTurns, saveWait)
	var got []string
	for _, tt := range turns {
		got = append(got, tt.String())
	}
	bad := false
	for _, w := range want {
		n := 0
		for _, tt := range turns {
			if !hasLine(tt.Prompt, w.prompt) {
				continue
			}
			n++
			if !strings.Contains(tt.Response, w.answer) {
				t.Errorf("prompt %q stored with answer %q, want %q", w.prompt, tt.Response, w.answer)
			}
			for _, o := range want {
				if o != w && !hasLine(tt.Prompt, o.prompt) && strings.Contains(tt.Response, o.answer) {
					t.Errorf("prompt %q stored with another prompt's answer %q", w.prompt, o.answer)
				}
			}
		}
		if n != 1 {
			t.Errorf("prompt %q stored %d times, want once", w.prompt, n)
			bad = true
		}
	}
	for _, tt := range turns {
		known := false
		for _, w := range want {
			known = known || hasLine(tt.Prompt, w.prompt)
		}
		if !known {
			t.Errorf("unexpected turn %s", tt)
		}
	}
	if bad || t.Failed() {
		t.Errorf("stored turns (%d):\n%s%s", len(turns), strings.Join(got, "\n"), e.HookLog())
	}
	for _, tt := range turns {
		if tt.Project != e.Project {
			t.Errorf("turn %s stored with project %q, want %q", tt, tt.Project, e.Project)
		}
	}
	return turns
}

func TestOneTurnPerProcess(t *testing.T) {
	t.Parallel()
	want := numbered("single", 2)
	e := harness.New(t, harness.Options{Responder: answers(want)})
	for _, p := range want {
		r := e.Print(p.prompt)
		if r.Result != p.answer {
			t.Errorf("claude -p %q = %q, want %q", p.prompt, r.Result, p.answer)
		}
	}
	MustExactlyOnce(t, e, len(want), want)
}

func TestStreamInstantModel(t *testing.T) {
	t.Parallel()
	want := numbered("instant", 4)
	e := harness.New(t, harness.Options{Responder: answers(want)})
	s := e.Stream()
	for i, p := range want {
		s.Send(p.prompt)
		s.WaitResults(i+1, time.Minute)
	}
	if err := s.Close(); err != nil {
		t.Errorf("claude exited: %v\n%s", err, s.Stderr())
	}
	MustExactlyOnce(t, e, len(want), want)
}

func TestStreamQueuedPrompts(t *testing.T) {
	t.Parallel()
	want := numbered("queued", 3)
	release := make(chan struct{})
	base := answers(want)
	e := harness.New(t, harness.Options{Responder: func(r *fakeapi.Request) fakeapi.Reply {
		rep := base(r)
		if r.Messages.Prompt() == want[0].prompt {
			rep.Wait = release // the model is busy with the first prompt
		}
		return rep
	}})
	s := e.Stream()
	s.Send(want[0].prompt)
	if !e.API.WaitFor(time.Minute, func(rs []*fakeapi.Request) bool { return len(rs) > 0 }) {
		t.Fatalf("no model request\n%s", s.Stderr())
	}
	for _, p := range want[1:] {
		s.Send(p.prompt)
	}
	close(release)
	s.WaitResults(1, time.Minute)
	// Queued prompts may be answered in one request or one each; wait
	// until every prompt has reached the model and been answered.
	if !e.API.WaitFor(time.Minute, func(rs []*fakeapi.Request) bool {
		return strings.Contains(string(rs[len(rs)-1].Body), want[len(want)-1].prompt)
	}) {
		t.Fatal("the last queued prompt never reached the model")
	}
	if err := s.Close(); err != nil {
		t.Errorf("claude exited: %v\n%s", err, s.Stderr())
	}
	MustExactlyOnce(t, e, modelTurns(e), want)
}

// modelTurns counts the prompts the model was asked to answer (requests
// that do not carry a tool result).
func modelTurns(e *harness.Env) int {
	n := 0
	for _, r := range e.API.MessagesRequests() {
		if _, ok := r.Messages.ToolResult(); !ok && r.Messages.Prompt() != "" {
			n++
		}
	}
	return n
}

func TestResume(t *testing.T) {
	t.Parallel()
	want := numbered("resumed", 3)
	e := harness.New(t, harness.Options{Responder: answers(want)})
	first := e.Print(want[0].prompt)
	for _, p := range want[1:] {
		r := e.Print(p.prompt, "--resume", first.SessionID)
		if r.SessionID != first.SessionID {
			t.Logf("--resume gave session %s (was %s)", r.SessionID, first.SessionID)
		}
	}
	turns := MustExactlyOnce(t, e, len(want), want)
	for _, tt := range turns {
		if tt.SessionID == "" {
			t.Errorf("turn %s has no session", tt)
		}
	}
}

func TestTools(t *testing.T) {
	t.Parallel()
	want := []pair{
		{"Run the shell command please", "The command printed e2e-tool-output."},
		{"Search your memory for the shell command", "Memory searched."},
	}
	e := harness.New(t, harness.Options{Responder: func(r *fakeapi.Request) fakeapi.Reply {
		if _, ok := r.Messages.ToolResult(); ok {
			if tu, _ := r.Messages.LastToolUse(); tu.Name == "Bash" {
				return fakeapi.Reply{Text: want[0].answer}
			}
			return fakeapi.Reply{Text: want[1].answer}
		}
		switch r.Messages.Prompt() {
		case want[0].prompt:
			return fakeapi.Reply{Text: "Running it.", ToolName: "Bash", ToolInput: []byte(`{"command":"echo e2e-tool-output","description":"print a marker"}`)}
		case want[1].prompt:
			return fakeapi.Reply{ToolName: "mcp__sage__search_memory", ToolInput: []byte(`{"query":"shell command"}`)}
		}
		return fakeapi.Reply{Text: "OK."}
	}})
	allow := []string{"--allowedTools", "Bash,mcp__sage__search_memory"}
	for _, p := range want {
		if r := e.Print(p.prompt, allow...); r.Result != p.answer {
			t.Errorf("claude -p %q = %q, want %q", p.prompt, r.Result, p.answer)
		}
	}
	turns := MustExactlyOnce(t, e, len(want), want)
	if len(turns) == len(want) {
		if !strings.Contains(turns[0].Response, "[tool: Bash echo e2e-tool-output]") {
			t.Errorf("turn %s does not summarise its tool call", turns[0])
		}
		if !strings.Contains(turns[1].Response, "[tool: mcp__sage__search_memory shell command]") {
			t.Errorf("turn %s does not summarise its tool call", turns[1])
		}
	}
	// The MCP tool went through the bridge to the daemon and back.
	for _, r := range e.API.MessagesRequests() {
		if res, ok := r.Messages.ToolResult(); ok && strings.Contains(r.Messages.LastUser().Text(), "is_error") {
			t.Errorf("tool result is an error: %s", res)
		}
	}
}

func TestInterruptedTurn(t *testing.T) {
	t.Parallel()
	want := numbered("interrupt", 2)
	never := make(chan struct{}) // the first answer never comes
	base := answers(want)
	e := harness.New(t, harness.Options{Responder: func(r *fakeapi.Request) fakeapi.Reply {
		rep := base(r)
		if r.Messages.Prompt() == want[0].prompt {
			rep.Wait = never
		}
		return rep
	}})
	s := e.Stream()
	s.Send(want[0].prompt)
	if !e.API.WaitFor(time.Minute, func(rs []*fakeapi.Request) bool { return len(rs) > 0 }) {
		t.Fatalf("no model request\n%s", s.Stderr())
	}
	s.Interrupt()
	s.WaitResults(1, time.Minute)
	s.Send(want[1].prompt)
	s.WaitResults(2, time.Minute)
	if err := s.Close(); err != nil {
		t.Errorf("claude exited: %v\n%s", err, s.Stderr())
	}
	turns := e.WaitTurns(2, saveWait)
	var lines []string
	n := map[string]int{}
	for _, tt := range turns {
		lines = append(lines, tt.String())
		n[tt.Prompt]++
	}
	if len(turns) != 2 || n[want[0].prompt] != 1 || n[want[1].prompt] != 1 {
		t.Fatalf("stored turns:\n%s%s", strings.Join(lines, "\n"), e.HookLog())
	}
	for _, tt := range turns {
		if tt.Prompt == want[1].prompt && tt.Response != want[1].answer {
			t.Errorf("turn after the interrupt: %s", tt)
		}
		if tt.Prompt == want[0].prompt && strings.Contains(tt.Response, want[1].answer) {
			t.Errorf("interrupted turn got the next answer: %s", tt)
		}
	}
}

func TestCompaction(t *testing.T) {
	t.Parallel()
	want := numbered("compact", 3)
	base := answers(want)
	const summary = "Summary of the e2e conversation so far."
	e := harness.New(t, harness.Options{Responder: func(r *fakeapi.Request) fakeapi.Reply {
		if strings.Contains(strings.ToLower(r.Messages.Prompt()), "summary") && !strings.Contains(r.Messages.Prompt(), "compact prompt") {
			return fakeapi.Reply{Text: "<summary>" + summary + "</summary>"}
		}
		return base(r)
	}})
	s := e.Stream()
	s.Send(want[0].prompt)
	s.WaitResults(1, time.Minute)
	s.Send(want[1].prompt)
	s.WaitResults(2, time.Minute)
	s.Send("/compact")
	s.WaitResults(3, time.Minute)
	s.Send(want[2].prompt)
	s.WaitResults(4, time.Minute)
	if err := s.Close(); err != nil {
		t.Errorf("claude exited: %v\n%s", err, s.Stderr())
	}
	hooks := map[string]bool{}
	for _, ev := range s.Events() {
		var h struct {
			HookName string `json:"hook_name"`
		}
		if ev.Subtype == "hook_started" && json.Unmarshal(ev.Raw, &h) == nil {
			hooks[h.HookName] = true
		}
	}
	for _, h := range []string{"SessionStart:compact"} {
		if !hooks[h] {
			t.Errorf("hook %s did not run (ran: %v)", h, hooks)
		}
	}
	MustExactlyOnce(t, e, len(want), want)
}

// TestRecallInjected: what a session saved comes back in a later session:
// the SessionStart recap lists it and UserPromptSubmit injects it, exactly,
// into the request to the model.
func TestRecallInjected(t *testing.T) {
	t.Parallel()
	first := pair{"How long is the flibbertigibbet retention window in our deployment?", "The flibbertigibbet retention window is 14 days, set in retention.toml."}
	later := "Remind me: what is the flibbertigibbet retention window in our deployment?"
	e := harness.New(t, harness.Options{Responder: answers([]pair{first, {later, "Fourteen days."}})})
	one := e.Print(first.prompt)
	MustExactlyOnce(t, e, 1, []pair{first})
	two := e.Print(later)
	if two.SessionID == one.SessionID {
		t.Fatalf("the second run reused session %s", one.SessionID)
	}
	reqs := e.API.MessagesRequests()
	if len(reqs) != 2 {
		t.Fatalf("%d model requests, want 2", len(reqs))
	}
	if c, ok := reqs[0].Messages.HookContext("UserPromptSubmit"); ok {
		t.Errorf("the first prompt got context from an empty store: %s", c)
	}
	day := time.Now().UTC().Format("2006-01-02")
	// The daemon renders the block (ranking.RenderContext); the hook puts
	// it between its markers as is.
	wantRecall := "<sage-memory>\nRelevant memories (from Sage):\n" +
		"- [" + day + " · " + e.Project + " · " + textcut.Runes(one.SessionID, 12, textcut.Ellipsis) + "] User: " + first.prompt +
		" Assistant: " + first.answer + "\n</sage-memory>"
	if got, _ := reqs[1].Messages.HookContext("UserPromptSubmit"); got != wantRecall {
		t.Errorf("UserPromptSubmit injected:\n%s\nwant:\n%s%s", got, wantRecall, e.HookLog())
	}
	recap, _ := reqs[1].Messages.HookContext("SessionStart")
	if !strings.HasPrefix(recap, "<sage-memory>\nSage recap of earlier work on project "+e.Project) || !strings.Contains(recap, first.prompt+" (1 memory)") {
		t.Errorf("SessionStart recap:\n%s", recap)
	}
	if n := strings.Count(string(reqs[1].Body), "<sage-memory>"); n != 2 {
		t.Errorf("%d <sage-memory> blocks in the request, want the recap's and the recall's", n)
	}
}
