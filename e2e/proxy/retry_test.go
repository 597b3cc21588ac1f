package proxy_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sage-mcp/sage/bridge/proxy"
)

// flakyServer answers JSON-RPC over HTTP like a stateless MCP server, but
// fails the first `fail` deliveries of each request id with `mode`.
type flakyServer struct {
	mode string // "503", "429", "drop"
	fail int

	mu   sync.Mutex
	hits map[string]int // deliveries per request id
}

func (f *flakyServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var e struct {
		ID     json.RawMessage `json:"id"`
		Method string          `json:"method"`
	}
	if err := json.NewDecoder(r.Body).Decode(&e); err != nil || len(e.ID) == 0 {
		w.WriteHeader(http.StatusAccepted)
		return
	}
	f.mu.Lock()
	f.hits[string(e.ID)]++
	n := f.hits[string(e.ID)]
	f.mu.Unlock()
	if e.Method != "initialize" && n <= f.fail {
		switch f.mode {
		case "503":
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		case "429":
			w.Header().Set("Retry-After", "0")
			w.WriteHeader(http.StatusTooManyRequests)
			return
		case "drop":
			hj, _ := w.(http.Hijacker)
			conn, _, _ := hj.Hijack()
			conn.Close()
			return
		}
	}
	result := `{}`
	switch e.Method {
	case "initialize":
		result = `{"protocolVersion":"2025-06-18","capabilities":{"tools":{}},"serverInfo":{"name":"flaky","version":"1"}}`
	case "tools/list":
		result = `{"tools":[{"name":"read","inputSchema":{"type":"object"},"annotations":{"readOnlyHint":true}},{"name":"write","inputSchema":{"type":"object"}}]}`
	case "tools/call":
		result = `{"content":[{"type":"text","text":"done"}]}`
	}
	w.Header().Set("Content-Type", "application/json")
	fmt.Fprintf(w, `{"jsonrpc":"2.0","id":%s,"result":%s}`, e.ID, result)
}

func (f *flakyServer) hitsFor(id string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.hits[id]
}

func TestRetryPolicy(t *testing.T) {
	tests := []struct {
		mode, name, params string
		wantHits           int
		wantOK             bool
	}{
		{"503", "read-only tool retried", `{"name":"read","arguments":{}}`, 3, true},
		{"503", "non-idempotent tool not retried", `{"name":"write","arguments":{}}`, 1, false},
		{"503", "idempotency key argument", `{"name":"write","arguments":{"idempotency_key":"k1"}}`, 3, true},
		{"503", "idempotency key in _meta", `{"name":"write","arguments":{},"_meta":{"idempotency_key":"k2"}}`, 3, true},
		{"429", "429 is retried even when not idempotent", `{"name":"write","arguments":{}}`, 3, true},
		{"drop", "dropped connection, read-only retried", `{"name":"read","arguments":{}}`, 3, true},
		{"drop", "dropped connection, non-idempotent not retried", `{"name":"write","arguments":{}}`, 1, false},
	}
	for _, tt := range tests {
		t.Run(tt.mode+"/"+tt.name, func(t *testing.T) {
			f := &flakyServer{mode: tt.mode, fail: 2, hits: map[string]int{}}
			ts := httptest.NewServer(f)
			defer ts.Close()
			c := MustStartBridge(t, proxy.Options{URL: ts.URL, RequestTimeout: 10 * time.Second, RetryWaitMin: time.Millisecond, RetryWaitMax: 5 * time.Millisecond})
			c.MustInit()
			MustDecode(t, c.call("1", "tools/list", "{}"))
			r := MustDecode(t, c.call("2", "tools/call", tt.params))
			if got := f.hitsFor("2"); got != tt.wantHits {
				t.Errorf("delivered %d times, want %d", got, tt.wantHits)
			}
			if (r.Error == nil) != tt.wantOK {
				t.Errorf("response %+v, want ok=%v", r, tt.wantOK)
			}
			if r.Error != nil && !strings.Contains(r.Error.Message, ts.URL) {
				t.Errorf("message without the URL: %q", r.Error.Message)
			}
		})
	}
}

func TestRequestTimeout(t *testing.T) {
	block := make(chan struct{})
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var e struct {
			ID     json.RawMessage `json:"id"`
			Method string          `json:"method"`
		}
		json.NewDecoder(r.Body).Decode(&e)
		if e.Method == "initialize" {
			w.Header().Set("Content-Type", "application/json")
			fmt.Fprintf(w, `{"jsonrpc":"2.0","id":%s,"result":{"protocolVersion":"2025-06-18","capabilities":{},"serverInfo":{"name":"x","version":"1"}}}`, e.ID)
			return
		}
		if len(e.ID) == 0 {
			w.WriteHeader(http.StatusAccepted)
			return
		}
		select {
		case <-block:
		case <-r.Context().Done():
		}
	}))
	defer ts.Close()
	defer close(block)
	c := MustStartBridge(t, proxy.Options{URL: ts.URL, RequestTimeout: 500 * time.Millisecond})
	c.MustInit()
	r := MustDecode(t, c.call("1", "tools/call", `{"name":"write"}`))
	if r.Error == nil || r.Error.Code != proxy.CodeTimeout || !strings.Contains(r.Error.Message, "did not answer tools/call within") {
		t.Fatalf("got %+v", r.Error)
	}
}
