package bridge_test

import (
	"strings"
	"testing"
	"time"

	"github.com/sage-mcp/sage/bridge"
	"github.com/sage-mcp/sage/bridge/hook"
	"github.com/sage-mcp/sage/shared/api"
)

func TestPlural(t *testing.T) {
	tests := []struct {
		n    int
		want string
	}{
		{0, "0 memories"},
		{1, "1 memory"},
		{2, "2 memories"},
		{-1, "-1 memory"},
		{1000, "1000 memories"},
	}
	for _, tt := range tests {
		if got := bridge.Plural(tt.n, "memory", "memories"); got != tt.want {
			t.Errorf("Plural(%d) = %q, want %q", tt.n, got, tt.want)
		}
	}
}

// TestRecapCounts: the session recap counts memories in the right number.
func TestRecapCounts(t *testing.T) {
	at := time.Date(2026, 5, 1, 10, 0, 0, 0, time.UTC)
	sessions := []api.Session{
		{ID: "a", Title: "one thing", Memories: 1, LastAt: at},
		{ID: "b", Title: "two things", Memories: 2, LastAt: at},
	}
	got := hook.FormatRecap("p", "", sessions, nil, nil, 4000)
	for _, want := range []string{"one thing (1 memory)", "two things (2 memories)"} {
		if !strings.Contains(got, want) {
			t.Errorf("recap lacks %q:\n%s", want, got)
		}
	}
}
