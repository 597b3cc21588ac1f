package mcpserver

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/modelcontextprotocol/go-sdk/auth"
	"github.com/modelcontextprotocol/go-sdk/mcp"

	sage "github.com/sage-mcp/sage/daemon"
	"github.com/sage-mcp/sage/shared/textcut"
)

func TestParseTime(t *testing.T) {
	tests := []struct {
		in       string
		endOfDay bool
		want     time.Time
		err      bool
	}{
		{"", false, time.Time{}, false},
		{"2026-01-02T15:04:05Z", false, time.Date(2026, 1, 2, 15, 4, 5, 0, time.UTC), false},
		{"2026-01-02T15:04:05.123+08:00", false, time.Date(2026, 1, 2, 7, 4, 5, 123e6, time.UTC), false},
		{"2026-01-02", false, time.Date(2026, 1, 2, 0, 0, 0, 0, time.UTC), false},
		{"2026-01-02", true, time.Date(2026, 1, 2, 23, 59, 59, 999999999, time.UTC), false},
		{"2026-01-02T15:04:05", false, time.Time{}, true}, // no zone: ambiguous
		{"02/01/2026", false, time.Time{}, true},
		{"yesterday", false, time.Time{}, true},
		{"2026-02-30", false, time.Time{}, true},
	}
	for _, tt := range tests {
		got, err := parseTime("since", tt.in, tt.endOfDay)
		if tt.err {
			var ue *userError
			if !errors.As(err, &ue) || !strings.HasPrefix(ue.msg, "invalid since: ") || !strings.Contains(ue.msg, "RFC 3339") {
				t.Errorf("parseTime(%q) error %v, want an invalid since error", tt.in, err)
			}
			continue
		}
		if err != nil || !got.Equal(tt.want) {
			t.Errorf("parseTime(%q, %v) = %v, %v; want %v", tt.in, tt.endOfDay, got, err, tt.want)
		}
	}
}

func FuzzParseTime(f *testing.F) {
	for _, s := range []string{"", "2026-01-02", "2026-01-02T15:04:05Z", "2026-01-02T15:04:05+08:00", "x", "2026-13-01", "\xff"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, err := parseTime("until", s, true)
		if err != nil {
			if msg := err.Error(); !strings.HasPrefix(msg, "invalid until: ") || len(msg) > 400 || !utf8.ValidString(msg) {
				t.Fatalf("parseTime(%q): bad error %q", s, msg)
			}
			return
		}
		if s != "" && got.IsZero() {
			t.Fatalf("parseTime(%q) = zero time without an error", s)
		}
	})
}

func TestErrorMessages(t *testing.T) {
	var logs bytes.Buffer
	h := &handlers{log: slog.New(slog.NewTextHandler(&logs, nil))}
	ctx := sage.WithNamespace(context.Background(), "ns1")
	tests := []struct {
		name     string
		err      error
		notFound string
		want     string
		logged   bool
	}{
		{"input", fmt.Errorf("save: %w", sage.Invalidf("tags", "at most 32 tags")), "", "invalid tags: at most 32 tags", false},
		{"input without field", &sage.InputError{Message: "bad"}, "", "invalid input: bad", false},
		{"bare invalid", fmt.Errorf("x: %w", sage.ErrInvalid), "", "invalid input", false},
		{"not found", fmt.Errorf("session: %w", sage.ErrNotFound), `no session "s" in this namespace`, `no session "s" in this namespace`, false},
		{"not found generic", sage.ErrNotFound, "", "not found in this namespace", false},
		{"unavailable", fmt.Errorf("search: %w: dial tcp 10.0.0.5:5432", sage.ErrUnavailable), "", msgUnavailable, false},
		{"embedder", fmt.Errorf("%w: authentication failed: check SAGE_EMBED_API_KEY", sage.ErrEmbedder), "", "the embedding provider failed (embedder failed: authentication failed: check SAGE_EMBED_API_KEY)", false},
		{"canceled", fmt.Errorf("search: %w", context.Canceled), "", msgCanceled, false},
		{"internal", errors.New(`ERROR: relation "memories_secret" does not exist (SQLSTATE 42P01)`), "", msgInternal, true},
		{"user error passes", failf("too large"), "", "too large", false},
	}
	for _, tt := range tests {
		logs.Reset()
		got := h.fail(ctx, "op", tt.err, tt.notFound)
		if got.Error() != tt.want && !strings.HasPrefix(got.Error(), tt.want) {
			t.Errorf("%s: %q, want %q", tt.name, got, tt.want)
		}
		if strings.Contains(got.Error(), "SQLSTATE") || strings.Contains(got.Error(), "10.0.0.5") {
			t.Errorf("%s: internals leak: %q", tt.name, got)
		}
		if logged := logs.Len() > 0; logged != tt.logged {
			t.Errorf("%s: logged=%v (%s), want %v", tt.name, logged, logs.String(), tt.logged)
		}
		if tt.logged && (!strings.Contains(logs.String(), "SQLSTATE") || !strings.Contains(logs.String(), "namespace=ns1")) {
			t.Errorf("%s: log %q lacks the error or the namespace", tt.name, logs.String())
		}
	}
}

