// Package session runs real Claude Code sessions against a fake model with
// Sage installed, and checks what Sage stored and injected.
package session

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/sage-mcp/sage/e2e/fakeapi"
	"github.com/sage-mcp/sage/e2e/harness"
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

// MustExactlyOnce waits for the turns of want and checks that the daemon
// holds each prompt exactly once, with its own answer, and nothing else.
func MustExactlyOnce(t *testing.T, e *harness.Env, want []pair) []harness.Turn {
	t.Helper()
	turns := e.WaitTurns(len(want), saveWait)
	var got []string
	for _, tt := range turns {
		got = append(got, tt.String())
	}
	bad := len(turns) != len(want)
	for _, w := range want {
		n := 0
		for _, tt := range turns {
			if tt.Prompt == w.prompt {
				n++
				if !strings.Contains(tt.Response, w.answer) {
					t.Errorf("prompt %q stored with answer %q, want %q", w.prompt, tt.Response, w.answer)
				}
				for _, o := range want {
					if o != w && strings.Contains(tt.Response, o.answer) {
						t.Errorf("prompt %q stored with another prompt's answer %q", w.prompt, o.answer)
					}
				}
			}
		}
		if n != 1 {
			t.Errorf("prompt %q stored %d times, want once", w.prompt, n)
			bad = true
		}
	}
	if bad || t.Failed() {
		t.Errorf("stored turns (%d, want %d):\n%s%s", len(turns), len(want), strings.Join(got, "\n"), e.HookLog())
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
	MustExactlyOnce(t, e, want)
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
	MustExactlyOnce(t, e, want)
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
	for _, r := range e.API.MessagesRequests() {
		t.Logf("request %d: prompt %q", r.Seq, r.Messages.Prompt())
	}
	MustExactlyOnce(t, e, want)
}
