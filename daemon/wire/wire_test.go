package wire_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	sage "github.com/sage-mcp/sage/daemon"
	"github.com/sage-mcp/sage/daemon/wire"
)

func TestMetadata(t *testing.T) {
	tests := []struct{ in, want string }{
		{"", ""},
		{"null", ""},
		{" null\n", ""},
		{`{}`, `{}`},
		{`{"a":1}`, `{"a":1}`},
	}
	for _, tt := range tests {
		if got := string(wire.Metadata(json.RawMessage(tt.in))); got != tt.want {
			t.Errorf("Metadata(%q) = %q, want %q", tt.in, got, tt.want)
		}
		b, err := json.Marshal(wire.Memory(sage.Memory{Metadata: json.RawMessage(tt.in)}, 0))
		if err != nil {
			t.Fatal(err)
		}
		var m map[string]any
		if err := json.Unmarshal(b, &m); err != nil {
			t.Fatal(err)
		}
		if _, ok := m["metadata"]; ok != (tt.want != "") {
			t.Errorf("memory with metadata %q encodes as %s", tt.in, b)
		}
	}
}

func TestStatusDefaults(t *testing.T) {
	ctx := sage.WithNamespace(context.Background(), "team")
	tests := []struct {
		in            sage.Status
		version, name string
	}{
		{sage.Status{}, sage.Version, "team"},
		{sage.Status{Version: "1.2.3", Namespace: "other"}, "1.2.3", "other"},
	}
	for _, tt := range tests {
		got := wire.Status(ctx, tt.in)
		if got.Version != tt.version || got.Namespace != tt.name {
			t.Errorf("Status(%+v) = version %q namespace %q, want %q %q", tt.in, got.Version, got.Namespace, tt.version, tt.name)
		}
	}
	if got := wire.Status(ctx, sage.Status{Uptime: 90 * time.Second}).UptimeSeconds; got != 90 {
		t.Errorf("uptime %v s, want 90", got)
	}
}

func TestListsNeverNull(t *testing.T) {
	for name, v := range map[string]any{
		"results":  wire.Results(nil),
		"memories": wire.Memories(nil),
		"sessions": wire.Sessions(nil),
		"saves":    wire.SaveResults(nil),
	} {
		if b, _ := json.Marshal(v); string(b) != "[]" {
			t.Errorf("%s of nothing encode as %s, want []", name, b)
		}
	}
}

func TestTokenTimes(t *testing.T) {
	at := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	got := wire.Token(sage.Token{ID: "tok", CreatedAt: at, ExpiresAt: at})
	if got.ExpiresAt == nil || !got.ExpiresAt.Equal(at) || got.RevokedAt != nil || got.LastUsed != nil {
		t.Errorf("Token times: %+v", got)
	}
}
