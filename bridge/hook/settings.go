package hook

import (
	"context"
	"sync"
	"time"

	"github.com/sage-mcp/sage/bridge/transcript"
	"github.com/sage-mcp/sage/shared/api"
	"github.com/sage-mcp/sage/shared/claudehooks"
)

// SettingsTimeout bounds the request for the daemon's recall settings; on
// any failure the hook keeps its local options.
const SettingsTimeout = 300 * time.Millisecond

// SettingsSource serves the daemon's recall settings (client.Client).
type SettingsSource interface {
	Settings(ctx context.Context, project string) (api.Settings, error)
}

// settingsCache keeps the daemon's answer per project for the life of the
// process (a hook run is one process).
var settingsCache = struct {
	sync.Mutex
	m map[string]api.Settings
}{m: map[string]api.Settings{}}

// Results is how many memories the prompt hook asks for: MaxResults, or
// ContextResults when that is 0.
func (o Options) Results() int {
	if o.MaxResults > 0 {
		return o.MaxResults
	}
	return ContextResults
}

// followSettings returns the options of a run of event in project for
// prompt (UserPromptSubmit's; "" for the others): for the hooks
// that inject (SessionStart, UserPromptSubmit), the recall settings saved
// in the daemon's console replace the local ones; without saved settings,
// or when the daemon does not answer within SettingsTimeout, the local
// options stay.
func (r *Runner) followSettings(ctx context.Context, event, project, prompt string) Options {
	o := r.Options
	src, ok := r.Client.(SettingsSource)
	if !ok || (event != claudehooks.SessionStart && event != claudehooks.UserPromptSubmit) ||
		(event == claudehooks.UserPromptSubmit && Trivial(transcript.Clean(prompt))) {
		return o
	}
	settingsCache.Lock()
	st, cached := settingsCache.m[project]
	settingsCache.Unlock()
	if !cached {
		ctx, cancel := context.WithTimeout(ctx, SettingsTimeout)
		defer cancel()
		var err error
		if st, err = src.Settings(ctx, project); err != nil {
			r.log().Debug("daemon settings unavailable; local options apply", "err", err)
			return o
		}
		settingsCache.Lock()
		settingsCache.m[project] = st
		settingsCache.Unlock()
	}
	if !st.Stored {
		return o
	}
	o.Inject = st.Inject
	if st.MaxResults > 0 {
		o.MaxResults = st.MaxResults
	}
	if st.MaxChars > 0 {
		o.MaxChars = min(max(st.MaxChars, MinMaxChars), MaxMaxChars)
	}
	if st.MinScore >= 0 {
		o.MinScore = st.MinScore
	}
	return o
}
