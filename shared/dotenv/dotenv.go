// Package dotenv reads .env files the way Docker Compose does, so that the
// installer (--env-file) and the daemon (SAGE_DAEMON_CONFIG) see the values
// Compose sees in the same file.
//
// The format, as in compose-go's dotenv parser:
//
//   - KEY=VALUE assignments, one per line; "KEY: VALUE" also works. Blank
//     lines and lines whose first non-blank character is # are skipped. An
//     "export " prefix is ignored. Keys hold letters, digits and _ . - [ ].
//   - A bare KEY (no = or :) takes its value from the environment
//     (Parse's lookup); without a value there, it is left unset.
//   - Unquoted values are trimmed, and cut at the first " #" (an inline
//     comment needs a space before it: in a=b#c the # is part of the value).
//   - 'single-quoted' values are literal, except that \' is a quote.
//   - "double-quoted" values know the escapes \a \b \f \n \r \t \v \\ \" \$
//     and \0 followed by three octal digits; any other backslash is kept.
//   - Quoted values may span lines. After the closing quote only blanks and
//     a # comment may follow on that line.
//   - A byte-order mark at the start of the file is ignored.
//
// One difference, a limit: Compose substitutes ${VAR} and $VAR inside
// unquoted and double-quoted values; this package takes them literally
// (and \$ gives $). Sage's own variables never need substitution.
package dotenv

import (
	"errors"
	"fmt"
	"strings"
	"unicode"
)

// MaxSize is the largest input Parse accepts.
const MaxSize = 1 << 20

// Var is one assignment of a .env file.
type Var struct {
	// Key is the variable's name.
	Key string
	// Value is the value, quotes removed and escapes applied.
	Value string
	// Line is the line the key is on, from 1.
	Line int
}

// Parse reads a .env file's assignments in file order (a key may appear
// more than once: the last one wins, see Map). lookup supplies the values of
// bare keys; nil leaves them unset. Errors name the line and never hold a
// value.
func Parse(data []byte, lookup func(string) (string, bool)) ([]Var, error) {
	if len(data) > MaxSize {
		return nil, fmt.Errorf("parse env file: larger than %d bytes", MaxSize)
	}
	p := &parser{src: strings.TrimPrefix(string(data), "\ufeff"), line: 1}
	var out []Var
	for {
		if !p.skipBlankAndComments() {
			return out, nil
		}
		line := p.line
		key, bare, err := p.key()
		if err != nil {
			return nil, fmt.Errorf("parse env file: line %d: %w", line, err)
		}
		if bare {
			if lookup != nil {
				if v, ok := lookup(key); ok {
					out = append(out, Var{Key: key, Value: v, Line: line})
				}
			}
			continue
		}
		v, err := p.value()
		if err != nil {
			return nil, fmt.Errorf("parse env file: line %d (%s): %w", line, key, err)
		}
		out = append(out, Var{Key: key, Value: v, Line: line})
	}
}

// Map returns vars as a map; a later assignment of a key wins.
func Map(vars []Var) map[string]string {
	m := make(map[string]string, len(vars))
	for _, v := range vars {
		m[v.Key] = v.Value
	}
	return m
}

type parser struct {
	src  string // what is left to read
	line int    // the line src starts on
}

// isBlank is white space other than a line break (Compose's isSpace).
func isBlank(r rune) bool {
	switch r {
	case '\t', '\v', '\f', '\r', ' ', 0x85, 0xA0:
		return true
	}
	return false
}

// advance drops the first n bytes of src, counting line breaks.
func (p *parser) advance(n int) {
	p.line += strings.Count(p.src[:n], "\n")
	p.src = p.src[n:]
}

// skipBlankAndComments moves to the next statement; false at the end.
func (p *parser) skipBlankAndComments() bool {
	for {
		i := strings.IndexFunc(p.src, func(r rune) bool { return !unicode.IsSpace(r) })
		if i < 0 {
			p.advance(len(p.src))
			return false
		}
		p.advance(i)
		if p.src[0] != '#' {
			return true
		}
		end := strings.IndexByte(p.src, '\n')
		if end < 0 {
			p.advance(len(p.src))
			return false
		}
		p.advance(end)
	}
}

