// Package transcript reads Claude Code session transcripts (the JSONL file
// named by a hook's transcript_path) and turns them into conversation turns:
// a user prompt and what the assistant did in answer.
//
// Each line of a transcript is one JSON entry. The entries that matter are
// "user" entries (a typed prompt, or tool results going back to the model)
// and "assistant" entries (content blocks: text, tool_use, thinking). A turn
// starts at a user entry carrying a real prompt and runs until the next one.
// Thinking blocks and tool results are dropped, tool calls are summarised as
// "[tool: Edit path/to/file]", and context that Sage itself injected
// (between <sage-memory> markers) or that Claude Code injected
// (<system-reminder>) is removed so that it is never saved back.
package transcript

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"github.com/sage-mcp/sage/shared/textcut"
)

// Limits.
const (
	// MaxLine is the longest transcript line parsed; longer lines (huge tool
	// results) are skipped.
	MaxLine = 16 << 20
	// MaxText bounds a turn's prompt and its response; longer text is cut
	// and ends with TruncatedMark.
	MaxText = 64 << 10
	// TailBytes is how much of the end of a transcript LastTurnFile reads
	// first; it reads more only when the last prompt is further back.
	TailBytes = 4 << 20
)

// TruncatedMark ends a text cut at MaxText.
const TruncatedMark = "\n…[truncated]"

// Markers around the context Sage injects; text between them is never saved.
const (
	OpenMarker  = "<sage-memory>"
	CloseMarker = "</sage-memory>"
)

// Turn is one conversation turn found in a transcript.
type Turn struct {
	// ID is the transcript uuid of the user entry that starts the turn.
	ID string
	// PromptID is Claude Code's id of the prompt (its hooks' prompt_id;
	// empty in older transcripts).
	PromptID string
	// Index is the turn's position in the transcript (0-based) among the
	// turns that were read.
	Index int
	// Prompt is the user's prompt, cleaned.
	Prompt string
	// Response is the assistant's text and tool-call summaries, cleaned.
	Response string
	// Tools counts the tool calls of the turn.
	Tools int
	// PromptAt is the prompt's timestamp (zero when absent).
	PromptAt time.Time
	// Complete is true when the turn has at least one assistant entry.
	Complete bool
}

// Stats counts what Parse skipped.
type Stats struct {
	Lines     int
	Malformed int
	TooLong   int
}

// entry is the part of a transcript line that Parse reads.
type entry struct {
	Type        string `json:"type"`
	UUID        string `json:"uuid"`
	PromptID    string `json:"promptId"`
	IsSidechain bool   `json:"isSidechain"`
	IsMeta      bool   `json:"isMeta"`
	// IsCompactSummary marks the summary Claude Code writes as a user
	// entry after compacting; IsVisibleInTranscriptOnly marks other
	// entries that never were prompts.
	IsCompactSummary          bool            `json:"isCompactSummary"`
	IsVisibleInTranscriptOnly bool            `json:"isVisibleInTranscriptOnly"`
	Timestamp                 string          `json:"timestamp"`
	CWD                       string          `json:"cwd"`
	Message                   json.RawMessage `json:"message"`
}

type message struct {
	ID      string          `json:"id"`
	Role    string          `json:"role"`
	Content json.RawMessage `json:"content"`
}

type block struct {
	Type  string          `json:"type"`
	Text  string          `json:"text"`
	Name  string          `json:"name"`
	Input json.RawMessage `json:"input"`
}

var (
	sageRe     = regexp.MustCompile(`(?s)<sage-memory\b[^>]*>.*?</sage-memory>`)
	reminderRe = regexp.MustCompile(`(?s)<system-reminder>.*?</system-reminder>`)
	blankRe    = regexp.MustCompile(`\n{3,}`)
)

// Clean removes Sage's injected context (everything between <sage-memory>
// and </sage-memory>, or from an unclosed <sage-memory> to the end) and
// Claude Code's <system-reminder> blocks from s and trims it.
func Clean(s string) string {
	if strings.Contains(s, "<sage-memory") {
		s = sageRe.ReplaceAllString(s, "")
		if i := strings.Index(s, "<sage-memory"); i >= 0 {
			s = s[:i]
		}
	}
	if strings.Contains(s, "<system-reminder>") {
		s = reminderRe.ReplaceAllString(s, "")
	}
	s = blankRe.ReplaceAllString(s, "\n\n")
	return strings.TrimSpace(s)
}

