package mcpserver

import (
	"strings"
	"testing"
)

func TestKeepIDsRewrite(t *testing.T) {
	k := newKeepIDs()
	tests := []struct {
		name, in  string
		changed   bool
		wantInOut []string // substrings of the rewritten message
	}{
		{"portable int", `{"jsonrpc":"2.0","id":7,"method":"ping"}`, false, nil},
		{"portable string", `{"jsonrpc":"2.0","id":"a","method":"ping"}`, false, nil},
		{"fraction", `{"jsonrpc":"2.0","id":1.5,"method":"ping"}`, true, []string{string(k.prefix) + "312e35\""}},
		{"cancelled", `{"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":1.5,"reason":"x"}}`, true,
			[]string{`"requestId":` + string(k.prefix) + "312e35\"", `"reason":"x"`}},
		{"batch", `[{"jsonrpc":"2.0","id":1,"method":"ping"},{"jsonrpc":"2.0","id":1e3,"method":"ping"}]`, true,
			[]string{`"id":1,`, string(k.prefix) + "316533\""}},
	}
	for _, tt := range tests {
		out, changed := k.rewrite([]byte(tt.in))
		if changed != tt.changed {
			t.Errorf("%s: changed %v, want %v (%s)", tt.name, changed, tt.changed, out)
		}
		for _, w := range tt.wantInOut {
			if !strings.Contains(string(out), w) {
				t.Errorf("%s: %s lacks %s", tt.name, out, w)
			}
		}
		// What the server answers with the substituted ids comes back
		// with the original ones.
		if back := string(restoreIDs(out, k.prefix)); changed && !strings.Contains(back, "1.5") && !strings.Contains(back, "1e3") {
			t.Errorf("%s: restored %s", tt.name, back)
		}
	}
}
