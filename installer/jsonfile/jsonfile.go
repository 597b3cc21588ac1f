// Package jsonfile edits JSON files that belong to someone else (Claude
// Code's ~/.claude.json and settings.json) without disturbing them: objects
// keep their key order, values the installer does not touch stay as they
// were (json.RawMessage), and the document is written back with the
// indentation and final newline it was read with. A file that is not one
// JSON object is refused, never rewritten.
package jsonfile

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
)

// MaxSize is the largest file Parse accepts.
const MaxSize = 64 << 20

// ErrMalformed marks a file that is not one JSON object.
var ErrMalformed = errors.New("not a valid JSON object")

// Object is a JSON object that keeps its key order.
type Object struct {
	keys []string
	vals map[string]json.RawMessage
}

// NewObject returns an empty object.
func NewObject() *Object { return &Object{vals: map[string]json.RawMessage{}} }

// ParseObject decodes data, which must be exactly one JSON object. A key
// that appears twice keeps its first position and its last value, as
// JavaScript does.
func ParseObject(data []byte) (*Object, error) {
	if len(data) > MaxSize {
		return nil, fmt.Errorf("%w: larger than %d bytes", ErrMalformed, MaxSize)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	tok, err := dec.Token()
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return nil, fmt.Errorf("%w: the top level is not an object", ErrMalformed)
	}
	o := NewObject()
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, fmt.Errorf("%w: %v", ErrMalformed, err)
		}
		key, ok := tok.(string)
		if !ok {
			return nil, fmt.Errorf("%w: object key is not a string", ErrMalformed)
		}
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return nil, fmt.Errorf("%w: value of %q: %v", ErrMalformed, key, err)
		}
		o.Set(key, v)
	}
	if _, err := dec.Token(); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("%w: trailing data after the object", ErrMalformed)
	}
	return o, nil
}

// Keys returns the keys in order.
func (o *Object) Keys() []string { return append([]string(nil), o.keys...) }

// Len is the number of keys.
func (o *Object) Len() int { return len(o.keys) }

// Get returns the raw value of key.
func (o *Object) Get(key string) (json.RawMessage, bool) {
	v, ok := o.vals[key]
	return v, ok
}

// Has reports whether key is present.
func (o *Object) Has(key string) bool { _, ok := o.vals[key]; return ok }

// Set sets key to the raw value v, in place when key exists, else at the end.
func (o *Object) Set(key string, v json.RawMessage) {
	if _, ok := o.vals[key]; !ok {
		o.keys = append(o.keys, key)
	}
	o.vals[key] = v
}

// SetValue marshals v (without HTML escaping) and sets it under key.
func (o *Object) SetValue(key string, v any) error {
	b, err := Marshal(v)
	if err != nil {
		return err
	}
	o.Set(key, b)
	return nil
}

// Delete removes key and reports whether it was present.
func (o *Object) Delete(key string) bool {
	if _, ok := o.vals[key]; !ok {
		return false
	}
	delete(o.vals, key)
	for i, k := range o.keys {
		if k == key {
			o.keys = append(o.keys[:i], o.keys[i+1:]...)
			break
		}
	}
	return true
}

// Object returns the value of key decoded as an Object; ok is false when
// key is absent. A present value that is not an object is an error.
func (o *Object) Object(key string) (obj *Object, ok bool, err error) {
	raw, ok := o.vals[key]
	if !ok {
		return nil, false, nil
	}
	obj, err = ParseObject(raw)
	if err != nil {
		return nil, true, fmt.Errorf("%q: %w", key, err)
	}
	return obj, true, nil
}

// Array returns the value of key decoded as an array of raw elements; ok is
// false when key is absent. A present value that is not an array is an
// error.
func (o *Object) Array(key string) (arr []json.RawMessage, ok bool, err error) {
	raw, ok := o.vals[key]
	if !ok {
		return nil, false, nil
	}
	if err := json.Unmarshal(raw, &arr); err != nil || bytes.TrimSpace(raw)[0] != '[' {
		return nil, true, fmt.Errorf("%q: %w: not an array", key, ErrMalformed)
	}
	return arr, true, nil
}

// MarshalJSON encodes the object compactly, keys in order, values as stored.
func (o *Object) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	b.WriteByte('{')
	for i, k := range o.keys {
		if i > 0 {
			b.WriteByte(',')
		}
		kb, err := Marshal(k)
		if err != nil {
			return nil, err
		}
		b.Write(kb)
		b.WriteByte(':')
		if err := json.Compact(&b, o.vals[k]); err != nil {
			return nil, fmt.Errorf("value of %q: %w", k, err)
		}
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

// Marshal encodes v compactly without escaping <, > and & (as Claude Code,
// a JavaScript program, writes them).
func Marshal(v any) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimRight(b.Bytes(), "\n"), nil
}

