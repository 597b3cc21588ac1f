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
