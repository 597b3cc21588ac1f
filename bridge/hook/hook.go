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
	"os"
	"slices"
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
	// PromptID identifies the prompt being answered, the same in its
	// UserPromptSubmit and its Stop (recent Claude Code versions only).
	PromptID string `json:"prompt_id,omitempty"`
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

// Run handles one event within its budget (see Budget) and writes
// the hook's output, if any, to stdout. It writes to stdout only on success
// and only complete JSON.
func (r *Runner) Run(ctx context.Context, event string, in Input, stdout io.Writer) error {
	if event == "" {
		event = in.HookEventName
	}
	if !slices.Contains(claudehooks.Events, event) {
		return fmt.Errorf("%w %q", ErrUnknownEvent, event)
	}
	ctx, cancel := context.WithTimeout(ctx, r.Budget(event))
	defer cancel()
	// The run's daemon calls are watched for the outage marker.
	w := &watched{API: r.Client}
	run := *r
	run.Options = r.followSettings(ctx, event, ProjectName(in.CWD), in.Prompt)
	run.Client = w
	defer r.noteOutcome(ctx, w)
	return run.run(ctx, event, in, stdout)
}

func (r *Runner) run(ctx context.Context, event string, in Input, stdout io.Writer) error {
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
	t, ok, err := r.buildTurn(ctx, in)
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
	}
	r.markSaved(ctx, in.SessionID, in.PromptID)
	res, err := r.Outbox.Drain(ctx, r.Client)
	r.logDrain("stop", res, err)
	return nil // the turn is safe in the outbox either way
}

// markSaved records that the turn of the prompt with Claude Code's id is in
// the outbox.
func (r *Runner) markSaved(ctx context.Context, session, promptID string) {
	if promptID == "" {
		return
	}
	r.updateState(ctx, session, func(st *state) {
		if p, ok := st.find(promptID); ok {
			p.Saved = true
		}
	})
}

// savePending puts in the outbox the turns of remembered prompts whose Stop
// never came (an interrupted turn, a turn that failed), except the prompt
// with id keep, and marks them saved. Their answer is what the transcript
// holds for them, possibly nothing.
func (r *Runner) savePending(ctx context.Context, in Input, keep string) {
	if in.SessionID == "" {
		return
	}
	var pending []promptState
	r.updateState(ctx, in.SessionID, func(st *state) {
		for i := range st.Recent {
			p := &st.Recent[i]
			if !p.Saved && p.ID != keep {
				pending = append(pending, *p)
				p.Saved = true
			}
		}
	})
	if len(pending) == 0 {
		return
	}
	var turns []transcript.Turn
	if in.TranscriptPath != "" {
		turns, _ = transcript.TailTurnsFile(in.TranscriptPath)
	}
	for _, p := range pending {
		t := r.newTurn(in, transcript.Truncate(transcript.Clean(p.Prompt), transcript.MaxText), p.At)
		if tt, ok := findTurn(turns, p.ID, t.UserPrompt); ok {
			t.AssistantResponse = tt.Response
		}
		t.IdempotencyKey = in.SessionID + ":p" + p.ID
		meta := map[string]any{"source": "claude-code", "hook": in.HookEventName, "prompt_id": p.ID, "stopped": false}
		if in.CWD != "" {
			meta["cwd"] = in.CWD
		}
		t.Metadata, _ = json.Marshal(meta)
		if err := r.Outbox.Append(t); err != nil {
			r.log().Info("save unfinished turn", "err", err)
		}
	}
}

// newTurn is a turn of the hook's session and project.
func (r *Runner) newTurn(in Input, prompt string, at time.Time) api.Turn {
	t := api.Turn{SessionID: in.SessionID, Project: ProjectName(in.CWD), UserPrompt: prompt}
	if !at.IsZero() {
		at = at.UTC()
		t.OccurredAt = &at
	}
	return t
}

