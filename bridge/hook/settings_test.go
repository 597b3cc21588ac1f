package hook

import (
	"bytes"
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/sage-mcp/sage/bridge/client"
	"github.com/sage-mcp/sage/bridge/outbox"
	"github.com/sage-mcp/sage/bridge/transcript"
	"github.com/sage-mcp/sage/shared/api"
	"github.com/sage-mcp/sage/shared/claudehooks"
	"github.com/sage-mcp/sage/shared/textcut"
)

// settingsAPI is a daemon serving recall settings; it records the context
// requests it gets.
type settingsAPI struct {
	settings api.Settings
	err      error
	asked    int
	contexts []client.ContextParams
}

func (f *settingsAPI) Settings(ctx context.Context, project string) (api.Settings, error) {
	f.asked++
	return f.settings, f.err
}

func (f *settingsAPI) Context(ctx context.Context, p client.ContextParams) (api.ContextResponse, error) {
	f.contexts = append(f.contexts, p)
	// Like the daemon: the block it renders holds at most MaxChars runes.
	text := strings.Repeat("the outbox keeps turns ", 40)
	return api.ContextResponse{Context: textcut.Runes("Relevant memories (from Sage):\n- "+text, p.MaxChars, textcut.Ellipsis),
		Items: []api.Memory{{ID: 1, Score: 0.5, Text: text}}}, nil
}

func (f *settingsAPI) Sessions(ctx context.Context, project string, limit int) ([]api.Session, error) {
	return nil, nil
}

func (f *settingsAPI) Search(ctx context.Context, p client.SearchParams) ([]api.Memory, error) {
	return nil, nil
}

func (f *settingsAPI) SendTurns(ctx context.Context, turns []api.Turn) error { return nil }

func TestFollowSettings(t *testing.T) {
	local := Options{Inject: true, MaxChars: 4000, MinScore: 0.5, Timeout: time.Second}
	tests := []struct {
		name     string
		api      settingsAPI
		wantOpts Options
		inject   bool // whether the prompt hook asks the daemon for context
	}{
		{"none saved", settingsAPI{settings: api.Settings{Stored: false, Inject: false, MaxResults: 2}},
			local, true},
		{"daemon down", settingsAPI{err: errors.New("unreachable")}, local, true},
		{"saved", settingsAPI{settings: api.Settings{Stored: true, Inject: true, MaxResults: 3, MaxChars: 700, MinScore: 0.1}},
			Options{Inject: true, MaxChars: 700, MinScore: 0.1, MaxResults: 3, Timeout: time.Second}, true},
		{"off in this project", settingsAPI{settings: api.Settings{Stored: true, Inject: false, MaxResults: 3, MaxChars: 700}},
			Options{Inject: false, MaxChars: 700, MinScore: 0, MaxResults: 3, Timeout: time.Second}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clear(settingsCache.m)
			ob, err := outbox.Open(filepath.Join(t.TempDir(), "outbox"), nil)
			if err != nil {
				t.Fatal(err)
			}
			f := tt.api
			r := &Runner{Client: &f, Outbox: ob, Options: local}
			in := Input{Prompt: "how does the outbox survive a crash?", CWD: t.TempDir()}
			if got := r.followSettings(context.Background(), claudehooks.UserPromptSubmit, ProjectName(in.CWD), in.Prompt); got != tt.wantOpts {
				t.Fatalf("options %+v, want %+v", got, tt.wantOpts)
			}
			var out bytes.Buffer
			if err := r.Run(context.Background(), claudehooks.UserPromptSubmit, in, &out); err != nil {
				t.Fatal(err)
			}
			if got := len(f.contexts) > 0; got != tt.inject {
				t.Fatalf("asked for context: %v, want %v", got, tt.inject)
			}
			if tt.inject {
				// The daemon renders within what the markers leave.
				want := tt.wantOpts.Results()
				room := tt.wantOpts.MaxChars - utf8.RuneCountInString(transcript.OpenMarker+"\n"+transcript.CloseMarker)
				if f.contexts[0].MaxResults != want || f.contexts[0].MaxChars != room {
					t.Errorf("context asked with %+v, want max_results %d, max_chars %d", f.contexts[0], want, room)
				}
				if n := utf8.RuneCountInString(strings.TrimSpace(out.String())); n == 0 || n > tt.wantOpts.MaxChars+200 {
					t.Errorf("output of %d runes for max_chars %d", n, tt.wantOpts.MaxChars)
				}
			}
			// Cached for the process: the two runs asked once (none when
			// the daemon failed, which is asked again each run).
			if tt.api.err == nil && f.asked != 1 {
				t.Errorf("settings asked %d times, want once", f.asked)
			}
		})
	}
}

// TestPromptQuery: sage_manage why asks what the prompt hook would ask,
// with the daemon's settings applied the same way, as a dry run, and says
// why the hook would not ask at all.
func TestPromptQuery(t *testing.T) {
	local := Options{Inject: true, MaxChars: 4000, MinScore: 0.5, Timeout: time.Second}
	prompt := "how does the outbox survive a crash?"
	tests := []struct {
		name     string
		settings api.Settings
		prompt   string
		maxChars int
		want     client.ContextParams
		skip     string
	}{
		{"local options", api.Settings{}, prompt, 0,
			client.ContextParams{MaxResults: ContextResults, MaxChars: blockRoom(4000), MinScore: 0.5}, ""},
		{"saved settings", api.Settings{Stored: true, Inject: true, MaxResults: 3, MaxChars: 700, MinScore: 0.1}, prompt, 0,
			client.ContextParams{MaxResults: 3, MaxChars: blockRoom(700), MinScore: 0.1}, ""},
		{"budget given", api.Settings{Stored: true, Inject: true, MaxResults: 3, MaxChars: 700, MinScore: 0.1}, prompt, 1200,
			client.ContextParams{MaxResults: 3, MaxChars: blockRoom(1200), MinScore: 0.1}, ""},
		{"no room", api.Settings{}, prompt, 10,
			client.ContextParams{MaxResults: ContextResults, MaxChars: 1, MinScore: 0.5}, "no room"},
		{"off in this project", api.Settings{Stored: true, Inject: false, MaxResults: 3, MaxChars: 700}, prompt, 0,
			client.ContextParams{MaxResults: 3, MaxChars: blockRoom(700)}, "injection is off"},
		{"trivial", api.Settings{Stored: true, Inject: true, MaxResults: 3, MaxChars: 700}, "thanks!", 0,
			client.ContextParams{MaxResults: ContextResults, MaxChars: blockRoom(4000), MinScore: 0.5}, "trivial"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clear(settingsCache.m)
			f := &settingsAPI{settings: tt.settings}
			r := &Runner{Client: f, Options: local}
			p, o, skip := r.PromptQuery(context.Background(), "shop", "s1", tt.prompt, tt.maxChars)
			want := tt.want
			want.Query, want.Project, want.ExcludeSession, want.Gate, want.DryRun = tt.prompt, "shop", "s1", true, true
			if p != want {
				t.Errorf("params %+v\nwant   %+v", p, want)
			}
			if o.Results() != want.MaxResults || max(blockRoom(o.MaxChars), 1) != want.MaxChars || o.MinScore != want.MinScore {
				t.Errorf("options %+v do not match the params", o)
			}
			if tt.skip == "" && skip != "" || !strings.Contains(skip, tt.skip) {
				t.Errorf("skip %q, want %q", skip, tt.skip)
			}
			if len(f.contexts) != 0 {
				t.Errorf("PromptQuery asked for context %d times; the caller asks", len(f.contexts))
			}
		})
	}
}
