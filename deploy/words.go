package deploy

import (
	"fmt"
	"strings"
)

// MaxWordsInput bounds what SplitWords accepts.
const MaxWordsInput = 64 << 10

// Lookup returns the value of a variable and whether it is set.
type Lookup func(name string) (string, bool)

// SplitWords splits s into words as a POSIX shell does for a simple command:
// words are separated by unquoted blanks; single quotes keep everything
// literally; double quotes keep blanks and expand variables; a backslash
// escapes the next character (inside double quotes only $, ", \ and `).
// Variables are $NAME, ${NAME} and ${NAME:-default}; a variable that lookup
// does not know is an error, so a Dockerfile that grows a new variable
// fails loudly instead of building something else. Command substitution,
// globbing and operators (; | & < > ( )) are refused.
func SplitWords(s string, lookup Lookup) ([]string, error) {
	if len(s) > MaxWordsInput {
		return nil, fmt.Errorf("split words: input longer than %d bytes", MaxWordsInput)
	}
	var (
		words  []string
		cur    strings.Builder
		inWord bool
	)
	end := func() {
		if inWord {
			words = append(words, cur.String())
			cur.Reset()
			inWord = false
		}
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n':
			end()
		case c == '\'':
			j := strings.IndexByte(s[i+1:], '\'')
			if j < 0 {
				return nil, fmt.Errorf("split words: unterminated single quote at %d", i)
			}
			cur.WriteString(s[i+1 : i+1+j])
			inWord = true
			i += j + 1
		case c == '"':
			inWord = true
			j := i + 1
			for ; j < len(s) && s[j] != '"'; j++ {
				switch s[j] {
				case '\\':
					if j+1 < len(s) && strings.IndexByte("$\"\\`", s[j+1]) >= 0 {
						j++
					}
					cur.WriteByte(s[j])
				case '$':
					v, n, err := expand(s[j:], lookup)
					if err != nil {
						return nil, err
					}
					cur.WriteString(v)
					j += n - 1
				case '`':
					return nil, fmt.Errorf("split words: command substitution at %d is not supported", j)
				default:
					cur.WriteByte(s[j])
				}
			}
			if j >= len(s) {
				return nil, fmt.Errorf("split words: unterminated double quote at %d", i)
			}
			i = j
		case c == '\\':
			if i+1 >= len(s) {
				return nil, fmt.Errorf("split words: trailing backslash")
			}
			i++
			cur.WriteByte(s[i])
			inWord = true
		case c == '$':
			v, n, err := expand(s[i:], lookup)
			if err != nil {
				return nil, err
			}
			// Unquoted expansions are split on blanks, like a shell.
			for k := 0; k < len(v); k++ {
				if isBlank(rune(v[k])) {
					end()
					continue
				}
				cur.WriteByte(v[k])
				inWord = true
			}
			i += n - 1
		case strings.IndexByte(";|&<>()`*?[", c) >= 0:
			return nil, fmt.Errorf("split words: %q at %d is not supported", c, i)
		default:
			cur.WriteByte(c)
			inWord = true
		}
	}
	end()
	return words, nil
}

func isBlank(r rune) bool { return r == ' ' || r == '\t' || r == '\n' }

// expand expands the variable reference at the start of s (which begins
// with '$') and returns its value and the length of the reference.
func expand(s string, lookup Lookup) (string, int, error) {
	if len(s) < 2 {
		return "", 0, fmt.Errorf("split words: lone $")
	}
	var name, def string
	hasDef := false
	n := 0
	if s[1] == '{' {
		j := strings.IndexByte(s, '}')
		if j < 0 {
			return "", 0, fmt.Errorf("split words: unterminated ${")
		}
		name = s[2:j]
		if k := strings.Index(name, ":-"); k >= 0 {
			name, def, hasDef = name[:k], name[k+2:], true
		}
		n = j + 1
	} else {
		j := 1
		for j < len(s) && isNameByte(s[j], j == 1) {
			j++
		}
		name = s[1:j]
		n = j
	}
	if !validName(name) {
		return "", 0, fmt.Errorf("split words: bad variable reference %q", s[:n])
	}
	v, ok := lookup(name)
	if hasDef && (!ok || v == "") {
		return def, n, nil
	}
	if !ok {
		return "", 0, fmt.Errorf("split words: variable %s is not set", name)
	}
	return v, n, nil
}

func isNameByte(c byte, first bool) bool {
	return c == '_' || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (!first && c >= '0' && c <= '9')
}

func validName(name string) bool {
	if name == "" {
		return false
	}
	for i := 0; i < len(name); i++ {
		if !isNameByte(name[i], i == 0) {
			return false
		}
	}
	return true
}
