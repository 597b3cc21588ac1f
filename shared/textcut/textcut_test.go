package textcut_test

import (
	"testing"
	"unicode/utf8"

	"github.com/sage-mcp/sage/shared/textcut"
)

func TestRunes(t *testing.T) {
	tests := []struct {
		s    string
		n    int
		mark string
		want string
	}{
		{"hello", 10, "…", "hello"},
		{"hello", 5, "…", "hello"},
		{"hello world", 6, "…", "hello…"},
		{"你好世界", 3, "…", "你好…"},
		{"你好世界", 3, "", "你好世"},
		{"hello", 2, "...", "he"},
		{"hello", 0, "…", ""},
		{"hello", -1, "…", ""},
		{"", 3, "…", ""},
	}
	for _, tt := range tests {
		got := textcut.Runes(tt.s, tt.n, tt.mark)
		if got != tt.want {
			t.Errorf("Runes(%q, %d, %q) = %q, want %q", tt.s, tt.n, tt.mark, got, tt.want)
		}
		if tt.n > 0 && utf8.RuneCountInString(got) > tt.n {
			t.Errorf("Runes(%q, %d) = %q: over budget", tt.s, tt.n, got)
		}
	}
}

func TestBytes(t *testing.T) {
	tests := []struct {
		s    string
		n    int
		mark string
		want string
	}{
		{"hello", 10, "…", "hello"},
		{"hello world", 8, "…", "hello…"}, // "…" is 3 bytes
		{"你好世界", 9, "", "你好世"},
		{"你好世界", 8, "", "你好"},  // never splits 世
		{"你好世界", 8, "…", "你…"}, // 5 bytes left: one 3-byte rune
		{"hello", 2, "…", "he"},
		{"hello", 0, "…", ""},
	}
	for _, tt := range tests {
		got := textcut.Bytes(tt.s, tt.n, tt.mark)
		if got != tt.want {
			t.Errorf("Bytes(%q, %d, %q) = %q, want %q", tt.s, tt.n, tt.mark, got, tt.want)
		}
		if !utf8.ValidString(got) {
			t.Errorf("Bytes(%q, %d) = %q: split a character", tt.s, tt.n, got)
		}
		if tt.n > 0 && len(got) > tt.n {
			t.Errorf("Bytes(%q, %d) = %q: over budget", tt.s, tt.n, got)
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
