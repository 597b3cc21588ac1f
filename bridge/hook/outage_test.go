package hook

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sage-mcp/sage/bridge/client"
	"github.com/sage-mcp/sage/shared/api"
	"github.com/sage-mcp/sage/shared/claudehooks"
)

// hungAPI never answers while hung is set: calls wait for their context.
type hungAPI struct {
	recorder
	hung  atomic.Bool
	calls atomic.Int64
}

func (h *hungAPI) wait(ctx context.Context) error {
	h.calls.Add(1)
	if h.hung.Load() {
		<-ctx.Done()
		return ctx.Err()
	}
	return nil
}

func (h *hungAPI) Context(ctx context.Context, p client.ContextParams) (api.ContextResponse, error) {
	return api.ContextResponse{}, h.wait(ctx)
}
func (h *hungAPI) Sessions(ctx context.Context, _ string, _ int) ([]api.Session, error) {
	return nil, h.wait(ctx)
}
func (h *hungAPI) Search(ctx context.Context, _ client.SearchParams) ([]api.Memory, error) {
	return nil, h.wait(ctx)
}
func (h *hungAPI) SendTurns(ctx context.Context, ts []api.Turn) error {
	if err := h.wait(ctx); err != nil {
		return err
	}
	return h.recorder.SendTurns(ctx, ts)
}

// TestHungDaemonMarker: the first hook that times out on a hung daemon
// leaves the marker; the next hooks get SuspectBudget; a hook whose call is
// answered removes it.
func TestHungDaemonMarker(t *testing.T) {
	h := &hungAPI{}
	h.hung.Store(true)
	r, dir := newTestRunner(t, h, Options{Inject: true, Timeout: 1500 * time.Millisecond, MaxChars: 2000})
	marker := filepath.Join(dir, "daemon-down")
	r.Options.DownMarker = marker
	in := Input{SessionID: "s", CWD: "/w/proj", PromptID: "p1", Prompt: "What did we decide about the outbox format?", LastAssistantMessage: "We kept JSON files."}

	if got := r.Budget(claudehooks.SessionStart); got != MaxSideBudget {
		t.Fatalf("SessionStart budget = %v, want %v", got, MaxSideBudget)
	}
	if got := r.Budget(claudehooks.Stop); got != 1500*time.Millisecond {
		t.Fatalf("Stop budget = %v", got)
	}
	steps := []struct {
		event      string
		wantBudget time.Duration // before the run
		wantMarker bool          // after the run
	}{
		{claudehooks.SessionStart, MaxSideBudget, true},
		{claudehooks.UserPromptSubmit, SuspectBudget, true},
		{claudehooks.Stop, SuspectBudget, true},
		{claudehooks.SessionEnd, SuspectBudget, true},
	}
	for _, s := range steps {
		if got := r.Budget(s.event); got != s.wantBudget {
			t.Errorf("%s: budget %v, want %v", s.event, got, s.wantBudget)
		}
		_ = r.Run(context.Background(), s.event, in, &bytes.Buffer{})
		if _, err := os.Stat(marker); (err == nil) != s.wantMarker {
			t.Errorf("after %s: marker exists = %v, want %v", s.event, err == nil, s.wantMarker)
		}
	}
	if p, _ := r.Outbox.Pending(); len(p) != 1 {
		t.Errorf("outbox holds %d turns, want the Stop's 1", len(p))
	}
	// The daemon answers again: the next hook delivers and removes the
	// marker; budgets are back to normal.
	h.hung.Store(false)
	if err := r.Run(context.Background(), claudehooks.SessionEnd, in, &bytes.Buffer{}); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(marker); !os.IsNotExist(err) {
		t.Errorf("marker left after the daemon answered: %v", err)
	}
	if got := r.Budget(claudehooks.UserPromptSubmit); got != 1500*time.Millisecond {
		t.Errorf("budget after recovery = %v", got)
	}
	if got := len(h.byKey()); got != 1 {
		t.Errorf("%d turns delivered, want 1", got)
	}
	// A stale marker is ignored.
	if err := os.WriteFile(marker, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	old := time.Now().Add(-DownMarkerTTL - time.Second)
	if err := os.Chtimes(marker, old, old); err != nil {
		t.Fatal(err)
	}
	if got := r.Budget(claudehooks.Stop); got != 1500*time.Millisecond {
		t.Errorf("budget with a stale marker = %v", got)
	}
}
