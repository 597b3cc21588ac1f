package sage

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/sage-mcp/sage/shared/textcut"
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
	return checkSaved(t.IdempotencyKey, t.SessionID, t.Project, t.Metadata, t.OccurredAt)
}

// Validate checks n against the limits of this package.
func (n Note) Validate() error {
	if err := checkRequiredText("content", n.Content, MaxContentBytes); err != nil {
		return err
	}
	if n.Kind != "" && !n.Kind.Valid() {
		return Invalidf("kind", "%q is not one of %s", n.Kind, kindList())
	}
	if err := checkTags("tags", n.Tags); err != nil {
		return err
	}
	return checkSaved(n.IdempotencyKey, n.SessionID, n.Project, n.Metadata, n.OccurredAt)
}

// Validate checks q against the limits of this package.
func (q SearchQuery) Validate() error {
	if err := checkRequiredText("query", q.Query, MaxQueryBytes); err != nil {
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
	if err := checkID("exclude_session", q.ExcludeSession); err != nil {
		return err
	}
	if q.MinScore < 0 || math.IsNaN(q.MinScore) || math.IsInf(q.MinScore, 0) {
		return Invalidf("min_score", "must be a finite number >= 0, got %v", q.MinScore)
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

// checkSaved checks what turns and notes have alike: their ids, metadata
// and occurred_at.
func checkSaved(idempotencyKey, sessionID, project string, metadata json.RawMessage, occurredAt time.Time) error {
	if err := checkIDs(idempotencyKey, sessionID, project); err != nil {
		return err
	}
	if err := checkMetadata(metadata); err != nil {
		return err
	}
	return checkTime("occurred_at", occurredAt)
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

// checkRequiredText is checkText for a field that must have more than
// white space.
func checkRequiredText(field, s string, max int) error {
	if strings.TrimSpace(s) == "" {
		return Invalidf(field, "is required")
	}
	return checkText(field, s, max)
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

// The range of times a memory may carry (occurred_at) and a filter may
// name (since, until), in UTC: years 1 to 9999, what RFC 3339 can write.
// A time is checked after it is converted to UTC, so
// 9999-12-31T23:59:59-01:00 (year 10000 in UTC) is out of range.
var (
	MinTime = time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC)
	MaxTime = time.Date(9999, 12, 31, 23, 59, 59, 999999999, time.UTC)
)

func checkTime(field string, t time.Time) error {
	if t.IsZero() {
		return nil
	}
	if u := t.UTC(); u.Before(MinTime) || u.After(MaxTime) {
		return Invalidf(field, "%s falls in the year %d in UTC; times must be from %s to %s (in UTC)",
			t.Format(time.RFC3339Nano), u.Year(), MinTime.Format(time.RFC3339), MaxTime.Format(time.RFC3339))
	}
	return nil
}

// ClampTime returns t within [MinTime, MaxTime] (in UTC) and whether it had
// to move it. Stored rows are clamped on the way out, so that one row
// written out of range (by SQL, or by an older daemon) cannot make a whole
// list or export fail to encode.
func ClampTime(t time.Time) (time.Time, bool) {
	u := t.UTC()
	switch {
	case u.Before(MinTime):
		return MinTime, true
	case u.After(MaxTime):
		return MaxTime.Truncate(time.Microsecond), true
	}
	return t, false
}

// ValidateSessionID checks a session id that must be given.
func ValidateSessionID(id string) error {
	if strings.TrimSpace(id) == "" {
		return Invalidf("session_id", "is required")
	}
	return checkID("session_id", id)
}

// ValidateProject checks a project name ("" is allowed: no project).
func ValidateProject(project string) error {
	return checkID("project", project)
}

// NormalizeTitle is a session title as it is stored: its words separated
// by single spaces.
func NormalizeTitle(title string) string {
	return strings.Join(strings.Fields(title), " ")
}

// ValidateTitle checks a new session title: it must hold a word and, once
// normalized (NormalizeTitle), fit MaxTitleBytes. A title cannot be
// cleared: a session's title is the start of its first prompt until it is
// renamed.
func ValidateTitle(title string) error {
	if err := checkText("title", title, MaxContentBytes); err != nil {
		return err
	}
	t := NormalizeTitle(title)
	if t == "" {
		return Invalidf("title", "is required (a title cannot be cleared; give the new title)")
	}
	if len(t) > MaxTitleBytes {
		return Invalidf("title", "is %d bytes, more than the limit of %d", len(t), MaxTitleBytes)
	}
	return nil
}

// ValidateTokenID checks the id of an access token.
func ValidateTokenID(id string) error {
	if id == "" {
		return Invalidf("id", "is required")
	}
	return checkID("id", id)
}

// Validate checks spec: a name within MaxTokenNameBytes, a namespace of
// letters, digits, '-', '_' and '.', known scopes, a TTL not negative.
// Empty fields are allowed (they take defaults).
func (spec TokenSpec) Validate() error {
	if err := checkText("name", spec.Name, MaxTokenNameBytes); err != nil {
		return err
	}
	if len(spec.Namespace) > MaxNamespaceBytes {
		return Invalidf("namespace", "longer than %d bytes", MaxNamespaceBytes)
	}
	for _, r := range spec.Namespace {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' || r == '.') {
			return Invalidf("namespace", "only letters, digits, '-', '_' and '.' are allowed")
		}
	}
	for _, s := range spec.Scopes {
		if !slices.Contains(Scopes, s) {
			return Invalidf("scopes", "unknown scope %q (want %s)", textcut.Bytes(s, 64, textcut.Ellipsis), strings.Join(Scopes, ", "))
		}
	}
	if spec.TTL < 0 {
		return Invalidf("ttl", "must not be negative")
	}
	return nil
}

// CheckJSONText refuses JSON whose strings are not valid Unicode text:
// bytes that are not UTF-8, or a \uD800–\uDFFF escape that is not half of
// a surrogate pair. Go's JSON decoder would silently turn either into
// U+FFFD; PostgreSQL could store neither. The *InputError names the member
// whose key or value holds the string (the nearest key before it). Other
// syntax errors are left to the decoder.
func CheckJSONText(b []byte) error {
	key := ""
	for i := 0; i < len(b); i++ {
		if b[i] != '"' {
			continue
		}
		end, problem := scanJSONString(b, i+1)
		isKey := false
		for j := end + 1; j < len(b); j++ {
			if c := b[j]; c != ' ' && c != '\t' && c != '\n' && c != '\r' {
				isKey = c == ':'
				break
			}
		}
		if isKey {
			key = string(b[i+1 : min(end, len(b))])
			if !utf8.ValidString(key) {
				key = strings.ToValidUTF8(key, "?")
			}
			key = textcut.Bytes(key, 64, textcut.Ellipsis)
		}
		if problem != "" {
			field := key
			if field == "" {
				field = "body"
			}
			return Invalidf(field, "is not valid Unicode text: %s", problem)
		}
		i = end
	}
	return nil
}

// scanJSONString reads a JSON string whose content starts at b[i] and
// returns the index of its closing quote (len(b) if none) and what is
// wrong with it ("" if nothing).
func scanJSONString(b []byte, i int) (end int, problem string) {
	for i < len(b) {
		c := b[i]
		switch {
		case c == '"':
			return i, problem
		case c == '\\':
			if i+1 < len(b) && b[i+1] == 'u' {
				r, ok := hex4(b, i+2)
				if ok && r >= 0xD800 && r <= 0xDFFF {
					next, ok2 := rune(0), false
					if i+7 < len(b) && b[i+6] == '\\' && b[i+7] == 'u' {
						next, ok2 = hex4(b, i+8)
					}
					if r <= 0xDBFF && ok2 && next >= 0xDC00 && next <= 0xDFFF {
						i += 12 // a valid pair
						continue
					}
					if problem == "" {
						problem = fmt.Sprintf("a lone UTF-16 surrogate \\u%04X (half of a character)", r)
					}
				}
				i += 6
				continue
			}
			i += 2
		case c < utf8.RuneSelf:
			i++
		default:
			r, size := utf8.DecodeRune(b[i:])
			if r == utf8.RuneError && size == 1 && problem == "" {
				problem = fmt.Sprintf("byte 0x%02X is not UTF-8", c)
			}
			i += size
		}
	}
	return len(b), problem
}

// hex4 reads four hex digits at b[i:].
func hex4(b []byte, i int) (rune, bool) {
	if i+4 > len(b) {
		return 0, false
	}
	var r rune
	for _, c := range b[i : i+4] {
		switch {
		case c >= '0' && c <= '9':
			r = r<<4 | rune(c-'0')
		case c >= 'a' && c <= 'f':
			r = r<<4 | rune(c-'a'+10)
		case c >= 'A' && c <= 'F':
			r = r<<4 | rune(c-'A'+10)
		default:
			return 0, false
		}
	}
	return r, true
}
