// Package tokenize splits text into normalized word tokens for full-text
// search and for the builtin embedder.
//
// Text is NFKC-like folded to lower case; letters and digits form words, and
// every other rune separates them. Han, Hiragana, Katakana and Hangul runes
// (scripts written without spaces) are not grouped into words: each such rune
// is a token of its own. Terms adds, for runs of those runes, the bigrams of
// adjacent runes, which makes Chinese and Japanese phrase matches rank above
// scattered single characters.
package tokenize

import (
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/kljensen/snowball/english"

	"github.com/sage-mcp/sage/shared/textcut"
)

// MaxTokenBytes is the longest token kept; longer runs of letters (base64
// blobs, hashes) are cut to this length.
const MaxTokenBytes = 64

// IsCJK reports whether r belongs to a script written without spaces between
// words (Han, Hiragana, Katakana, Hangul, Thai), whose runes are tokens of
// their own.
func IsCJK(r rune) bool {
	if r < 0x0E00 { // below Thai, the first of them: most text is here
		return false
	}
	return unicode.Is(unicode.Han, r) ||
		unicode.Is(unicode.Hiragana, r) ||
		unicode.Is(unicode.Katakana, r) ||
		unicode.Is(unicode.Hangul, r) ||
		unicode.Is(unicode.Thai, r)
}

// fold maps full-width ASCII forms to ASCII and lower-cases r.
func fold(r rune) rune {
	if r >= 0xFF01 && r <= 0xFF5E { // full-width ASCII variants
		r -= 0xFEE0
	}
	return unicode.ToLower(r)
}

// isWordRune reports whether r may be part of a (non-CJK) word.
func isWordRune(r rune) bool {
	if r < utf8.RuneSelf {
		return 'a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || '0' <= r && r <= '9'
	}
	return unicode.IsLetter(r) || unicode.IsDigit(r) || unicode.Is(unicode.Mn, r)
}

// token is one word, with whether it is a single CJK rune.
type token struct {
	text string
	cjk  bool
	// join is true when this CJK rune directly follows another CJK rune,
	// so the two form a bigram.
	join bool
}

func scan(s string, fn func(token)) {
	var b strings.Builder
	flush := func() {
		if b.Len() > 0 {
			w := b.String()
			if len(w) > MaxTokenBytes {
				w = textcut.Bytes(w, MaxTokenBytes, "")
			}
			fn(token{text: w})
			b.Reset()
		}
	}
	prevCJK := false
	// Apostrophes, underscores, dots and every other non-letter split
	// words: "Caroline's" is "caroline" and "s".
	for _, r := range s {
		r = fold(r)
		switch {
		case IsCJK(r):
			flush()
			fn(token{text: string(r), cjk: true, join: prevCJK})
			prevCJK = true
			continue
		case isWordRune(r):
			b.WriteRune(r)
		default:
			flush()
		}
		prevCJK = false
	}
	flush()
}

// Words returns the normalized word tokens of s in order: lower-case words
// of letters and digits, and each CJK rune as a token of its own.
func Words(s string) []string {
	var out []string
	scan(s, func(t token) { out = append(out, t.text) })
	return out
}

// Terms returns the search terms of s in order: the tokens of Words, with
// English words reduced to their Snowball stem (SearchStem), plus, after each CJK rune
// that follows another, the bigram of the two.
func Terms(s string) []string {
	var out []string
	terms(s, func(term, _ string) { out = append(out, term) })
	return out
}

// terms calls fn with each search term of s and the word it came from (the
// unstemmed word, or the rune or bigram itself).
func terms(s string, fn func(term, word string)) {
	prev := ""
	scan(s, func(t token) {
		if !t.cjk {
			fn(SearchStem(t.text), t.text)
			prev = ""
			return
		}
		fn(t.text, t.text)
		if t.join && prev != "" {
			fn(prev+t.text, prev+t.text)
		}
		prev = t.text
	})
}

// SearchStem reduces a lower-case English word to its Snowball (Porter 2)
// stem for full-text search: "painting", "paints" and "painted" meet at
// "paint", "hiking" and "hikes" at "hike". Words that are not plain ASCII
// letters, and words of up to two letters, are returned unchanged.
func SearchStem(w string) string {
	if len(w) <= 2 || !asciiLower(w) {
		return w
	}
	return english.Stem(w, false)
}

