package hook

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/sage-mcp/sage/bridge"
	"github.com/sage-mcp/sage/bridge/client"
	"github.com/sage-mcp/sage/bridge/transcript"
	"github.com/sage-mcp/sage/shared/api"
	"github.com/sage-mcp/sage/shared/claudehooks"
	"github.com/sage-mcp/sage/shared/textcut"
)

// Limits of recall.
const (
	// MaxQuery bounds the prompt text sent as the context query.
	MaxQuery = 2000
	// ContextResults is how many memories UserPromptSubmit asks for.
	ContextResults = 8
	// RecapSessions, RecapItems bound the SessionStart recap's lists.
	RecapSessions = 5
	RecapItems    = 5
	// minPromptWeight: prompts lighter than this are trivial (a CJK
	// character weighs 2, another letter or digit 1).
	minPromptWeight = 6
)

// trivialPrompts are acknowledgements that never need recall, normalised
// (lower case, letters and digits only).
var trivialPrompts = map[string]bool{
	"ok": true, "okay": true, "k": true, "thanks": true, "thankyou": true, "thx": true, "ty": true,
	"yes": true, "no": true, "y": true, "n": true, "sure": true, "continue": true, "goon": true,
	"goahead": true, "next": true, "done": true, "good": true, "great": true, "nice": true,
	"cool": true, "perfect": true, "lgtm": true, "proceed": true, "doit": true, "yesplease": true,
	"okthanks": true, "okthankyou": true, "thanksalot": true, "retry": true, "tryagain": true,
	"继续": true, "好": true, "好的": true, "谢谢": true, "嗯": true, "是": true, "对": true,
	"可以": true, "行": true, "收到": true, "好的谢谢": true, "继续吧": true, "没问题": true,
	"はい": true, "ありがとう": true, "続けて": true,
}

// Trivial reports whether a prompt should get no recall: a slash command,
// a known acknowledgement ("ok", "thanks", "继续"…) or a very short text.
func Trivial(prompt string) bool {
	p := strings.TrimSpace(prompt)
	if p == "" || strings.HasPrefix(p, "/") {
		return true
	}
	var norm strings.Builder
	weight := 0
	for _, r := range strings.ToLower(p) {
		if unicode.IsLetter(r) || unicode.IsDigit(r) {
			norm.WriteRune(r)
			if unicode.Is(unicode.Han, r) || unicode.Is(unicode.Hiragana, r) || unicode.Is(unicode.Katakana, r) || unicode.Is(unicode.Hangul, r) {
				weight += 2
			} else {
				weight++
			}
		}
	}
	return trivialPrompts[norm.String()] || weight < minPromptWeight
}

// userPromptSubmit remembers the prompt for Stop and returns the context
// to inject ("" when injection is off, the prompt trivial or nothing
// relevant was found).
func (r *Runner) userPromptSubmit(ctx context.Context, in Input) (string, error) {
	prompt := transcript.Clean(in.Prompt)
	// Slash commands are not turns in the transcript; remembering them
	// would make Stop mistake the transcript for a lagging one.
	if in.SessionID != "" && prompt != "" && !strings.HasPrefix(prompt, "/") {
		r.savePending(ctx, in, in.PromptID)
		p := promptState{ID: in.PromptID, Prompt: prompt, At: r.now().UTC()}
		r.updateState(ctx, in.SessionID, func(st *state) { st.add(p) })
	}
	p, skip := r.promptQuery(ProjectName(in.CWD), in.SessionID, prompt)
	if skip != "" {
		return "", nil
	}
	resp, err := r.Client.Context(ctx, p)
	if err != nil {
		return "", fmt.Errorf("recall: %w", err)
	}
	return MarkContext(resp.Context, r.Options.MaxChars), nil
}

