package proxy

import (
	"strings"
	"testing"
)

func TestIDScanner(t *testing.T) {
	big := strings.Repeat("a", 300)
	tests := []struct {
		name, in, want string
	}{
		{"number first", `{"id":9,"method":"ping"}`, `9`},
		{"string", `{"jsonrpc":"2.0","id":"a\"b","method":"x"}`, `"a\"b"`},
		{"after params", `{"jsonrpc":"2.0","method":"x","params":{"id":1,"s":"` + big + `","a":[{"id":2},"}"]},"id":-1.5e3}`, `-1.5e3`},
		{"after literals", `{"a":true,"b":null,"c":12,"d":"x,}","id":7}`, `7`},
		{"spaces", " \t{ \"id\" :\r\n 42 , \"method\":\"x\"}", `42`},
		{"escaped key", `{"\u0069d":3}`, `3`},
		{"nested only", `{"params":{"id":1},"method":"x"}`, ``},
		{"no id", `{"method":"x","params":{}}`, ``},
		{"null id", `{"id":null,"method":"x"}`, ``},
		{"object id", `{"id":{"a":1}}`, ``},
		{"bad number", `{"id":1-2}`, ``},
		{"not an object", `[{"id":1}]`, ``},
		{"key ID", `{"ID":1}`, ``},
		{"long string id", `{"id":"` + strings.Repeat("x", maxScannedID) + `"}`, ``},
		{"truncated", `{"method":"x","params":{"s":"` + big, ``},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// Every split of the input into two pieces gives the same id.
			for cut := 0; cut <= len(tt.in); cut++ {
				var s idScanner
				s.Feed([]byte(tt.in[:cut]))
				s.Feed([]byte(tt.in[cut:]))
				if got := string(s.ID()); got != tt.want {
					t.Fatalf("cut at %d: id %q, want %q", cut, got, tt.want)
				}
			}
		})
	}
}
