package proxy

import (
	"strings"
	"testing"
	"unicode/utf8"
)

// TestExcerpt: an error answer quoted to the client is one line of at most
// maxExcerpt bytes and never splits a character.
func TestExcerpt(t *testing.T) {
	tests := []struct {
		name, body, want string
	}{
		{"short", " bad\n  gateway \n", "bad gateway"},
		{"long", strings.Repeat("x", 300), strings.Repeat("x", 197) + "…"},
		{"character at the cut", strings.Repeat("x", 196) + "世界", strings.Repeat("x", 196) + "…"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := excerpt([]byte(tt.body))
			if got != tt.want || !utf8.ValidString(got) || len(got) > maxExcerpt {
				t.Errorf("excerpt = %q, want %q", got, tt.want)
			}
		})
	}
}
