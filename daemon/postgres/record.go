package postgres

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"strings"
	"time"
	"unicode"

	sage "github.com/sage-mcp/sage/daemon"
	"github.com/sage-mcp/sage/daemon/tokenize"
	"github.com/sage-mcp/sage/shared/textcut"
)

// record is a memory on its way into the table.
type record struct {
	m        sage.Memory
	tokens   string    // search terms, stored as the tsvector tsv
	vec      []float32 // nil: pending
	title    string    // session title when the session is new
	embedTxt string
}

func (s *MemoryService) newRecord(ns string, m sage.Memory) *record {
	if m.OccurredAt.IsZero() {
		m.OccurredAt = s.now()
	}
	m.OccurredAt = m.OccurredAt.UTC().Truncate(time.Microsecond)
	m.Namespace = ns
	m.ContentHash = ContentHash(m.Text)
	if len(m.Metadata) == 0 || string(m.Metadata) == "null" {
		m.Metadata = json.RawMessage("{}")
	}
	if m.Tags == nil {
		m.Tags = []string{}
	}
	return &record{m: m, tokens: indexTokens(m), embedTxt: m.Text}
}

// indexTokens is the text indexed for full-text search: the memory's text
// and its tags, nothing else. Metadata values (a working directory, the
// client) and the date would match every memory a hook saved; questions
// about time go through the date-aware query path (tokenize.ParseTime) and
// filter on occurred_at instead.
func indexTokens(m sage.Memory) string {
	var b strings.Builder
	b.WriteString(m.Text)
	for _, t := range m.Tags {
		b.WriteString(" ")
		b.WriteString(t)
	}
	return tokenize.IndexString(b.String())
}

// ContentHash is the hex SHA-256 of text with case folded and whitespace
// collapsed: two texts that differ only there are the same content.
func ContentHash(text string) string {
	h := sha256.New()
	first := true
	for _, f := range strings.FieldsFunc(text, unicode.IsSpace) {
		if !first {
			h.Write([]byte{' '})
		}
		first = false
		h.Write([]byte(strings.ToLower(f)))
	}
	return hex.EncodeToString(h.Sum(nil))
}

// TurnText is how a turn is stored: the user's prompt and the assistant's
// response, labelled.
func TurnText(t sage.Turn) string {
	p, r := strings.TrimSpace(t.UserPrompt), strings.TrimSpace(t.AssistantResponse)
	switch {
	case r == "":
		return "User: " + p
	case p == "":
		return "Assistant: " + r
	}
	return "User: " + p + "\n\nAssistant: " + r
}

func (s *MemoryService) turnRecord(ns string, t sage.Turn) *record {
	r := s.newRecord(ns, sage.Memory{
		Project: t.Project, SessionID: t.SessionID, Kind: sage.KindTurn,
		Text: TurnText(t), IdempotencyKey: t.IdempotencyKey,
		Metadata: t.Metadata, OccurredAt: t.OccurredAt,
	})
	r.title = sessionTitle(t.UserPrompt)
	if r.title == "" {
		r.title = sessionTitle(t.AssistantResponse)
	}
	return r
}

// sessionTitle is the start of the first prompt of a session, on one line.
func sessionTitle(s string) string {
	return textcut.Runes(strings.Join(strings.Fields(s), " "), 80, textcut.Ellipsis)
}

// normalizeTags trims tags and drops repeats, keeping their order.
func normalizeTags(tags []string) []string {
	out := make([]string, 0, len(tags))
	seen := map[string]bool{}
	for _, t := range tags {
		t = strings.TrimSpace(t)
		if t == "" || seen[t] {
			continue
		}
		seen[t] = true
		out = append(out, t)
	}
	return out
}
