package textcut_test

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/sage-mcp/sage/shared/textcut"
)

// TestCut: Runes, Bytes and Excerpt cut to their budget (in runes, in bytes) with
// the mark, and never split a character.
func TestCut(t *testing.T) {
	cuts := map[string]struct {
		cut  func(s string, n int, mark string) string
		size func(string) int
	}{
		"Runes": {textcut.Runes, utf8.RuneCountInString},
		"Bytes": {textcut.Bytes, func(s string) int { return len(s) }},
		// Excerpt always marks with Ellipsis: the cases give it as mark.
		"Excerpt": {func(s string, n int, _ string) string { return textcut.Excerpt(s, n) }, func(s string) int { return len(s) }},
	}
	tests := []struct {
		fn   string
		s    string
		n    int
		mark string
		want string
	}{
		{"Runes", "hello", 10, "…", "hello"},
		{"Runes", "hello", 5, "…", "hello"},
		{"Runes", "hello world", 6, "…", "hello…"},
		{"Runes", "你好世界", 3, "…", "你好…"},
		{"Runes", "你好世界", 3, "", "你好世"},
		{"Runes", "hello", 2, "...", "he"},
		{"Runes", "hello", 0, "…", ""},
		{"Runes", "hello", -1, "…", ""},
		{"Runes", "", 3, "…", ""},
		{"Bytes", "hello", 10, "…", "hello"},
		{"Bytes", "hello world", 8, "…", "hello…"}, // "…" is 3 bytes
		{"Bytes", "你好世界", 9, "", "你好世"},
		{"Bytes", "你好世界", 8, "", "你好"},  // never splits 世
		{"Bytes", "你好世界", 8, "…", "你…"}, // 5 bytes left: one 3-byte rune
		{"Bytes", "hello", 2, "…", "he"},
		{"Bytes", "hello", 0, "…", ""},
		{"Excerpt", " bad\n  gateway \n", 200, "…", "bad gateway"},
		{"Excerpt", "a\tb   c", 4, "…", "a…"}, // "a b c" is 5 bytes: 1 and the 3-byte mark
		{"Excerpt", strings.Repeat("x", 300), 200, "…", strings.Repeat("x", 197) + "…"},
		{"Excerpt", strings.Repeat("x", 196) + "世界", 200, "…", strings.Repeat("x", 196) + "…"},
	}
	for _, tt := range tests {
		c := cuts[tt.fn]
		got := c.cut(tt.s, tt.n, tt.mark)
		if got != tt.want {
			t.Errorf("%s(%q, %d, %q) = %q, want %q", tt.fn, tt.s, tt.n, tt.mark, got, tt.want)
		}
		if !utf8.ValidString(got) {
			t.Errorf("%s(%q, %d) = %q: split a character", tt.fn, tt.s, tt.n, got)
		}
		if tt.n > 0 && c.size(got) > tt.n {
			t.Errorf("%s(%q, %d) = %q: over budget", tt.fn, tt.s, tt.n, got)
		}
	}
}

func FuzzCut(f *testing.F) {
	f.Add("你好 world", 4)
	f.Fuzz(func(t *testing.T, s string, n int) {
		if !utf8.ValidString(s) {
			return
		}
		r := textcut.Runes(s, n, textcut.Ellipsis)
		b := textcut.Bytes(s, n, textcut.Ellipsis)
		if !utf8.ValidString(r) || !utf8.ValidString(b) {
			t.Fatalf("invalid UTF-8: %q %q", r, b)
		}
		if n > 0 && (utf8.RuneCountInString(r) > n || len(b) > n) {
			t.Fatalf("over budget %d: %q %q", n, r, b)
		}
	})
}
