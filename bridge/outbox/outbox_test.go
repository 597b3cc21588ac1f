package outbox

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/sage-mcp/sage/shared/api"
)

// recorder is a Sender that records every delivery by idempotency key.
type recorder struct {
	mu    sync.Mutex
	got   map[string]int
	order []string
	fail  error            // returned (once per call) while non-nil
	bad   map[string]bool  // keys rejected as invalid
	hook  func([]api.Turn) // called before recording
}

type rejectErr struct{}

func (rejectErr) Error() string  { return "invalid_argument: turn too large" }
func (rejectErr) Rejected() bool { return true }

func (r *recorder) SendTurns(ctx context.Context, turns []api.Turn) error {
	if r.hook != nil {
		r.hook(turns)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.fail != nil {
		return r.fail
	}
	for _, t := range turns {
		if r.bad[t.IdempotencyKey] {
			return fmt.Errorf("save turns: %w", rejectErr{})
		}
	}
	if r.got == nil {
		r.got = map[string]int{}
	}
	for _, t := range turns {
		r.got[t.IdempotencyKey]++
		r.order = append(r.order, t.IdempotencyKey)
	}
	return nil
}

func MustOpen(t *testing.T, dir string) *Outbox {
	t.Helper()
	o, err := Open(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	return o
}

func MustAppend(t *testing.T, o *Outbox, key string) {
	t.Helper()
	if err := o.Append(api.Turn{IdempotencyKey: key, SessionID: "s", UserPrompt: "p " + key, AssistantResponse: "r"}); err != nil {
		t.Fatal(err)
	}
}

func MustPending(t *testing.T, o *Outbox) []string {
	t.Helper()
	n, err := o.Pending()
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func TestDrainInOrder(t *testing.T) {
	o := MustOpen(t, t.TempDir())
	o.Batch = 3
	for i := range 10 {
		MustAppend(t, o, fmt.Sprintf("s:%02d", i))
	}
	if n := len(MustPending(t, o)); n != 10 {
		t.Fatalf("pending = %d, want 10", n)
	}
	r := &recorder{}
	res, err := o.Drain(context.Background(), r)
	if err != nil {
		t.Fatal(err)
	}
	if res.Sent != 10 || res.Remaining != 0 || len(res.Quarantined) != 0 {
		t.Fatalf("result = %+v", res)
	}
	for i, k := range r.order {
		if want := fmt.Sprintf("s:%02d", i); k != want {
			t.Fatalf("order[%d] = %s, want %s", i, k, want)
		}
	}
	if n := len(MustPending(t, o)); n != 0 {
		t.Fatalf("pending after drain = %d", n)
	}
}

func TestDrainTransientKeepsEntries(t *testing.T) {
	o := MustOpen(t, t.TempDir())
	MustAppend(t, o, "a")
	MustAppend(t, o, "b")
	down := errors.New("connection refused")
	r := &recorder{fail: down}
	res, err := o.Drain(context.Background(), r)
	if !errors.Is(err, down) {
		t.Fatalf("err = %v, want %v", err, down)
	}
	if res.Sent != 0 || res.Remaining != 2 {
		t.Fatalf("result = %+v", res)
	}
	r.fail = nil
	res, err = o.Drain(context.Background(), r)
	if err != nil || res.Sent != 2 || r.got["a"] != 1 || r.got["b"] != 1 {
		t.Fatalf("second drain: res=%+v err=%v got=%v", res, err, r.got)
	}
}

func TestCorruptAndRejectedQuarantined(t *testing.T) {
	dir := t.TempDir()
	o := MustOpen(t, dir)
	MustAppend(t, o, "a")
	// A corrupt entry sorting between a and the rest.
	names := MustPending(t, o)
	corrupt := names[0][:len(names[0])-5] + "z.json"
	if err := os.WriteFile(filepath.Join(dir, corrupt), []byte(`{"v":1,"kind":"turn","turn":{"user_prom`), 0o600); err != nil {
		t.Fatal(err)
	}
	time.Sleep(time.Millisecond)
	MustAppend(t, o, "bad")
	MustAppend(t, o, "c")
	r := &recorder{bad: map[string]bool{"bad": true}}
	res, err := o.Drain(context.Background(), r)
	if err != nil {
		t.Fatal(err)
	}
	if res.Sent != 2 || len(res.Quarantined) != 2 || r.got["a"] != 1 || r.got["c"] != 1 || r.got["bad"] != 0 {
		t.Fatalf("res=%+v got=%v", res, r.got)
	}
	if res.Quarantined[0].Name != corrupt {
		t.Errorf("first quarantined = %s, want %s", res.Quarantined[0].Name, corrupt)
	}
	q, err := o.Quarantined()
	if err != nil || len(q) != 2 {
		t.Fatalf("quarantined = %v, %v", q, err)
	}
	if _, err := os.Stat(filepath.Join(dir, QuarantineDir, corrupt+".reason")); err != nil {
		t.Errorf("no reason file: %v", err)
	}
}

func TestDrainBusy(t *testing.T) {
	o := MustOpen(t, t.TempDir())
	MustAppend(t, o, "a")
	unlock, err := o.Lock(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer unlock()
	other := MustOpen(t, o.Dir()) // separate lock handle
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	res, err := other.Drain(ctx, &recorder{})
	if !errors.Is(err, ErrBusy) || res.Remaining != 1 {
		t.Fatalf("res=%+v err=%v, want ErrBusy and 1 remaining", res, err)
	}
}

// TestConcurrentDrainers runs appenders and drainers with separate lock
// handles at once; the sender does not deduplicate, so a double send shows.
func TestConcurrentDrainers(t *testing.T) {
	dir := t.TempDir()
	r := &recorder{}
	const appenders, per = 4, 25
	var wg sync.WaitGroup
	for a := range appenders {
		wg.Go(func() {
			o := MustOpen(t, dir)
			for i := range per {
				MustAppend(t, o, fmt.Sprintf("k%d-%d", a, i))
			}
		})
	}
	for range 3 {
		wg.Go(func() {
			o := MustOpen(t, dir)
			o.Batch = 7
			for range 5 {
				if _, err := o.Drain(context.Background(), r); err != nil {
					t.Error(err)
				}
			}
		})
	}
	wg.Wait()
	if _, err := MustOpen(t, dir).Drain(context.Background(), r); err != nil {
		t.Fatal(err)
	}
	if len(r.got) != appenders*per {
		t.Fatalf("delivered %d distinct, want %d", len(r.got), appenders*per)
	}
	for k, n := range r.got {
		if n != 1 {
			t.Errorf("%s delivered %d times", k, n)
		}
	}
}

func TestAppendNeedsKey(t *testing.T) {
	o := MustOpen(t, t.TempDir())
	if err := o.Append(api.Turn{UserPrompt: "x"}); err == nil {
		t.Fatal("no error for a turn without key")
	}
}

func TestDecode(t *testing.T) {
	good, err := Encode(Entry{Version: 1, Kind: KindTurn, Turn: &api.Turn{IdempotencyKey: "k", UserPrompt: "p"}})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		in   string
		ok   bool
	}{
		{"good", string(good), true},
		{"empty", "", false},
		{"truncated", string(good[:len(good)/2]), false},
		{"version", `{"v":2,"kind":"turn","turn":{"idempotency_key":"k","user_prompt":"p","assistant_response":""}}`, false},
		{"kind", `{"v":1,"kind":"note","turn":{"idempotency_key":"k","user_prompt":"p","assistant_response":""}}`, false},
		{"no turn", `{"v":1,"kind":"turn"}`, false},
		{"no key", `{"v":1,"kind":"turn","turn":{"user_prompt":"p","assistant_response":""}}`, false},
		{"empty turn", `{"v":1,"kind":"turn","turn":{"idempotency_key":"k","user_prompt":"","assistant_response":""}}`, false},
		{"unknown field", `{"v":1,"kind":"turn","x":1,"turn":{"idempotency_key":"k","user_prompt":"p","assistant_response":""}}`, false},
		{"trailing", string(good) + "{}", false},
	}
	for _, tt := range tests {
		_, err := Decode([]byte(tt.in))
		if (err == nil) != tt.ok {
			t.Errorf("%s: err = %v, want ok=%v", tt.name, err, tt.ok)
		}
		if err != nil && !errors.Is(err, ErrCorrupt) {
			t.Errorf("%s: err %v is not ErrCorrupt", tt.name, err)
		}
	}
}

func FuzzDecode(f *testing.F) {
	good, _ := Encode(Entry{Version: 1, Kind: KindTurn, CreatedAt: time.Unix(1, 0).UTC(), Turn: &api.Turn{IdempotencyKey: "s:1", SessionID: "s", UserPrompt: "记忆", AssistantResponse: "ok"}})
	f.Add(good)
	f.Add([]byte(`{"v":1}`))
	f.Add([]byte(`null`))
	f.Fuzz(func(t *testing.T, b []byte) {
		e, err := Decode(b)
		if err != nil {
			if !errors.Is(err, ErrCorrupt) {
				t.Fatalf("error not ErrCorrupt: %v", err)
			}
			return
		}
		// A decoded entry re-encodes to something that decodes the same.
		b2, err := Encode(e)
		if err != nil {
			t.Fatal(err)
		}
		e2, err := Decode(b2)
		if err != nil || e2.Turn.IdempotencyKey != e.Turn.IdempotencyKey || e2.Turn.UserPrompt != e.Turn.UserPrompt {
			t.Fatalf("round trip: %v %+v %+v", err, e, e2)
		}
	})
}
