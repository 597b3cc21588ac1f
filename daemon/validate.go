package sage

import (
	"bytes"
	"encoding/json"
	"strings"
	"time"
	"unicode/utf8"
)

// Validate checks t against the limits of this package. Field names in the
// returned *InputError are the wire names (user_prompt, session_id, …).
func (t Turn) Validate() error {
	if strings.TrimSpace(t.UserPrompt) == "" && strings.TrimSpace(t.AssistantResponse) == "" {
		return Invalidf("user_prompt", "is required (a turn needs a user_prompt or an assistant_response)")
	}
	if err := checkText("user_prompt", t.UserPrompt, MaxContentBytes); err != nil {
		return err
	}
	if err := checkText("assistant_response", t.AssistantResponse, MaxContentBytes); err != nil {
		return err
	}
	if n := len(t.UserPrompt) + len(t.AssistantResponse); n > MaxContentBytes {
		return Invalidf("assistant_response", "user_prompt and assistant_response together are %d bytes, more than the limit of %d", n, MaxContentBytes)
	}
	if err := checkIDs(t.IdempotencyKey, t.SessionID, t.Project); err != nil {
		return err
	}
	if err := checkMetadata(t.Metadata); err != nil {
		return err
	}
	return checkTime("occurred_at", t.OccurredAt)
}

// Validate checks n against the limits of this package.
func (n Note) Validate() error {
	if strings.TrimSpace(n.Content) == "" {
		return Invalidf("content", "is required")
	}
	if err := checkText("content", n.Content, MaxContentBytes); err != nil {
		return err
	}
	if n.Kind != "" && !n.Kind.Valid() {
		return Invalidf("kind", "%q is not one of %s", n.Kind, kindList())
	}
	if err := checkTags("tags", n.Tags); err != nil {
		return err
	}
	if err := checkIDs(n.IdempotencyKey, n.SessionID, n.Project); err != nil {
		return err
	}
	if err := checkMetadata(n.Metadata); err != nil {
		return err
	}
	return checkTime("occurred_at", n.OccurredAt)
}

// Validate checks q against the limits of this package.
func (q SearchQuery) Validate() error {
	if strings.TrimSpace(q.Query) == "" {
		return Invalidf("query", "is required")
	}
	if err := checkText("query", q.Query, MaxQueryBytes); err != nil {
		return err
	}
	if q.Limit < 0 || q.Limit > MaxLimit {
		return Invalidf("limit", "must be between 1 and %d (0 means %d), got %d", MaxLimit, DefaultLimit, q.Limit)
	}
	switch q.Mode {
	case "", ModeHybrid, ModeSemantic, ModeKeyword:
	default:
		return Invalidf("mode", "%q is not one of hybrid, semantic, keyword", q.Mode)
	}
	return q.Filter.Validate()
}

// Validate checks q against the limits of this package. An empty query is
// allowed: the context is then the most recent memories.
func (q ContextQuery) Validate() error {
	if err := checkText("query", q.Query, MaxQueryBytes); err != nil {
		return err
	}
	if q.MaxResults < 0 || q.MaxResults > MaxLimit {
		return Invalidf("max_results", "must be between 1 and %d (0 means %d), got %d", MaxLimit, DefaultLimit, q.MaxResults)
	}
	if q.MaxChars < 0 || q.MaxChars > MaxMaxChars {
		return Invalidf("max_chars", "must be between 1 and %d (0 means %d), got %d", MaxMaxChars, DefaultMaxChars, q.MaxChars)
	}
	return q.Filter.Validate()
}

// Validate checks a filter's fields.
func (f Filter) Validate() error {
	if err := checkID("project", f.Project); err != nil {
		return err
	}
	if err := checkID("session_id", f.SessionID); err != nil {
		return err
	}
	if len(f.Kinds) > len(Kinds) {
		return Invalidf("kinds", "at most %d kinds", len(Kinds))
	}
	for _, k := range f.Kinds {
		if !k.Valid() {
			return Invalidf("kinds", "%q is not one of %s", k, kindList())
		}
	}
	if err := checkTags("tags", f.Tags); err != nil {
		return err
	}
	if err := checkTime("since", f.Since); err != nil {
		return err
	}
	if err := checkTime("until", f.Until); err != nil {
		return err
	}
	if !f.Since.IsZero() && !f.Until.IsZero() && f.Until.Before(f.Since) {
		return Invalidf("until", "is before since")
	}
	return nil
}

// Validate checks r: it must name ids or a session, not both, within limits.
func (r ForgetRequest) Validate() error {
	if len(r.IDs) == 0 && r.SessionID == "" {
		return Invalidf("ids", "give ids or a session_id to forget")
	}
	if len(r.IDs) > 0 && r.SessionID != "" {
		return Invalidf("ids", "give ids or a session_id, not both")
	}
	if len(r.IDs) > MaxForgetIDs {
		return Invalidf("ids", "at most %d ids at once, got %d", MaxForgetIDs, len(r.IDs))
	}
	for _, id := range r.IDs {
		if id <= 0 {
			return Invalidf("ids", "%d is not a memory id", id)
		}
	}
	return checkID("session_id", r.SessionID)
}

func kindList() string {
	s := make([]string, len(Kinds))
	for i, k := range Kinds {
		s[i] = string(k)
	}
	return strings.Join(s, ", ")
}

// checkText refuses text PostgreSQL cannot store (invalid UTF-8, NUL) or
// longer than max bytes.
func checkText(field, s string, max int) error {
	if len(s) > max {
		return Invalidf(field, "is %d bytes, more than the limit of %d", len(s), max)
	}
	if !utf8.ValidString(s) {
		return Invalidf(field, "is not valid UTF-8")
	}
	if strings.IndexByte(s, 0) >= 0 {
		return Invalidf(field, "contains a NUL character")
	}
	return nil
}

func checkID(field, s string) error {
	return checkText(field, s, MaxIDBytes)
}

func checkIDs(idempotencyKey, sessionID, project string) error {
	if err := checkID("idempotency_key", idempotencyKey); err != nil {
		return err
	}
	if err := checkID("session_id", sessionID); err != nil {
		return err
	}
	return checkID("project", project)
}

func checkTags(field string, tags []string) error {
	if len(tags) > MaxTags {
		return Invalidf(field, "at most %d tags, got %d", MaxTags, len(tags))
	}
	for _, tag := range tags {
		if strings.TrimSpace(tag) == "" {
			return Invalidf(field, "a tag is empty")
		}
		if err := checkText(field, tag, MaxTagBytes); err != nil {
			return err
		}
	}
	return nil
}

// checkMetadata accepts nothing, null, or a JSON object within the limit
// that jsonb can store.
func checkMetadata(m json.RawMessage) error {
	if len(m) == 0 {
		return nil
	}
	if len(m) > MaxMetadataBytes {
		return Invalidf("metadata", "is %d bytes, more than the limit of %d", len(m), MaxMetadataBytes)
	}
	trimmed := bytes.TrimSpace(m)
	if bytes.Equal(trimmed, []byte("null")) {
		return nil
	}
	if !json.Valid(trimmed) || len(trimmed) == 0 || trimmed[0] != '{' {
		return Invalidf("metadata", "must be a JSON object")
	}
	if bytes.Contains(trimmed, []byte(`\u0000`)) {
		return Invalidf("metadata", "contains a NUL character (\\u0000)")
	}
	return nil
}

func checkTime(field string, t time.Time) error {
	if t.IsZero() {
		return nil
	}
	if y := t.Year(); y < 1 || y > 9999 {
		return Invalidf(field, "year %d is out of range", y)
	}
	return nil
}
