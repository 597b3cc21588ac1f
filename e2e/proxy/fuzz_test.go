package proxy_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/sage-mcp/sage/bridge/proxy"
)

// echoServer answers every request with an empty result and every
// notification with 202, instantly.
func echoServer() *httptest.Server {
	return httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var e struct {
			ID json.RawMessage `json:"id"`
		}
		if json.NewDecoder(r.Body).Decode(&e) != nil || len(e.ID) == 0 {
			w.WriteHeader(http.StatusAccepted)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"jsonrpc":"2.0","id":%s,"result":{}}`, e.ID)
	}))
}

// FuzzStdinFraming feeds arbitrary bytes to the bridge's stdin: it must not
// panic or hang, must write only whole lines of valid JSON, and must answer
// each request line exactly once.
func FuzzStdinFraming(f *testing.F) {
	for _, s := range []string{
		"{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\"}\n",
		"{\"jsonrpc\":\"2.0\",\"id\":1.5,\"method\":\"ping\"}\r\n{\"jsonrpc\":\"2.0\",\"method\":\"notifications/initialized\"}\n",
		"not json\n\n[1,2]\n{\"jsonrpc\":\"1.0\",\"id\":\"a\"}\n",
		"{\"jsonrpc\":\"2.0\",\"id\":9007199254740993,\"method\":\"tools/list\"}",
		"{\"jsonrpc\":\"2.0\",\"id\":{},\"method\":\"x\"}\n{\"jsonrpc\":\"2.0\",\"id\":2,\"result\":{}}\n",
		"\xef\xbb\xbf{}\n\x00\n",
	} {
		f.Add([]byte(s))
	}
	ts := echoServer()
	f.Cleanup(ts.Close)
	f.Fuzz(func(t *testing.T, in []byte) {
		var out bytes.Buffer
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		err := proxy.Serve(ctx, bytes.NewReader(in), &out, proxy.Options{
			URL: ts.URL, MaxLineSize: 256, RequestTimeout: 5 * time.Second,
		})
		if err != nil {
			t.Fatalf("serve: %v", err)
		}
		if ctx.Err() != nil {
			t.Fatal("serve hung")
		}
		if out.Len() > 0 && out.Bytes()[out.Len()-1] != '\n' {
			t.Fatalf("output does not end in a newline: %q", out.Bytes())
		}
		sc := bufio.NewScanner(&out)
		sc.Buffer(nil, 1<<20)
		seen := map[string]int{}
		for sc.Scan() {
			var e struct {
				ID     json.RawMessage `json:"id"`
				Method string          `json:"method"`
			}
			if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
				t.Fatalf("invalid output line %q", sc.Bytes())
			}
			if e.Method == "" && string(e.ID) != "null" {
				// Ids come back byte for byte, so each response's id is
				// in the input, once per request.
				seen[string(e.ID)]++
				if n := bytes.Count(in, e.ID); seen[string(e.ID)] > n {
					t.Fatalf("%d responses for id %s, which the input holds %d times", seen[string(e.ID)], e.ID, n)
				}
			}
		}
	})
}

// TestStdinEOFDrains: requests read before stdin ends are still answered.
func TestStdinEOFDrains(t *testing.T) {
	ts := echoServer()
	defer ts.Close()
	in := "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"initialize\",\"params\":{}}\n" +
		"{\"jsonrpc\":\"2.0\",\"id\":2.50,\"method\":\"tools/list\"}\n" +
		"{\"jsonrpc\":\"2.0\",\"id\":\"z\",\"method\":\"ping\"}"
	var out bytes.Buffer
	if err := proxy.Serve(context.Background(), bytes.NewReader([]byte(in)), &out, proxy.Options{URL: ts.URL}); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"id":1,`, `"id":2.50,`, `"id":"z",`} {
		if !bytes.Contains(out.Bytes(), []byte(want)) {
			t.Errorf("no response with %s in %s", want, out.Bytes())
		}
	}
	if n := bytes.Count(out.Bytes(), []byte("\n")); n != 3 {
		t.Errorf("%d lines, want 3: %s", n, out.Bytes())
	}
}
