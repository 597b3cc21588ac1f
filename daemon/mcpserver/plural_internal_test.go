package mcpserver

import "testing"

func TestCountMemories(t *testing.T) {
	for n, want := range map[int]string{0: "0 memories", 1: "1 memory", 2: "2 memories"} {
		if got := countMemories(n); got != want {
			t.Errorf("countMemories(%d) = %q, want %q", n, got, want)
		}
	}
}