// Truncate cuts s to at most max bytes on a rune boundary, ending it with
// TruncatedMark when it was cut (textcut.Bytes).
func Truncate(s string, max int) string { return textcut.Bytes(s, max, TruncatedMark) }

// commandPrompt reports whether a user text is Claude Code's record of a
// slash command or of its local output rather than a prompt.
func commandPrompt(s string) bool {
	for _, p := range []string{"<command-name>", "<command-message>", "<local-command-stdout>", "<local-command-stderr>", "<local-command-caveat>", "<bash-input>", "<bash-stdout>", "<bash-stderr>"} {
		if strings.HasPrefix(s, p) {
			return true
		}
	}
	return strings.HasPrefix(s, "[Request interrupted by user")
}

// builder accumulates turns while reading.
type builder struct {
	turns    []Turn
	cur      *Turn
	resp     strings.Builder
	seen     map[string]bool // assistant blocks already added (message id + block)
	cwd      string
	startIdx int
}

func (b *builder) flush() {
	if b.cur == nil {
		return
	}
	b.cur.Response = Truncate(Clean(b.resp.String()), MaxText)
	b.turns = append(b.turns, *b.cur)
	b.cur = nil
	b.resp.Reset()
}

func (b *builder) add(line []byte) error {
	var e entry
	if err := json.Unmarshal(line, &e); err != nil {
		return err
	}
	if e.IsSidechain || len(e.Message) == 0 {
		return nil
	}
	if e.CWD != "" {
		b.cwd = e.CWD
	}
	var m message
	if err := json.Unmarshal(e.Message, &m); err != nil {
		return err
	}
	switch e.Type {
	case "user":
		if e.IsMeta || e.IsCompactSummary || e.IsVisibleInTranscriptOnly {
			return nil
		}
		prompt, ok := userPrompt(m.Content)
		if !ok {
			return nil // tool results, command records, empty
		}
		b.flush()
		t := &Turn{ID: e.UUID, PromptID: e.PromptID, Index: b.startIdx + len(b.turns), Prompt: Truncate(prompt, MaxText)}
		if ts, err := time.Parse(time.RFC3339Nano, e.Timestamp); err == nil {
			t.PromptAt = ts
		}
		b.cur = t
	case "assistant":
		if b.cur == nil {
			return nil
		}
		b.cur.Complete = true
		b.assistant(m)
	}
	return nil
}

// userPrompt extracts the prompt of a user entry's content: a string, or
// the text blocks of an array without tool_result blocks.
func userPrompt(content json.RawMessage) (string, bool) {
	var s string
	if err := json.Unmarshal(content, &s); err != nil {
		var blocks []block
		if err := json.Unmarshal(content, &blocks); err != nil {
			return "", false
		}
		var parts []string
		for _, bl := range blocks {
			switch bl.Type {
			case "tool_result":
				return "", false
			case "text":
				parts = append(parts, bl.Text)
			case "image":
				parts = append(parts, "[image]")
			}
		}
		s = strings.Join(parts, "\n")
	}
	if commandPrompt(strings.TrimSpace(s)) {
		return "", false
	}
	s = Clean(s)
	return s, s != ""
}

func (b *builder) assistant(m message) {
	var s string
	if err := json.Unmarshal(m.Content, &s); err == nil {
		b.text(m.ID, s)
		return
	}
	var blocks []block
	if err := json.Unmarshal(m.Content, &blocks); err != nil {
		return
	}
	for _, bl := range blocks {
		switch bl.Type {
		case "text":
			b.text(m.ID, bl.Text)
		case "tool_use":
			sum := ToolSummary(bl.Name, bl.Input, b.cwd)
			key := m.ID + "\x00tool\x00" + string(bl.Input) + bl.Name
			if m.ID != "" && b.seen[key] {
				continue
			}
			b.mark(key)
			b.cur.Tools++
			b.line(sum)
		}
		// thinking, redacted_thinking and anything else: dropped.
	}
}

func (b *builder) mark(key string) {
	if b.seen == nil {
		b.seen = map[string]bool{}
	}
	b.seen[key] = true
}

func (b *builder) text(id, s string) {
	s = strings.TrimSpace(s)
	if s == "" {
		return
	}
	key := id + "\x00text\x00" + s
	if id != "" && b.seen[key] {
		return
	}
	b.mark(key)
	b.line(s)
}