// asciiLower reports whether w is only the letters a to z.
func asciiLower(w string) bool {
	for i := 0; i < len(w); i++ {
		if w[i] < 'a' || w[i] > 'z' {
			return false
		}
	}
	return true
}

// Stem reduces a lower-case English word to a light stem (the builtin
// embedder's; search uses SearchStem), so that
// "paints", "painted" and "painting" meet at "paint", and "hike", "hikes",
// "hiked" and "hiking" at "hik". Words that are not plain ASCII letters, and
// short words, are returned unchanged.
func Stem(w string) string {
	if len(w) <= 3 || !asciiLower(w) {
		return w
	}
	switch {
	case strings.HasSuffix(w, "ies") && len(w) > 4:
		w = w[:len(w)-3] + "y"
	case strings.HasSuffix(w, "sses"):
		w = w[:len(w)-2]
	case strings.HasSuffix(w, "s") && !strings.HasSuffix(w, "ss") &&
		!strings.HasSuffix(w, "us") && !strings.HasSuffix(w, "is"):
		w = w[:len(w)-1]
	}
	switch {
	case strings.HasSuffix(w, "ied") && len(w) > 4:
		w = w[:len(w)-3] + "y"
	case strings.HasSuffix(w, "ing") && len(w) >= 6:
		w = undouble(w[:len(w)-3])
	case strings.HasSuffix(w, "ed") && len(w) >= 5 && !strings.HasSuffix(w, "eed"):
		w = undouble(w[:len(w)-2])
	}
	if strings.HasSuffix(w, "e") && !strings.HasSuffix(w, "ee") && len(w) >= 4 {
		w = w[:len(w)-1]
	}
	return w
}

// undouble turns a stem ending in a doubled consonant ("runn", "stopp")
// into a single one; "ll", "ss" and "zz" stay ("spell", "miss").
func undouble(w string) string {
	n := len(w)
	if n >= 3 && w[n-1] == w[n-2] && !strings.ContainsRune("aeioulsz", rune(w[n-1])) {
		return w[:n-1]
	}
	return w
}

// IndexString returns the terms of s joined by spaces: the string stored and
// indexed with to_tsvector('simple', …). Terms never contain spaces or
// tsquery operators, so the 'simple' parser keeps each one whole.
func IndexString(s string) string {
	return strings.Join(Terms(s), " ")
}

// QueryTerms returns the distinct terms of a search query, in order of first
// appearance, without those from stop words (unless the query has nothing
// else).
func QueryTerms(q string) []string {
	seen := map[string]bool{}
	var out, stops []string
	terms(q, func(term, word string) {
		if seen[term] {
			return
		}
		seen[term] = true
		if isQueryStop(word) {
			stops = append(stops, term)
			return
		}
		out = append(out, term)
	})
	if len(out) == 0 {
		return stops
	}
	return out
}

// Informative reports whether q holds a term that is not a stop word.
func Informative(q string) bool {
	found := false
	terms(q, func(_, word string) {
		if !isQueryStop(word) {
			found = true
		}
	})
	return found
}

// isQueryStop reports whether a search query ignores w: a stop word of
// IsStopWord or of Snowball's English list.
func isQueryStop(w string) bool {
	return IsStopWord(w) || english.IsStopWord(w)
}

// IsStopWord reports whether w is a very common English or Chinese function
// word, which search queries ignore.
func IsStopWord(w string) bool {
	_, ok := stopWords[w]
	return ok
}

var stopWords = func() map[string]struct{} {
	m := map[string]struct{}{}
	for _, w := range strings.Fields(`a an the and or but if of to in on at by for with about as from into
		is are was were be been being am do does did done doing have has had having
		i me my mine we us our you your he him his she her it its they them their
		this that these those what which who whom whose when where why how
		there here than then so not no nor too very can could will would shall should might must
		just also any all some such only own same other both each few more most
		up down out off over under again further once s t d ll m re ve
		user assistant
		的 了 是 在 和 也 就 都 而 及 与 着 或 吗 呢 吧 啊 么 我 你 他 她 它 们 这 那 个 之 什`) {
		m[w] = struct{}{}
	}
	return m
}()