// key reads a key and its = or :, or a bare key up to the end of its line.
func (p *parser) key() (key string, bare bool, err error) {
	if rest, ok := strings.CutPrefix(p.src, "export"); ok && rest != "" && (rest[0] == ' ' || rest[0] == '\t') {
		p.advance(len(p.src) - len(strings.TrimLeft(rest, " \t")))
	}
	end := strings.IndexFunc(p.src, func(r rune) bool { return r == '=' || r == ':' || r == '\n' })
	if end < 0 {
		end = len(p.src)
	}
	key = strings.TrimRightFunc(p.src[:end], isBlank)
	switch {
	case key == "":
		return "", false, errors.New("want KEY=VALUE: no key before the =")
	case strings.IndexFunc(key, unicode.IsSpace) >= 0:
		return "", false, errors.New("want KEY=VALUE: a space in the key")
	}
	for _, r := range key {
		if !unicode.IsLetter(r) && !unicode.IsNumber(r) && !strings.ContainsRune("_.-[]", r) {
			return "", false, fmt.Errorf("want KEY=VALUE: the character %q is not allowed in a key", r)
		}
	}
	if end == len(p.src) || p.src[end] == '\n' {
		p.advance(end)
		return key, true, nil
	}
	p.advance(end + 1)
	p.advance(len(p.src) - len(strings.TrimLeftFunc(p.src, isBlank)))
	return key, false, nil
}

// value reads a value: quoted, or unquoted up to the end of the line.
func (p *parser) value() (string, error) {
	if p.src == "" || (p.src[0] != '"' && p.src[0] != '\'') {
		end := strings.IndexByte(p.src, '\n')
		if end < 0 {
			end = len(p.src)
		}
		v := p.src[:end]
		p.advance(end)
		v, _, _ = strings.Cut(v, " #")
		return strings.TrimRightFunc(v, unicode.IsSpace), nil
	}
	quote := p.src[0]
	var raw strings.Builder
	escaped := false
	for i := 1; i < len(p.src); i++ {
		c := p.src[i]
		switch {
		case escaped:
			escaped = false
			if c != quote {
				raw.WriteByte('\\')
			}
			raw.WriteByte(c)
		case c == '\\':
			escaped = true
		case c == quote:
			p.advance(i + 1)
			if err := p.endOfValue(); err != nil {
				return "", err
			}
			if quote == '"' {
				return unescape(raw.String()), nil
			}
			return raw.String(), nil
		default:
			raw.WriteByte(c)
		}
	}
	return "", fmt.Errorf("unterminated %s quote", map[byte]string{'"': "double", '\'': "single"}[quote])
}

// endOfValue accepts only blanks and a comment after a closing quote.
func (p *parser) endOfValue() error {
	end := strings.IndexByte(p.src, '\n')
	if end < 0 {
		end = len(p.src)
	}
	rest := strings.TrimLeftFunc(p.src[:end], isBlank)
	if rest != "" && rest[0] != '#' {
		return errors.New("text after the closing quote")
	}
	p.advance(end)
	return nil
}

// unescape applies the escapes of a double-quoted value.
func unescape(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != '\\' || i+1 == len(s) {
			b.WriteByte(s[i])
			continue
		}
		c := s[i+1]
		if r, ok := simpleEscapes[c]; ok {
			b.WriteByte(r)
			i++
			continue
		}
		if c == '0' {
			n, consumed, ok := octal(s[i+2:])
			if ok {
				b.WriteByte(n)
			} else {
				// Compose keeps the backslash and the digits but drops the 0.
				b.WriteString(`\` + s[i+2:i+2+consumed])
			}
			i += 1 + consumed
			continue
		}
		b.WriteByte('\\')
	}
	return b.String()
}

// simpleEscapes are the one-letter escapes of double-quoted values.
var simpleEscapes = map[byte]byte{
	'a': '\a', 'b': '\b', 'f': '\f', 'n': '\n', 'r': '\r', 't': '\t', 'v': '\v',
	'\\': '\\', '"': '"', '$': '$',
}

// octal reads what follows "\0": up to three digits, a byte when they are
// exactly three octal digits worth at most 0377 (Compose's rule).
func octal(s string) (b byte, consumed int, ok bool) {
	for consumed < 3 && consumed < len(s) && s[consumed] >= '0' && s[consumed] <= '9' {
		consumed++
	}
	if consumed != 3 {
		return 0, consumed, false
	}
	n := 0
	for _, d := range s[:3] {
		if d > '7' {
			return 0, consumed, false
		}
		n = n*8 + int(d-'0')
	}
	if n > 0o377 {
		return 0, consumed, false
	}
	return byte(n), consumed, true
}