func (b *builder) line(s string) {
	if b.resp.Len() > MaxText+len(s) {
		return
	}
	if b.resp.Len() > 0 {
		b.resp.WriteString("\n")
	}
	b.resp.WriteString(s)
}

// ToolSummary describes a tool call in one short line, like
// "[tool: Edit internal/x.go]" or "[tool: Bash go test ./...]". Paths under
// cwd are shown relative to it.
func ToolSummary(name string, input json.RawMessage, cwd string) string {
	var in map[string]any
	_ = json.Unmarshal(input, &in)
	arg := ""
	for _, k := range []string{"file_path", "notebook_path", "command", "pattern", "url", "query", "path", "description", "prompt", "skill"} {
		if v, ok := in[k].(string); ok && strings.TrimSpace(v) != "" {
			arg = v
			if k == "file_path" || k == "notebook_path" || k == "path" {
				arg = relPath(v, cwd)
			}
			break
		}
	}
	arg = strings.Join(strings.Fields(arg), " ")
	arg = Truncate(arg, 120)
	if name == "" {
		name = "unknown"
	}
	if arg == "" {
		return "[tool: " + name + "]"
	}
	return "[tool: " + name + " " + arg + "]"
}

func relPath(p, cwd string) string {
	if cwd == "" || !filepath.IsAbs(p) {
		return p
	}
	r, err := filepath.Rel(cwd, p)
	if err != nil || strings.HasPrefix(r, "..") {
		return p
	}
	return filepath.ToSlash(r)
}

// Parse reads a whole transcript and returns its turns in order. Malformed
// and overlong lines are skipped and counted; only a read error fails.
func Parse(r io.Reader) ([]Turn, Stats, error) {
	return parse(r, 0)
}

func parse(r io.Reader, startIdx int) ([]Turn, Stats, error) {
	var st Stats
	b := &builder{startIdx: startIdx}
	br := bufio.NewReaderSize(r, 64<<10)
	for {
		line, tooLong, err := readLine(br)
		if len(line) > 0 || tooLong {
			st.Lines++
			switch {
			case tooLong:
				st.TooLong++
			default:
				if len(bytes.TrimSpace(line)) > 0 {
					if perr := b.add(line); perr != nil {
						st.Malformed++
					}
				}
			}
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, st, fmt.Errorf("read transcript: %w", err)
		}
	}
	b.flush()
	return b.turns, st, nil
}

// readLine reads one line; a line longer than MaxLine is consumed and
// reported as tooLong without being kept.
func readLine(br *bufio.Reader) (line []byte, tooLong bool, err error) {
	for {
		chunk, err := br.ReadSlice('\n')
		if !tooLong {
			if len(line)+len(chunk) > MaxLine {
				tooLong, line = true, nil
			} else {
				line = append(line, chunk...)
			}
		}
		if err == bufio.ErrBufferFull {
			continue
		}
		return line, tooLong, err
	}
}

// ErrNoTurn means the transcript holds no user prompt.
var ErrNoTurn = errors.New("no turn in transcript")

// LastTurnFile returns the last turn of the transcript at path. It reads the
// last TailBytes first and the whole file only when no prompt is found
// there. Turn.Index is then only meaningful for whole-file reads; use ID.
func LastTurnFile(path string) (Turn, error) {
	turns, err := TailTurnsFile(path)
	if err != nil {
		return Turn{}, err
	}
	return turns[len(turns)-1], nil
}

// TailTurnsFile returns the turns of the transcript's tail, in order: the
// last TailBytes first, more (×4 each time) until at least one prompt is
// found. ErrNoTurn means the whole transcript holds no prompt.
func TailTurnsFile(path string) ([]Turn, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("open transcript: %w", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("stat transcript: %w", err)
	}
	size := fi.Size()
	for tail := int64(TailBytes); ; tail *= 4 {
		off := max(size-tail, 0)
		if _, err := f.Seek(off, io.SeekStart); err != nil {
			return nil, fmt.Errorf("seek transcript: %w", err)
		}
		br := bufio.NewReaderSize(io.LimitReader(f, size-off), 64<<10)
		if off > 0 { // skip the partial first line
			if _, _, err := readLine(br); err != nil {
				return nil, fmt.Errorf("read transcript: %w", err)
			}
		}
		turns, _, err := parse(br, 0)
		if err != nil {
			return nil, err
		}
		if len(turns) > 0 {
			return turns, nil
		}
		if off == 0 {
			return nil, ErrNoTurn
		}
	}
}
