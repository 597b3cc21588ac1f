package harness

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"github.com/sage-mcp/sage/e2e/watch"
)

// Event is one line Claude Code prints with --output-format stream-json.
type Event struct {
	Type      string `json:"type"`
	Subtype   string `json:"subtype"`
	SessionID string `json:"session_id"`
	Result    string `json:"result"`
	IsError   bool   `json:"is_error"`
	// Raw is the whole line.
	Raw json.RawMessage `json:"-"`
}

// Stream is one Claude Code process driven through stream-json: several
// prompts in one process, as an SDK or IDE drives it.
type Stream struct {
	e      *Env
	stdin  io.WriteCloser
	cancel context.CancelFunc
	done   chan error
	stderr strings.Builder

	mu     sync.Mutex // guards stderr and reqID
	events watch.List[Event]
	reqID  int
}

// Stream starts `claude -p --input-format stream-json --output-format
// stream-json --verbose` plus args. It stops when t ends.
func (e *Env) Stream(args ...string) *Stream {
	e.T.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	full := append([]string{"-p", "--input-format", "stream-json", "--output-format", "stream-json", "--verbose"}, args...)
	cmd := e.Command(ctx, full...)
	s := &Stream{e: e, cancel: cancel, done: make(chan error, 1)}
	cmd.Stderr = &lockedWriter{b: &s.stderr, mu: &s.mu}
	stdin, err := cmd.StdinPipe()
	if err != nil {
		e.T.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		e.T.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		e.T.Fatalf("start claude: %v", err)
	}
	s.stdin = stdin
	go func() {
		sc := bufio.NewScanner(stdout)
		sc.Buffer(make([]byte, 1<<20), 64<<20)
		for sc.Scan() {
			var ev Event
			if json.Unmarshal(sc.Bytes(), &ev) != nil {
				continue
			}
			ev.Raw = append(json.RawMessage(nil), sc.Bytes()...)
			s.events.Add(func(int) Event { return ev })
		}
		s.done <- cmd.Wait()
		s.events.Wake()
	}()
	e.T.Cleanup(func() {
		s.cancel()
		s.Close()
	})
	return s
}

type lockedWriter struct {
	mu *sync.Mutex
	b  *strings.Builder
}

func (w *lockedWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.Write(p)
}

func (s *Stream) write(v any) {
	s.e.T.Helper()
	b, _ := json.Marshal(v)
	if _, err := s.stdin.Write(append(b, '\n')); err != nil {
		s.e.T.Fatalf("stream-json: write: %v", err)
	}
}

// Send sends a user prompt.
func (s *Stream) Send(prompt string) {
	s.e.T.Helper()
	s.write(map[string]any{"type": "user", "message": map[string]any{"role": "user", "content": prompt}})
}

// Interrupt sends a control request that interrupts the running turn.
func (s *Stream) Interrupt() {
	s.e.T.Helper()
	s.mu.Lock()
	s.reqID++
	id := fmt.Sprintf("e2e-%d", s.reqID)
	s.mu.Unlock()
	s.write(map[string]any{"type": "control_request", "request_id": id, "request": map[string]any{"subtype": "interrupt"}})
}

// Events returns the events printed so far.
func (s *Stream) Events() []Event {
	return s.events.All()
}

// Results returns the result events printed so far.
func (s *Stream) Results() []Event {
	var out []Event
	for _, ev := range s.Events() {
		if ev.Type == "result" {
			out = append(out, ev)
		}
	}
	return out
}

// SessionID returns the session id of the first event that carries one.
func (s *Stream) SessionID() string {
	for _, ev := range s.Events() {
		if ev.SessionID != "" {
			return ev.SessionID
		}
	}
	return ""
}

// WaitFor waits until cond holds for the events so far, the process ends
// or timeout passes; it reports whether cond held.
func (s *Stream) WaitFor(timeout time.Duration, cond func([]Event) bool) bool {
	return s.events.WaitFor(timeout, cond)
}

// WaitResults waits for n result events and fails t when they do not come
// within timeout.
func (s *Stream) WaitResults(n int, timeout time.Duration) []Event {
	s.e.T.Helper()
	ok := s.WaitFor(timeout, func(evs []Event) bool {
		c := 0
		for _, ev := range evs {
			if ev.Type == "result" {
				c++
			}
		}
		return c >= n
	})
	if !ok {
		s.e.T.Fatalf("stream-json: %d results, want %d, after %v\nevents:\n%s\nstderr: %s%s", len(s.Results()), n, timeout, s.dump(), s.Stderr(), s.e.hookLog())
	}
	return s.Results()
}

func (s *Stream) dump() string {
	var b strings.Builder
	for _, ev := range s.Events() {
		line := string(ev.Raw)
		if len(line) > 400 {
			line = line[:400] + "…"
		}
		b.WriteString(line + "\n")
	}
	return b.String()
}

// Stderr returns what claude printed on stderr so far.
func (s *Stream) Stderr() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.stderr.String()
}

// Close ends the input and waits for the process to exit (it is killed
// after 30 s). It returns the process's exit error.
func (s *Stream) Close() error {
	_ = s.stdin.Close()
	select {
	case err := <-s.done:
		s.done <- err
		return err
	case <-time.After(30 * time.Second):
		s.cancel()
		err := <-s.done
		s.done <- err
		return err
	}
}
