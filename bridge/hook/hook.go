// Package hook runs Sage's Claude Code hooks: it reads the event's JSON
// payload, recalls context (SessionStart, UserPromptSubmit), saves the
// finished turn (Stop) and flushes the outbox (PreCompact, SessionEnd).
//
// A hook must never break Claude Code: every call to the daemon runs under
// the hook's time budget, failures print nothing on stdout, and a turn that
// cannot be delivered goes to the durable outbox instead of being lost.
package hook

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"time"

	"github.com/sage-mcp/sage/bridge/client"
	"github.com/sage-mcp/sage/bridge/outbox"
	"github.com/sage-mcp/sage/bridge/transcript"
	"github.com/sage-mcp/sage/shared/api"
	"github.com/sage-mcp/sage/shared/claudehooks"
)

// MaxInput bounds the hook payload read from stdin.
const MaxInput = 8 << 20

// Input is the JSON Claude Code writes on a hook's stdin. Fields not sent
// for an event are empty.
type Input struct {
	SessionID      string `json:"session_id"`
	TranscriptPath string `json:"transcript_path"`
	CWD            string `json:"cwd"`
	HookEventName  string `json:"hook_event_name"`
	PermissionMode string `json:"permission_mode,omitempty"`
	// Prompt is the submitted prompt (UserPromptSubmit).
	Prompt string `json:"prompt,omitempty"`
	// LastAssistantMessage is the final assistant text (Stop, recent
	// Claude Code versions only).
	LastAssistantMessage string `json:"last_assistant_message,omitempty"`
	// StopHookActive is true when Stop fires again after a stop hook
	// blocked (Stop).
	StopHookActive bool `json:"stop_hook_active,omitempty"`
	// Source is startup, resume, clear or compact (SessionStart).
	Source string `json:"source,omitempty"`
	// Model is the model in use (SessionStart).
	Model string `json:"model,omitempty"`
	// Reason is why the session ended (SessionEnd).
	Reason string `json:"reason,omitempty"`
	// Trigger is manual or auto (PreCompact).
	Trigger string `json:"trigger,omitempty"`
}

// ParseInput decodes a hook payload.
func ParseInput(r io.Reader) (Input, error) {
	var in Input
	b, err := io.ReadAll(io.LimitReader(r, MaxInput+1))
	if err != nil {
		return in, fmt.Errorf("read hook input: %w", err)
	}
	if len(b) > MaxInput {
		return in, fmt.Errorf("read hook input: larger than %d bytes", MaxInput)
	}
	if err := json.Unmarshal(b, &in); err != nil {
		return in, fmt.Errorf("decode hook input: %w", err)
	}
	return in, nil
}

// API is what the hooks need of the daemon; *client.Client implements it.
type API interface {
	Context(ctx context.Context, p client.ContextParams) (api.ContextResponse, error)
	Sessions(ctx context.Context, project string, limit int) ([]api.Session, error)
	Search(ctx context.Context, p client.SearchParams) ([]api.Memory, error)
	outbox.Sender
}

// Runner runs hooks. Client and Outbox are required; Logger may be nil.
type Runner struct {
	Client  API
	Outbox  *outbox.Outbox
	Options Options
	Logger  *slog.Logger
	// Now is the clock (time.Now when nil).
	Now func() time.Time
}

func (r *Runner) log() *slog.Logger {
	if r.Logger == nil {
		return slog.New(slog.DiscardHandler)
	}
	return r.Logger
}

func (r *Runner) now() time.Time {
	if r.Now == nil {
		return time.Now()
	}
	return r.Now()
}

// Output is what a hook prints on stdout for Claude Code.
type Output struct {
	HookSpecificOutput *SpecificOutput `json:"hookSpecificOutput,omitempty"`
}

// SpecificOutput carries context to add to the conversation.
type SpecificOutput struct {
	HookEventName     string `json:"hookEventName"`
	AdditionalContext string `json:"additionalContext,omitempty"`
}

// ErrUnknownEvent is returned for an event Sage does not handle.
var ErrUnknownEvent = errors.New("unknown hook event")

// Run handles one event within r.Options.Timeout (the budget) and writes
// the hook's output, if any, to stdout. It writes to stdout only on success
// and only complete JSON.
func (r *Runner) Run(ctx context.Context, event string, in Input, stdout io.Writer) error {
	if event == "" {
		event = in.HookEventName
	}
	ctx, cancel := context.WithTimeout(ctx, r.Options.budget(event))
	defer cancel()
	var (
		add string
		err error
	)
	switch event {
	case claudehooks.SessionStart:
		add, err = r.sessionStart(ctx, in)
	case claudehooks.UserPromptSubmit:
		add, err = r.userPromptSubmit(ctx, in)
	case claudehooks.Stop:
		err = r.stop(ctx, in)
	case claudehooks.PreCompact, claudehooks.SessionEnd:
		err = r.flush(ctx, in, event)
	default:
		return fmt.Errorf("%w %q", ErrUnknownEvent, event)
	}
	if err != nil || add == "" {
		return err
	}
	b, err := json.Marshal(Output{HookSpecificOutput: &SpecificOutput{HookEventName: event, AdditionalContext: add}})
	if err != nil {
		return fmt.Errorf("encode hook output: %w", err)
	}
	_, err = stdout.Write(append(b, '\n'))
	return err
}