// PromptQuery is the context request the prompt hook would make for
// prompt, asked in project by session, with the options the hook would
// have (r.Options, then the daemon's recall settings for the project, as a
// hook run applies them; then maxChars as the size budget unless it is 0),
// made a dry run. skip is why the hook would inject nothing without asking
// ("" when it would ask); sage_manage why shows it and asks anyway.
func (r *Runner) PromptQuery(ctx context.Context, project, session, prompt string, maxChars int) (p client.ContextParams, o Options, skip string) {
	run := *r
	run.Options = r.followSettings(ctx, claudehooks.UserPromptSubmit, project, prompt)
	if maxChars > 0 {
		run.Options.MaxChars = maxChars
	}
	p, skip = run.promptQuery(project, session, transcript.Clean(prompt))
	p.Source, p.DryRun = "", true
	return p, run.Options, skip
}

// blockRoom is what a block may hold, in characters, so that with the
// <sage-memory> markers it fits in maxChars (0 when it cannot).
func blockRoom(maxChars int) int {
	return max(maxChars-utf8.RuneCountInString(transcript.OpenMarker+"\n"+transcript.CloseMarker), 0)
}

// promptQuery is the prompt hook's context request for prompt, and why
// it would not be made ("" when it would). The daemon filters (this
// session's memories, the score threshold, the injection gate) before its
// limit, renders the block within the budget left by the markers, and
// records the injection.
func (r *Runner) promptQuery(project, session, prompt string) (client.ContextParams, string) {
	room := blockRoom(r.Options.MaxChars)
	p := client.ContextParams{
		Query:          transcript.Truncate(prompt, MaxQuery),
		MaxResults:     r.Options.Results(),
		MaxChars:       max(room, 1),
		Project:        project,
		ExcludeSession: session,
		MinScore:       r.Options.MinScore,
		Gate:           true,
		Source:         "hook",
	}
	switch {
	case !r.Options.Inject:
		return p, "injection is off (hooks_inject in the config, " + EnvInject + ", or the console's settings for the project)"
	case Trivial(prompt):
		return p, "the prompt is trivial (an acknowledgement, a slash command or a very short text)"
	case room == 0:
		return p, "max_chars leaves no room inside the markers"
	}
	return p, ""
}

// MarkContext puts the daemon's block between the <sage-memory> markers,
// as is; "" stays "". A block that would not fit in maxChars runes with
// the markers (a daemon ignoring max_chars) is cut.
func MarkContext(block string, maxChars int) string {
	block = strings.TrimRight(block, "\n")
	if block == "" {
		return ""
	}
	open, close := transcript.OpenMarker+"\n", "\n"+transcript.CloseMarker
	room := maxChars - utf8.RuneCountInString(open+close)
	if room <= 0 {
		return ""
	}
	return open + textcut.Runes(block, room, textcut.Ellipsis) + close
}

type section struct {
	title string
	lines []string
	items []api.Memory
}

// render builds the marked block from sections within maxChars runes.
func render(head string, secs []section, maxChars int) string {
	open, close := transcript.OpenMarker+"\n", transcript.CloseMarker
	used := utf8.RuneCountInString(open) + utf8.RuneCountInString(head) + utf8.RuneCountInString(close)
	if used >= maxChars {
		return ""
	}
	var body strings.Builder
	n := 0
	for _, s := range secs {
		lines := append([]string(nil), s.lines...)
		for _, m := range s.items {
			lines = append(lines, memoryLine(m))
		}
		titled := false
		for _, l := range lines {
			add := "- " + l + "\n"
			if s.title != "" && !titled {
				add = s.title + ":\n" + add
			}
			room := maxChars - used - utf8.RuneCountInString(add)
			if room < 0 {
				// Cut a long line to the room left, when worth it.
				left := maxChars - used
				if s.title != "" && !titled {
					left -= utf8.RuneCountInString(s.title) + 2
				}
				if left < 40 {
					continue
				}
				l = textcut.Runes(l, left-3, textcut.Ellipsis)
				add = "- " + l + "\n"
				if s.title != "" && !titled {
					add = s.title + ":\n" + add
				}
			}
			body.WriteString(add)
			used += utf8.RuneCountInString(add)
			titled = true
			n++
		}
	}
	if n == 0 {
		return ""
	}
	return open + head + body.String() + close
}

