package main

import (
	"strings"
	"testing"
	"unicode/utf8"
)

// TestFirstLine: a daemon's answer quoted by doctor is its first line, of
// at most maxExcerpt bytes, never split inside a character.
func TestFirstLine(t *testing.T) {
	tests := []struct {
		name, body, want string
	}{
		{"first line", "\n  502 Bad Gateway\n<html>", "502 Bad Gateway"},
		{"long", strings.Repeat("x", 300), strings.Repeat("x", 197) + "…"},
		{"character at the cut", strings.Repeat("x", 196) + "世界", strings.Repeat("x", 196) + "…"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := firstLine([]byte(tt.body))
			if got != tt.want || !utf8.ValidString(got) || len(got) > maxExcerpt {
				t.Errorf("firstLine = %q, want %q", got, tt.want)
			}
		})
	}
}
