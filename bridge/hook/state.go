package hook

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/gofrs/flock"
)

// state is what UserPromptSubmit remembers for Stop: the prompt, because
// the Stop payload does not carry it and the transcript may lag behind.
// Prompt, At and PromptID are the latest prompt; Recent keeps the last
// maxRecentPrompts (latest last) so a Stop finds its own prompt by
// Claude Code's prompt_id even when the next prompt was already submitted.
type state struct {
	Prompt   string        `json:"prompt"`
	At       time.Time     `json:"at"`
	PromptID string        `json:"prompt_id,omitempty"`
	Recent   []promptState `json:"recent,omitempty"`
}

// promptState is one submitted prompt. Saved is set once its turn is in
// the outbox.
type promptState struct {
	ID     string    `json:"id"`
	Prompt string    `json:"prompt"`
	At     time.Time `json:"at"`
	Saved  bool      `json:"saved,omitempty"`
}

// maxRecentPrompts bounds state.Recent.
const maxRecentPrompts = 8

// find returns the remembered prompt with Claude Code's prompt id.
func (s *state) find(id string) (*promptState, bool) {
	if id == "" {
		return nil, false
	}
	for i := len(s.Recent) - 1; i >= 0; i-- {
		if s.Recent[i].ID == id {
			return &s.Recent[i], true
		}
	}
	return nil, false
}

// add records a newly submitted prompt as the latest.
func (s *state) add(p promptState) {
	s.Prompt, s.At, s.PromptID = p.Prompt, p.At, p.ID
	if p.ID == "" {
		return
	}
	if old, ok := s.find(p.ID); ok {
		*old = p
		return
	}
	s.Recent = append(s.Recent, p)
	if n := len(s.Recent) - maxRecentPrompts; n > 0 {
		s.Recent = append([]promptState(nil), s.Recent[n:]...)
	}
}

// maxStateAge is how long a session's state file is kept.
const maxStateAge = 7 * 24 * time.Hour

func (r *Runner) statePath(session string) string {
	if r.Options.StateDir == "" {
		return ""
	}
	h := sha256.Sum256([]byte(session))
	return filepath.Join(r.Options.StateDir, hex.EncodeToString(h[:12])+".json")
}

func (r *Runner) saveState(session string, st state) {
	p := r.statePath(session)
	if p == "" || session == "" {
		return
	}
	if err := os.MkdirAll(r.Options.StateDir, 0o700); err != nil {
		r.log().Info("save hook state", "err", err)
		return
	}
	b, _ := json.Marshal(st)
	tmp := p + ".tmp" + randSuffix()
	if err := os.WriteFile(tmp, b, 0o600); err != nil {
		r.log().Info("save hook state", "err", err)
		return
	}
	if err := os.Rename(tmp, p); err != nil {
		_ = os.Remove(tmp)
		r.log().Info("save hook state", "err", err)
	}
}

// updateState applies fn to the session's state under an exclusive file
// lock (UserPromptSubmit and Stop of consecutive prompts may overlap) and
// saves it. Without the lock within ctx it still applies fn, unlocked.
func (r *Runner) updateState(ctx context.Context, session string, fn func(*state)) state {
	p := r.statePath(session)
	if p == "" || session == "" {
		var st state
		fn(&st)
		return st
	}
	if err := os.MkdirAll(r.Options.StateDir, 0o700); err == nil {
		fl := flock.New(p + ".lock")
		lctx, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
		ok, err := fl.TryLockContext(lctx, 5*time.Millisecond)
		cancel()
		if ok {
			defer func() { _ = fl.Unlock(); _ = fl.Close() }()
		} else {
			r.log().Info("hook state unlocked", "err", err)
		}
	}
	st, _ := r.loadState(session)
	fn(&st)
	r.saveState(session, st)
	return st
}

func (r *Runner) loadState(session string) (state, error) {
	var st state
	p := r.statePath(session)
	if p == "" {
		return st, nil
	}
	b, err := os.ReadFile(p)
	if err != nil {
		return st, err
	}
	err = json.Unmarshal(b, &st)
	return st, err
}

func (r *Runner) removeState(session string) {
	if p := r.statePath(session); p != "" {
		_ = os.Remove(p)
	}
}

// pruneState removes state files of sessions idle for maxStateAge.
func (r *Runner) pruneState() {
	if r.Options.StateDir == "" {
		return
	}
	des, err := os.ReadDir(r.Options.StateDir)
	if err != nil {
		return
	}
	for _, de := range des {
		if !strings.HasSuffix(de.Name(), ".json") && !strings.HasSuffix(de.Name(), ".lock") && !strings.Contains(de.Name(), ".tmp") {
			continue
		}
		if fi, err := de.Info(); err == nil && r.now().Sub(fi.ModTime()) > maxStateAge {
			_ = os.Remove(filepath.Join(r.Options.StateDir, de.Name()))
		}
	}
}

func randSuffix() string {
	return strings.ReplaceAll(time.Now().Format("150405.000000000"), ".", "")
}
