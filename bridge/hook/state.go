package hook

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// state is what UserPromptSubmit remembers for Stop: the prompt, because
// the Stop payload does not carry it and the transcript may lag behind.
type state struct {
	Prompt string    `json:"prompt"`
	At     time.Time `json:"at"`
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
		if !strings.HasSuffix(de.Name(), ".json") && !strings.Contains(de.Name(), ".tmp") {
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