// memoryLine is one memory on one line: date, kind, project, text.
func memoryLine(m api.Memory) string {
	var b strings.Builder
	b.WriteString("[")
	if !m.OccurredAt.IsZero() {
		b.WriteString(m.OccurredAt.Format("2006-01-02"))
	} else if !m.CreatedAt.IsZero() {
		b.WriteString(m.CreatedAt.Format("2006-01-02"))
	}
	if m.Kind != "" {
		b.WriteString(" " + m.Kind)
	}
	if m.Project != "" {
		b.WriteString(" · " + m.Project)
	}
	b.WriteString("] ")
	text := transcript.Clean(m.Text)
	text = strings.Join(strings.Fields(text), " ")
	b.WriteString(textcut.Runes(text, 1200, textcut.Ellipsis))
	return b.String()
}

// sessionStart drains the outbox in the background and returns a recap of
// the project: recent sessions, decisions and open threads (the project's
// and the global ones, stored without a project).
func (r *Runner) sessionStart(ctx context.Context, in Input) (string, error) {
	var wg sync.WaitGroup
	wg.Go(func() {
		dctx, cancel := context.WithTimeout(ctx, 700*time.Millisecond)
		defer cancel()
		res, err := r.Outbox.Drain(dctx, r.Client)
		r.logDrain("SessionStart", res, err)
		r.pruneState()
	})
	defer wg.Wait()
	if !r.Options.Inject {
		return "", nil
	}
	project := ProjectName(in.CWD)
	var (
		mu        sync.Mutex
		sessions  []api.Session
		decisions []api.Memory
		todos     []api.Memory
		errs      []error
	)
	var g sync.WaitGroup
	g.Go(func() {
		s, err := r.Client.Sessions(ctx, project, RecapSessions+1)
		mu.Lock()
		defer mu.Unlock()
		sessions, errs = s, append(errs, err)
	})
	g.Go(func() {
		m, err := r.Client.Search(ctx, client.SearchParams{Query: "decision " + project, Limit: RecapItems, Project: project, Kinds: []string{"decision"}, IncludeGlobal: true})
		mu.Lock()
		defer mu.Unlock()
		decisions, errs = m, append(errs, err)
	})
	g.Go(func() {
		m, err := r.Client.Search(ctx, client.SearchParams{Query: "todo open " + project, Limit: RecapItems, Project: project, Kinds: []string{"todo"}, IncludeGlobal: true})
		mu.Lock()
		defer mu.Unlock()
		todos, errs = m, append(errs, err)
	})
	g.Wait()
	failed := 0
	for _, e := range errs {
		if e != nil {
			failed++
		}
	}
	if failed == len(errs) {
		return "", fmt.Errorf("recap: %w", errors.Join(errs...))
	}
	for _, e := range errs {
		if e != nil {
			r.log().Info("recap: partial", "err", e)
		}
	}
	return FormatRecap(project, in.SessionID, sessions, decisions, todos, r.Options.MaxChars), nil
}

// FormatRecap renders the SessionStart recap within maxChars runes; the
// current session is left out. It returns "" when there is nothing to say.
func FormatRecap(project, current string, sessions []api.Session, decisions, todos []api.Memory, maxChars int) string {
	var lines []string
	for _, s := range sessions {
		if s.ID == current || len(lines) == RecapSessions {
			continue
		}
		title := strings.Join(strings.Fields(transcript.Clean(s.Title)), " ")
		if title == "" {
			title = "(untitled)"
		}
		lines = append(lines, fmt.Sprintf("%s %s (%s)", s.LastAt.Format("2006-01-02 15:04"), textcut.Runes(title, 200, textcut.Ellipsis), bridge.Plural(s.Memories, "memory", "memories")))
	}
	secs := []section{
		{title: "Recent sessions", lines: lines},
		{title: "Decisions", items: decisions},
		{title: "Open threads", items: todos},
	}
	head := "Sage recap of earlier work"
	if project != "" {
		head += " on project " + project
	}
	head += " (may be outdated):\n"
	return render(head, secs, maxChars)
}
