package hook

import (
	"context"
	"errors"
	"os"
	"sync/atomic"
	"time"

	"github.com/sage-mcp/sage/bridge/client"
	"github.com/sage-mcp/sage/shared/api"
	"github.com/sage-mcp/sage/shared/claudehooks"
)

// Outage limits. A hung daemon (it accepts connections, never answers)
// would cost every hook its whole budget; instead the first hook that runs
// out of budget leaves a marker file, and for DownMarkerTTL the next hooks
// give the daemon only SuspectBudget. A hook that finishes within its
// budget removes the marker. A refused connection fails at once and needs
// no marker.
const (
	// SuspectBudget is a hook's budget while the marker is fresh: enough
	// for a daemon that is back (it then removes the marker), little when
	// it still hangs. Stop has saved its turn in the outbox before any
	// network call, so nothing is lost.
	SuspectBudget = 200 * time.Millisecond
	// DownMarkerTTL is how long a marker is honoured after it was written.
	DownMarkerTTL = 30 * time.Second
	// MaxSideBudget caps the budget of the hooks whose daemon calls are
	// not essential to the prompt: SessionStart (the recap), PreCompact and
	// SessionEnd (outbox drains, which the next hooks repeat).
	MaxSideBudget = time.Second
)

// Budget is the time budget of one run of event: Options.Timeout (capped
// below the settings.json timeout, and at MaxSideBudget for SessionStart,
// PreCompact and SessionEnd), or SuspectBudget while the daemon seems down.
func (r *Runner) Budget(event string) time.Duration {
	b := r.Options.budget(event)
	switch event {
	case claudehooks.SessionStart, claudehooks.PreCompact, claudehooks.SessionEnd:
		b = min(b, MaxSideBudget)
	}
	if r.daemonSuspect() {
		b = min(b, SuspectBudget)
	}
	return b
}

// daemonSuspect reports whether a hook ran out of budget within
// DownMarkerTTL.
func (r *Runner) daemonSuspect() bool {
	if r.Options.DownMarker == "" {
		return false
	}
	fi, err := os.Stat(r.Options.DownMarker)
	if err != nil {
		return false
	}
	age := r.now().Sub(fi.ModTime())
	return age >= -time.Second && age < DownMarkerTTL
}

// watched wraps the daemon API of one run and records how its calls went.
type watched struct {
	API
	ok, timedOut atomic.Bool
}

func (w *watched) note(ctx context.Context, err error) {
	switch {
	case err == nil:
		w.ok.Store(true)
	case errors.Is(err, context.DeadlineExceeded) || ctx.Err() != nil:
		w.timedOut.Store(true)
	}
}

func (w *watched) Context(ctx context.Context, p client.ContextParams) (api.ContextResponse, error) {
	r, err := w.API.Context(ctx, p)
	w.note(ctx, err)
	return r, err
}

func (w *watched) Sessions(ctx context.Context, project string, limit int) ([]api.Session, error) {
	r, err := w.API.Sessions(ctx, project, limit)
	w.note(ctx, err)
	return r, err
}

func (w *watched) Search(ctx context.Context, p client.SearchParams) ([]api.Memory, error) {
	r, err := w.API.Search(ctx, p)
	w.note(ctx, err)
	return r, err
}

func (w *watched) SendTurns(ctx context.Context, turns []api.Turn) error {
	err := w.API.SendTurns(ctx, turns)
	w.note(ctx, err)
	return err
}

// noteOutcome writes the marker when a daemon call of the run timed out
// (or the run ran out of budget with no call answered) and removes it when
// a call was answered.
func (r *Runner) noteOutcome(ctx context.Context, w *watched) {
	if r.Options.DownMarker == "" {
		return
	}
	if w.timedOut.Load() || (errors.Is(ctx.Err(), context.DeadlineExceeded) && !w.ok.Load()) {
		now := r.now()
		if err := os.WriteFile(r.Options.DownMarker, []byte(now.UTC().Format(time.RFC3339Nano)+"\n"), 0o600); err != nil {
			r.log().Info("write daemon-down marker", "err", err)
			return
		}
		_ = os.Chtimes(r.Options.DownMarker, now, now)
		return
	}
	if w.ok.Load() {
		if err := os.Remove(r.Options.DownMarker); err == nil {
			r.log().Info("daemon answers again; marker removed")
		}
	}
}
