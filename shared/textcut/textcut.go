// Package textcut is the one home of Sage's rune-safe truncation: cut a
// string to a budget of runes or bytes without splitting a character, and
// mark the cut.
package textcut

import (
	"strings"
	"unicode/utf8"
)

// Ellipsis is the usual cut mark.
const Ellipsis = "…"

// Runes cuts s to at most n runes, the mark included: s comes back as is
// when it fits, otherwise its first runes followed by mark. When even the
// mark does not fit (n below its length), s is cut to n runes unmarked.
// n <= 0 gives "".
func Runes(s string, n int, mark string) string {
	if n <= 0 {
		return ""
	}
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	keep := n - utf8.RuneCountInString(mark)
	if keep < 0 {
		keep, mark = n, ""
	}
	c := 0
	for i := range s {
		if c == keep {
			return s[:i] + mark
		}
		c++
	}
	return s + mark // unreachable: s has more than n >= keep runes
}

// Bytes cuts s to at most n bytes, the mark included, at a rune boundary:
// s comes back as is when it fits, otherwise a prefix that does not split a
// UTF-8 sequence followed by mark. When even the mark does not fit, s is
// cut to n bytes unmarked. n <= 0 gives "".
func Bytes(s string, n int, mark string) string {
	if n <= 0 {
		return ""
	}
	if len(s) <= n {
		return s
	}
	keep := n - len(mark)
	if keep < 0 {
		keep, mark = n, ""
	}
	for keep > 0 && !utf8.RuneStart(s[keep]) {
		keep--
	}
	return s[:keep] + mark
}

// Excerpt is s on one line, for quoting an answer in an error message:
// every run of white space becomes one space, and the result is cut to at
// most n bytes with Ellipsis (see Bytes).
func Excerpt(s string, n int) string {
	return Bytes(strings.Join(strings.Fields(s), " "), n, Ellipsis)
}