// Equal reports whether two JSON texts hold the same value (key order and
// whitespace aside).
func Equal(a, b []byte) bool {
	var va, vb any
	if json.Unmarshal(a, &va) != nil || json.Unmarshal(b, &vb) != nil {
		return false
	}
	return reflect.DeepEqual(va, vb)
}

// Style is how a document is laid out: the indent unit ("" for compact)
// and whether it ends with a newline.
type Style struct {
	Indent       string
	FinalNewline bool
}

// DefaultStyle is Claude Code's own: two spaces, no final newline.
var DefaultStyle = Style{Indent: "  "}

// DetectStyle finds the layout of an existing document: the leading blanks
// of its first indented line are the indent unit.
func DetectStyle(data []byte) Style {
	s := Style{FinalNewline: bytes.HasSuffix(data, []byte("\n"))}
	body := bytes.TrimRight(data, " \t\r\n")
	i := bytes.IndexByte(body, '\n')
	if i < 0 {
		if bytes.Equal(bytes.TrimSpace(body), []byte("{}")) {
			s.Indent = "  " // an empty object says nothing of the style
		}
		return s // one line: compact
	}
	line := body[i+1:]
	n := 0
	for n < len(line) && (line[n] == ' ' || line[n] == '\t') {
		n++
	}
	if n == 0 {
		s.Indent = "  "
	} else {
		s.Indent = string(line[:n])
	}
	return s
}

// Format lays out o in style s.
func Format(o *Object, s Style) ([]byte, error) {
	compact, err := o.MarshalJSON()
	if err != nil {
		return nil, err
	}
	var b bytes.Buffer
	if s.Indent == "" {
		b.Write(compact)
	} else if err := json.Indent(&b, compact, "", s.Indent); err != nil {
		return nil, err
	}
	if s.FinalNewline {
		b.WriteByte('\n')
	}
	return b.Bytes(), nil
}

// member is where one top-level member of a document lies in its bytes.
type member struct {
	key              string
	keyStart, keyEnd int // the key's quotes included
	valStart, valEnd int
	raw              json.RawMessage
}

// members finds the top-level members of the object in data and the
// offsets of its braces.
func members(data []byte) (ms []member, open, close int, err error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return nil, 0, 0, fmt.Errorf("%w: the top level is not an object", ErrMalformed)
	}
	open = int(dec.InputOffset()) - 1
	prev := open + 1
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, 0, 0, err
		}
		key, _ := tok.(string)
		m := member{key: key, keyEnd: int(dec.InputOffset())}
		m.keyStart = prev
		for m.keyStart < len(data) && (data[m.keyStart] == ',' || isBlank(data[m.keyStart])) {
			m.keyStart++
		}
		if err := dec.Decode(&m.raw); err != nil {
			return nil, 0, 0, err
		}
		m.valEnd = int(dec.InputOffset())
		m.valStart = m.valEnd - len(m.raw)
		if m.valStart < m.keyEnd || !bytes.Equal(data[m.valStart:m.valEnd], m.raw) || data[m.keyStart] != '"' {
			return nil, 0, 0, errors.New("member offsets do not match")
		}
		ms = append(ms, m)
		prev = m.valEnd
	}
	if _, err := dec.Token(); err != nil {
		return nil, 0, 0, err
	}
	close = int(dec.InputOffset()) - 1
	if close < 0 || data[close] != '}' {
		return nil, 0, 0, errors.New("closing brace not found")
	}
	return ms, open, close, nil
}