// stop saves the turn that just finished: through the outbox (durable
// first), then drains the outbox within the budget.
func (r *Runner) stop(ctx context.Context, in Input) error {
	t, ok, err := r.buildTurn(in)
	if err != nil {
		return err
	}
	if !ok {
		r.log().Debug("stop: no turn to save", "session", in.SessionID)
		return nil
	}
	if err := r.Outbox.Append(t); err != nil {
		// Last resort: try to deliver directly.
		if serr := r.Client.SendTurns(ctx, []api.Turn{t}); serr != nil {
			return fmt.Errorf("save turn: %w; outbox: %w", serr, err)
		}
		return nil
	}
	res, err := r.Outbox.Drain(ctx, r.Client)
	r.logDrain("stop", res, err)
	return nil // the turn is safe in the outbox either way
}

func (r *Runner) logDrain(event string, res outbox.Result, err error) {
	for _, q := range res.Quarantined {
		r.log().Warn("outbox entry quarantined", "event", event, "entry", q.Name, "reason", q.Reason)
	}
	if err != nil {
		r.log().Info("outbox not drained", "event", event, "sent", res.Sent, "remaining", res.Remaining, "err", err)
		return
	}
	if res.Sent > 0 {
		r.log().Debug("outbox drained", "event", event, "sent", res.Sent)
	}
}

// buildTurn assembles the finished turn from the transcript, the
// last_assistant_message field and the prompt saved at UserPromptSubmit.
func (r *Runner) buildTurn(in Input) (api.Turn, bool, error) {
	if in.SessionID == "" {
		return api.Turn{}, false, errors.New("stop: no session_id in hook input")
	}
	st, _ := r.loadState(in.SessionID)
	var tt transcript.Turn
	haveTranscript := false
	if in.TranscriptPath != "" {
		t, err := transcript.LastTurnFile(in.TranscriptPath)
		switch {
		case err == nil:
			tt, haveTranscript = t, true
		case errors.Is(err, transcript.ErrNoTurn):
		default:
			r.log().Info("stop: transcript unreadable", "err", err)
		}
	}
	last := transcript.Clean(in.LastAssistantMessage)
	statePrompt := transcript.Clean(st.Prompt)
	// The transcript may lag behind the hook: if the prompt saved at
	// UserPromptSubmit is newer than the transcript's last prompt, trust it.
	// (A lagging transcript's last prompt is the previous turn's, seconds
	// or more older; the margin absorbs clock order between the two.)
	if haveTranscript && statePrompt != "" && !samePrompt(transcript.Truncate(statePrompt, transcript.MaxText), tt.Prompt) &&
		st.At.After(tt.PromptAt.Add(2*time.Second)) {
		haveTranscript = false
	}
	t := api.Turn{SessionID: in.SessionID, Project: ProjectName(in.CWD)}
	meta := map[string]any{"source": "claude-code", "hook": "Stop"}
	var at time.Time
	switch {
	case haveTranscript:
		t.UserPrompt = tt.Prompt
		resp := tt.Response
		if last != "" && !strings.Contains(resp, strings.TrimSpace(transcript.Truncate(last, 2000))) {
			resp = strings.TrimSpace(resp + "\n" + last)
		}
		t.AssistantResponse = transcript.Truncate(resp, transcript.MaxText)
		if tt.ID != "" {
			t.IdempotencyKey = in.SessionID + ":" + tt.ID
			meta["turn_uuid"] = tt.ID
		}
		if tt.Tools > 0 {
			meta["tools"] = tt.Tools
		}
		at = tt.PromptAt
	case statePrompt != "":
		t.UserPrompt = transcript.Truncate(statePrompt, transcript.MaxText)
		t.AssistantResponse = transcript.Truncate(last, transcript.MaxText)
		at = st.At
	default:
		t.AssistantResponse = transcript.Truncate(last, transcript.MaxText)
	}
	if t.UserPrompt == "" && t.AssistantResponse == "" {
		return t, false, nil
	}
	if t.IdempotencyKey == "" {
		h := sha256.New()
		fmt.Fprintf(h, "%s\x00%s\x00%d", in.SessionID, t.UserPrompt, at.UnixNano())
		if at.IsZero() {
			h.Write([]byte(t.AssistantResponse))
		}
		t.IdempotencyKey = in.SessionID + ":h" + hex.EncodeToString(h.Sum(nil))[:24]
	}
	if !at.IsZero() {
		at = at.UTC()
		t.OccurredAt = &at
	}
	if in.CWD != "" {
		meta["cwd"] = in.CWD
	}
	t.Metadata, _ = json.Marshal(meta)
	return t, true, nil
}

func samePrompt(a, b string) bool {
	return strings.Join(strings.Fields(a), " ") == strings.Join(strings.Fields(b), " ")
}

// flush drains the outbox (PreCompact, SessionEnd) within the budget.
func (r *Runner) flush(ctx context.Context, in Input, event string) error {
	res, err := r.Outbox.Drain(ctx, r.Client)
	r.logDrain(event, res, err)
	if event == claudehooks.SessionEnd && in.SessionID != "" {
		r.removeState(in.SessionID)
	}
	return nil
}
