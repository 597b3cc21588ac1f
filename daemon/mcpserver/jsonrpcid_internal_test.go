package mcpserver

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
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

// TestReadOnce: the one reader in front of the SDK refuses invalid text
// with the request's own id, byte for byte, swaps non-portable ids for the
// SDK and restores them in the answer, and lets other bodies through.
func TestReadOnce(t *testing.T) {
	var seen string // the body the SDK's place-holder received
	echo := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusRequestEntityTooLarge)
			return
		}
		seen = string(b)
		_, _ = w.Write(b) // an answer that repeats the (substituted) id
	})
	h := readOnce(echo)
	tests := []struct {
		name, body string
		status     int
		answer     []string // substrings of the answer
		reached    bool     // next got the body
	}{
		{"bad text, odd id", `{"jsonrpc":"2.0","id":1.5,"method":"tools/call","params":{"name":"remember","arguments":{"content":"\ud800"}}}`,
			200, []string{`"id":1.5`, `"isError":true`, "invalid content: is not valid Unicode text"}, false},
		{"bad text, notification", `{"jsonrpc":"2.0","method":"notifications/x","params":{"a":"\ud800"}}`, 202, nil, false},
		{"bad text, batch", `[{"jsonrpc":"2.0","id":1,"method":"ping","params":{"a":"\ud800"}}]`, 200, []string{`"id":1`}, true},
		{"odd id", `{"jsonrpc":"2.0","id":1e3,"method":"ping"}`, 200, []string{`"id":1e3`}, true},
		{"plain", `{"jsonrpc":"2.0","id":7,"method":"ping"}`, 200, []string{`"id":7`}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			seen = ""
			w := httptest.NewRecorder()
			h.ServeHTTP(w, httptest.NewRequest("POST", "/mcp", strings.NewReader(tt.body)))
			if w.Code != tt.status {
				t.Fatalf("status %d, want %d (%s)", w.Code, tt.status, w.Body)
			}
			for _, a := range tt.answer {
				if !strings.Contains(w.Body.String(), a) {
					t.Errorf("answer %s lacks %s", w.Body, a)
				}
			}
			if strings.Contains(w.Body.String(), "sage-id-") {
				t.Errorf("answer %s carries a substituted id", w.Body)
			}
			if (seen != "") != tt.reached {
				t.Errorf("next got %q, want reached=%v", seen, tt.reached)
			}
		})
	}
	// A body that fails to read reaches next with the same failure.
	w := httptest.NewRecorder()
	r := httptest.NewRequest("POST", "/mcp", io.MultiReader(strings.NewReader(`{"jsonrpc"`), errReader{errors.New("too large")}))
	h.ServeHTTP(w, r)
	if w.Code != http.StatusRequestEntityTooLarge || !strings.Contains(w.Body.String(), "too large") {
		t.Errorf("read failure: %d %s", w.Code, w.Body)
	}
}