// findTurn returns the last of turns with Claude Code's prompt id, else
// (a transcript without prompt ids) the last whose prompt is prompt.
func findTurn(turns []transcript.Turn, promptID, prompt string) (transcript.Turn, bool) {
	for i := len(turns) - 1; i >= 0; i-- {
		t := turns[i]
		if promptID != "" && t.PromptID != "" {
			if t.PromptID == promptID {
				return t, true
			}
			continue
		}
		if prompt != "" && samePrompt(t.Prompt, prompt) {
			return t, true
		}
	}
	return transcript.Turn{}, false
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

// Waiting for a lagging transcript.
const (
	// transcriptPoll is how often Stop re-reads a lagging transcript.
	transcriptPoll = 20 * time.Millisecond
	// maxTranscriptWait bounds the wait without a deadline.
	maxTranscriptWait = time.Second
	// stopReserve is the part of Stop's budget kept for the outbox.
	stopReserve = 400 * time.Millisecond
)

// buildTurn assembles the finished turn. The prompt is the one
// UserPromptSubmit saved under the Stop's prompt_id (Claude Code's own
// identifier of the prompt), so a turn is never paired with another
// prompt's answer. Claude Code writes its transcript late: when it does not
// yet hold that prompt with the final answer (last_assistant_message), Stop
// re-reads it until it does, within the budget less stopReserve; if it
// never catches up, the saved prompt and last_assistant_message make the
// turn. Without a prompt_id (older Claude Code) the latest saved prompt
// plays that part when it is newer than the transcript's last prompt.
func (r *Runner) buildTurn(ctx context.Context, in Input) (api.Turn, bool, error) {
	if in.SessionID == "" {
		return api.Turn{}, false, errors.New("stop: no session_id in hook input")
	}
	st, _ := r.loadState(in.SessionID)
	last := transcript.Clean(in.LastAssistantMessage)
	var (
		want   string    // the prompt this Stop answers, when known
		wantAt time.Time // when it was submitted
	)
	if p, ok := st.find(in.PromptID); ok {
		want, wantAt = transcript.Clean(p.Prompt), p.At
	} else if in.PromptID == "" || st.PromptID == "" {
		want, wantAt = transcript.Clean(st.Prompt), st.At
	}
	want = transcript.Truncate(want, transcript.MaxText)
	read := func() ([]transcript.Turn, bool) {
		if in.TranscriptPath == "" {
			return nil, false
		}
		turns, err := transcript.TailTurnsFile(in.TranscriptPath)
		if err != nil && !errors.Is(err, transcript.ErrNoTurn) && !errors.Is(err, os.ErrNotExist) {
			r.log().Info("stop: transcript unreadable", "err", err)
		}
		return turns, len(turns) > 0
	}
	// done reports whether the transcript holds the turn: the wanted
	// prompt with the final answer, or (without a known prompt, or with a
	// saved prompt older than the transcript's last) its last turn.
	done := func(turns []transcript.Turn) (transcript.Turn, bool) {
		if len(turns) == 0 {
			return transcript.Turn{}, false
		}
		lt := turns[len(turns)-1]
		if want == "" && in.PromptID != "" {
			return findTurn(turns, in.PromptID, "")
		}
		if want == "" || (in.PromptID == "" && !wantAt.IsZero() && !lt.PromptAt.IsZero() && lt.PromptAt.After(wantAt.Add(time.Second)) && !samePrompt(lt.Prompt, want)) {
			return lt, true
		}
		tt, ok := findTurn(turns, in.PromptID, want)
		if !ok {
			return tt, false
		}
		return tt, last == "" || strings.Contains(tt.Response, strings.TrimSpace(transcript.Truncate(last, 2000)))
	}
	turns, _ := read()
	tt, haveTranscript := done(turns)
	if !haveTranscript && want != "" && in.TranscriptPath != "" {
		start := time.Now()
		wait := maxTranscriptWait
		if dl, ok := ctx.Deadline(); ok {
			wait = min(wait, time.Until(dl)-stopReserve)
		}
		timer := time.NewTimer(max(wait, 0))
		tick := time.NewTicker(transcriptPoll)
	poll:
		for {
			select {
			case <-timer.C:
				break poll
			case <-ctx.Done():
				break poll
			case <-tick.C:
				turns, _ = read()
				if tt, haveTranscript = done(turns); haveTranscript {
					break poll
				}
			}
		}
		timer.Stop()
		tick.Stop()
		if !haveTranscript {
			// The prompt may be there without the final answer yet.
			tt, haveTranscript = findTurn(turns, in.PromptID, want)
		}
		r.log().Debug("stop: waited for the transcript", "caught_up", haveTranscript, "waited", time.Since(start))
	}
	var at time.Time
	meta := map[string]any{"source": "claude-code", "hook": "Stop"}
	var t api.Turn
	switch {
	case haveTranscript:
		t = r.newTurn(in, tt.Prompt, time.Time{})
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
	case want != "":
		t = r.newTurn(in, want, time.Time{})
		t.AssistantResponse = transcript.Truncate(last, transcript.MaxText)
		at = wantAt
	default:
		t = r.newTurn(in, "", time.Time{})
		t.AssistantResponse = transcript.Truncate(last, transcript.MaxText)
	}
	if t.UserPrompt == "" && t.AssistantResponse == "" {
		return t, false, nil
	}
	if in.PromptID != "" {
		// Claude Code's prompt id names the turn whatever the source.
		t.IdempotencyKey = in.SessionID + ":p" + in.PromptID
		meta["prompt_id"] = in.PromptID
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
	if event == claudehooks.SessionEnd {
		r.savePending(ctx, in, "")
	}
	res, err := r.Outbox.Drain(ctx, r.Client)
	r.logDrain(event, res, err)
	if event == claudehooks.SessionEnd && in.SessionID != "" {
		r.removeState(in.SessionID)
	}
	return nil
}