func isBlank(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

// sameJSON reports whether a and b are the same JSON text up to
// insignificant whitespace (key order counts).
func sameJSON(a, b []byte) bool {
	var ca, cb bytes.Buffer
	return json.Compact(&ca, a) == nil && json.Compact(&cb, b) == nil && bytes.Equal(ca.Bytes(), cb.Bytes())
}

// Splice writes o into orig, the document o was parsed from, changing only
// what differs: a top-level member whose value is unchanged keeps its bytes
// exactly (layout, spacing, escapes), a changed value is laid out in style
// s at its place, a removed member goes with the separator before it, and a
// new member is appended after the last one, separated like the others.
// Adding a member and removing it again gives orig back byte for byte.
// When orig cannot be spliced into (no members, a duplicate key), it falls
// back to Format.
func Splice(orig []byte, o *Object, s Style) ([]byte, error) {
	ms, open, close, err := members(orig)
	if err != nil || len(ms) == 0 {
		return Format(o, s)
	}
	seen := map[string]bool{}
	for _, m := range ms {
		if seen[m.key] {
			return Format(o, s)
		}
		seen[m.key] = true
	}
	// The layout of the original: what precedes a member's key on its line,
	// what separates key and value, and members from each other.
	lead := orig[open+1 : ms[0].keyStart]
	indent := ""
	if i := bytes.LastIndexByte(lead, '\n'); i >= 0 {
		indent = string(lead[i+1:])
	}
	colon := orig[ms[0].keyEnd:ms[0].valStart]
	sep := []byte(",")
	if len(ms) > 1 {
		sep = orig[ms[len(ms)-2].valEnd:ms[len(ms)-1].keyStart]
	} else if bytes.IndexByte(lead, '\n') >= 0 {
		sep = append([]byte(",\n"), indent...)
	}
	// One-line values keep the spacing of their kind (JSON.stringify's
	// none, Python's ", " and ": "); others are indented in style s.
	docColon, docComma := spacing(orig[open:ms[len(ms)-1].valEnd])
	if i := bytes.IndexByte(colon, ':'); i >= 0 {
		docColon = string(colon[i+1:])
	}
	multiLine := bytes.IndexByte(lead, '\n') >= 0
	value := func(raw, old json.RawMessage) ([]byte, error) {
		var b bytes.Buffer
		if err := json.Compact(&b, raw); err != nil {
			return nil, err
		}
		ml := multiLine
		if old != nil {
			ml = bytes.IndexByte(old, '\n') >= 0
		}
		if !ml {
			c, m := spacing(old)
			if old == nil || bytes.IndexAny(old, ":,") < 0 {
				c, m = docColon, docComma
			}
			return spaced(b.Bytes(), c, m), nil
		}
		unit := s.Indent
		if unit == "" {
			unit = "  "
		}
		var ib bytes.Buffer
		if err := json.Indent(&ib, b.Bytes(), indent, unit); err != nil {
			return nil, err
		}
		return ib.Bytes(), nil
	}

	var b bytes.Buffer
	b.Write(orig[:open+1])
	b.Write(lead)
	first := true
	for i, m := range ms {
		raw, ok := o.Get(m.key)
		if !ok {
			continue
		}
		if !first {
			b.Write(orig[ms[i-1].valEnd:m.keyStart])
		}
		first = false
		b.Write(orig[m.keyStart:m.valStart])
		if sameJSON(raw, m.raw) {
			b.Write(m.raw)
			continue
		}
		v, err := value(raw, m.raw)
		if err != nil {
			return nil, fmt.Errorf("value of %q: %w", m.key, err)
		}
		b.Write(v)
	}
	for _, k := range o.keys {
		if seen[k] {
			continue
		}
		if !first {
			b.Write(sep)
		}
		first = false
		kb, err := Marshal(k)
		if err != nil {
			return nil, err
		}
		b.Write(kb)
		b.Write(colon)
		v, err := value(o.vals[k], nil)
		if err != nil {
			return nil, fmt.Errorf("value of %q: %w", k, err)
		}
		b.Write(v)
	}
	if first { // every member removed: "{}" and what followed it
		b.Reset()
		b.Write(orig[:open+1])
		b.Write(orig[close:])
	} else {
		b.Write(orig[ms[len(ms)-1].valEnd:])
	}
	out := b.Bytes()
	// The splice must hold exactly o.
	want, err := o.MarshalJSON()
	if err != nil {
		return nil, err
	}
	if !sameJSON(out, want) {
		return Format(o, s)
	}
	return out, nil
}

// outsideStrings calls fn with the index of every byte of the JSON text b
// that is neither inside a string literal nor one of its quotes.
func outsideStrings(b []byte, fn func(i int)) {
	inStr, esc := false, false
	for i, c := range b {
		switch {
		case inStr:
			switch {
			case esc:
				esc = false
			case c == '\\':
				esc = true
			case c == '"':
				inStr = false
			}
		case c == '"':
			inStr = true
		default:
			fn(i)
		}
	}
}

// spacing finds what follows the first ':' and the first ',' outside
// strings in the JSON text b: " " or "" each (a newline counts as "").
func spacing(b []byte) (colon, comma string) {
	foundColon, foundComma := false, false
	outsideStrings(b, func(i int) {
		c := b[i]
		if (c != ':' || foundColon) && (c != ',' || foundComma) {
			return
		}
		sp := ""
		if i+1 < len(b) && b[i+1] == ' ' {
			sp = " "
		}
		if c == ':' {
			colon, foundColon = sp, true
		} else {
			comma, foundComma = sp, true
		}
	})
	if !foundComma {
		comma = colon
	}
	return colon, comma
}

// spaced puts colon after every ':' and comma after every ',' outside
// strings of the compact JSON text b.
func spaced(b []byte, colon, comma string) []byte {
	if colon == "" && comma == "" {
		return b
	}
	out := make([]byte, 0, len(b)+len(b)/8)
	last := 0
	outsideStrings(b, func(i int) {
		var sep string
		switch b[i] {
		case ':':
			sep = colon
		case ',':
			sep = comma
		default:
			return
		}
		out = append(append(out, b[last:i+1]...), sep...)
		last = i + 1
	})
	return append(out, b[last:]...)
}