func TestNamespace(t *testing.T) {
	tests := []struct {
		extra *mcp.RequestExtra
		want  string
	}{
		{nil, sage.DefaultNamespace},
		{&mcp.RequestExtra{}, sage.DefaultNamespace},
		{&mcp.RequestExtra{TokenInfo: &auth.TokenInfo{}}, sage.DefaultNamespace},
		{&mcp.RequestExtra{TokenInfo: &auth.TokenInfo{Extra: map[string]any{NamespaceKey: 7}}}, sage.DefaultNamespace},
		{&mcp.RequestExtra{TokenInfo: &auth.TokenInfo{Extra: map[string]any{NamespaceKey: ""}}}, sage.DefaultNamespace},
		{&mcp.RequestExtra{TokenInfo: &auth.TokenInfo{Extra: map[string]any{NamespaceKey: "team-a"}}}, "team-a"},
	}
	for i, tt := range tests {
		if got := Namespace(tt.extra); got != tt.want {
			t.Errorf("%d: Namespace = %q, want %q", i, got, tt.want)
		}
		if got := sage.NamespaceFrom(withNamespace(context.Background(), tt.extra)); got != tt.want {
			t.Errorf("%d: context namespace %q, want %q", i, got, tt.want)
		}
	}
}

// TestClip: search_memory cuts its block to max_chars runes with
// textcut.Runes and no mark, never inside a character.
func TestClip(t *testing.T) {
	tests := []struct {
		in   string
		n    int
		want string
	}{
		{"", 5, ""},
		{"hello", 5, "hello"},
		{"hello world", 5, "hello"},
		{"数据库连接池", 3, "数据库"},
		{"a数b", 2, "a数"},
	}
	for _, tt := range tests {
		if got := textcut.Runes(tt.in, tt.n, ""); got != tt.want {
			t.Errorf("search_memory's cut of (%q, %d) = %q, want %q", tt.in, tt.n, got, tt.want)
		}
	}
}

func TestArgumentsMessageFallback(t *testing.T) {
	h := &handlers{log: slog.New(slog.DiscardHandler)}
	h.addTools(mcp.NewServer(&mcp.Implementation{Name: "t", Version: "1"}, nil))
	tests := []struct{ tool, in, want string }{
		{"no_such_tool", `validating "arguments": x`, `validating "arguments": x`},
		{ToolSearchMemory, `validating "arguments": something new`, "invalid arguments: something new"},
		{ToolSearchMemory, `validating "arguments": validating root: validating /properties/nope: type: bad`, "invalid arguments: validating root: validating /properties/nope: type: bad"},
		{ToolRemember, `validating "arguments": validating root: required: missing properties: ["content"]`, "invalid content: is required"},
	}
	for _, tt := range tests {
		if got := h.argumentsMessage(tt.tool, tt.in); got != tt.want {
			t.Errorf("argumentsMessage(%s, %q) = %q, want %q", tt.tool, tt.in, got, tt.want)
		}
	}
}
