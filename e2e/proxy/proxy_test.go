package proxy_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/sage-mcp/sage/bridge/proxy"
	"github.com/sage-mcp/sage/testkit/daemontest"
)

func TestForwarding(t *testing.T) {
	for _, tc := range []struct {
		name string
		opts []serverOpt
	}{
		{"stateful", nil},
		{"stateless", []serverOpt{stateless()}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := MustStartServer(t, tc.opts...)
			c := MustStartBridge(t, proxy.Options{URL: srv.URL()})
			var init struct {
				ProtocolVersion string `json:"protocolVersion"`
				ServerInfo      struct {
					Name string `json:"name"`
				} `json:"serverInfo"`
			}
			MustResult(t, c.MustInit(), &init)
			if init.ServerInfo.Name != "sage-test" || init.ProtocolVersion != "2025-06-18" {
				t.Fatalf("initialize = %+v", init)
			}
			var list struct {
				Tools []struct {
					Name string `json:"name"`
				} `json:"tools"`
			}
			MustResult(t, c.call("1", "tools/list", "{}"), &list)
			if len(list.Tools) != 4 {
				t.Fatalf("tools = %+v", list.Tools)
			}
			if got := toolText(t, c.call("2", "tools/call", `{"name":"echo","arguments":{"text":"héllo <&>"}}`)); got != "héllo <&>" {
				t.Errorf("echo = %q", got)
			}
			if got := toolText(t, c.call("3", "tools/call", `{"name":"count","arguments":{}}`)); got != "1" {
				t.Errorf("count = %q", got)
			}
			var empty map[string]any
			MustResult(t, c.call("4", "ping", ""), &empty)
			if v, _ := srv.headers.Load("Mcp-Protocol-Version"); v != "2025-06-18" {
				t.Errorf("Mcp-Protocol-Version sent = %v", v)
			}
			_, hasSession := srv.headers.Load("Mcp-Session-Id")
			if hasSession == srv.stateless {
				t.Errorf("Mcp-Session-Id sent = %v on a stateless=%v server", hasSession, srv.stateless)
			}
		})
	}
}

func TestIDsComeBackByteForByte(t *testing.T) {
	srv := MustStartServer(t)
	c := MustStartBridge(t, proxy.Options{URL: srv.URL()})
	c.MustInit()
	ids := []string{`7`, `-3`, `0`, `"abc"`, `""`, `"\u00e9\n"`, `9007199254740993`, `1.5`, `1e3`, `-2.5E-2`, `12345678901234567890123`, `-0`}
	for i, id := range ids {
		for _, req := range []struct{ method, params string }{
			{"ping", ""},
			{"tools/call", fmt.Sprintf(`{"name":"echo","arguments":{"text":"m%d"}}`, i)},
		} {
			b := c.call(id, req.method, req.params)
			r := MustDecode(t, b)
			if string(r.ID) != id {
				t.Errorf("%s id %s came back as %s", req.method, id, r.ID)
			}
			if r.Error != nil {
				t.Errorf("%s id %s: %s", req.method, id, b)
			}
		}
	}
}

func TestConcurrentRequests(t *testing.T) {
	srv := MustStartServer(t)
	c := MustStartBridge(t, proxy.Options{URL: srv.URL()})
	c.MustInit()
	const n = 40
	var wg sync.WaitGroup
	chans := make([]<-chan []byte, n)
	for i := range n {
		chans[i] = c.expect(fmt.Sprint(100 + i))
	}
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c.write(fmt.Sprintf(`{"jsonrpc":"2.0","id":%d,"method":"tools/call","params":{"name":"echo","arguments":{"text":"t%d"}}}`, 100+i, i))
		}()
	}
	wg.Wait()
	for i := range n {
		if got := toolText(t, c.MustResponse(chans[i], fmt.Sprint(100+i))); got != fmt.Sprintf("t%d", i) {
			t.Errorf("request %d got %q", i, got)
		}
	}
}

func TestBadInput(t *testing.T) {
	srv := MustStartServer(t)
	c := MustStartBridge(t, proxy.Options{URL: srv.URL(), MaxLineSize: 1024})
	c.MustInit()
	tests := []struct {
		name, line, wantID string
		wantCode           int
	}{
		{"invalid json", `{"jsonrpc":"2.0","id":1,`, "null", -32700},
		{"garbage", `hello`, "null", -32700},
		{"wrong version", `{"jsonrpc":"1.0","id":5,"method":"ping"}`, "5", -32600},
		{"missing version", `{"id":"x","method":"ping"}`, `"x"`, -32600},
		{"object id", `{"jsonrpc":"2.0","id":{"a":1},"method":"ping"}`, "null", -32600},
		{"method not string", `{"jsonrpc":"2.0","id":6,"method":5}`, "6", -32600},
		{"batch", `[{"jsonrpc":"2.0","id":1,"method":"ping"}]`, "null", -32600},
		{"not object", `42`, "null", -32600},
		{"nothing", `{"jsonrpc":"2.0","id":8}`, "8", -32600},
		{"too long", `{"jsonrpc":"2.0","id":9,"method":"ping","params":{"x":"` + strings.Repeat("a", 2000) + `"}}`, "9", -32600},
		{"too long, id last", `{"jsonrpc":"2.0","method":"ping","params":{"id":1,"x":"` + strings.Repeat("a", 200<<10) + `"},"id":"late"}`, `"late"`, -32600},
		{"too long, no id", `{"jsonrpc":"2.0","method":"ping","params":{"x":"` + strings.Repeat("a", 2000) + `"}}`, "null", -32600},
		{"too long after trim", `{"jsonrpc":"2.0","id":11,"method":"ping","params":"` + strings.Repeat("a", 972) + `"}`, "11", -32600}, // 1025 bytes + "\n"
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ch := c.expect(tt.wantID)
			c.write(tt.line)
			r := MustDecode(t, c.MustResponse(ch, tt.wantID))
			if r.Error == nil || r.Error.Code != tt.wantCode {
				t.Fatalf("got %+v, want code %d", r, tt.wantCode)
			}
		})
	}
	// Blank lines are ignored and the bridge keeps serving.
	c.write("")
	c.write("  \r")
	var empty map[string]any
	MustResult(t, c.call("10", "ping", ""), &empty)
}

func TestSessionExpiryReinitializes(t *testing.T) {
	srv := MustStartServer(t)
	c := MustStartBridge(t, proxy.Options{URL: srv.URL()})
	c.MustInit()
	if got := toolText(t, c.call("1", "tools/call", `{"name":"count","arguments":{}}`)); got != "1" {
		t.Fatalf("count = %q", got)
	}
	for round := 0; round < 2; round++ {
		srv.Stop()
		// A real restart takes longer than this; it lets the client notice
		// its pooled connections are closed, so the non-idempotent call is
		// not caught in the (genuinely ambiguous) write-then-EOF race.
		time.Sleep(100 * time.Millisecond)
		srv.MustStart() // a new server: the old session id gives 404
		want := fmt.Sprint(round + 2)
		if got := toolText(t, c.call(fmt.Sprint(10+round), "tools/call", `{"name":"count","arguments":{}}`)); got != want {
			t.Fatalf("count after restart %d = %q, want %q", round, got, want)
		}
		if got := toolText(t, c.call(fmt.Sprint(20+round), "tools/call", `{"name":"echo","arguments":{"text":"x"}}`)); got != "x" {
			t.Fatalf("echo after restart = %q", got)
		}
	}
	if n := srv.counted.Load(); n != 3 {
		t.Errorf("count ran %d times, want 3", n)
	}
}

func TestServerDownQueuedCallsComplete(t *testing.T) {
	srv := MustStartServer(t)
	// Both calls have failed upstream at least once: they are retrying.
	var mu sync.Mutex
	failed := map[string]bool{}
	retrying := newSignal()
	hc := MustWatchedClient(t, func(req *http.Request, body []byte, _ *http.Response, err error) {
		if req.Method != http.MethodPost || err == nil {
			return
		}
		mu.Lock()
		defer mu.Unlock()
		for _, id := range []string{`"id":2`, `"id":3`} {
			if bytes.Contains(body, []byte(id)) {
				failed[id] = true
			}
		}
		if len(failed) == 2 {
			retrying.fire()
		}
	})
	c := MustStartBridge(t, proxy.Options{URL: srv.URL(), RequestTimeout: 30 * time.Second, HTTPClient: hc})
	c.MustInit()
	MustDecode(t, c.call("1", "tools/list", "{}"))
	srv.Stop()
	time.Sleep(100 * time.Millisecond) // see TestSessionExpiryReinitializes
	countCh := c.expect("2")
	echoCh := c.expect("3")
	c.write(`{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"count","arguments":{}}}`)
	c.write(`{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"echo","arguments":{"text":"back"}}}`)
	retrying.MustWait(t, "both calls to fail against the stopped server", 20*time.Second)
	srv.MustStart()
	if got := toolText(t, c.MustResponse(countCh, "2")); got != "1" {
		t.Errorf("count = %q", got)
	}
	if got := toolText(t, c.MustResponse(echoCh, "3")); got != "back" {
		t.Errorf("echo = %q", got)
	}
	if n := srv.counted.Load(); n != 1 {
		t.Errorf("non-idempotent tool ran %d times, want 1", n)
	}
}

func TestServerDownFailsAtDeadline(t *testing.T) {
	srv := MustStartServer(t)
	c := MustStartBridge(t, proxy.Options{URL: srv.URL(), RequestTimeout: time.Second})
	c.MustInit()
	srv.Stop()
	r := MustDecode(t, c.call("1", "tools/call", `{"name":"count","arguments":{}}`))
	if r.Error == nil || r.Error.Code != proxy.CodeUnavailable ||
		!strings.Contains(r.Error.Message, "unreachable at "+srv.URL()) || !strings.Contains(r.Error.Message, "connection refused") {
		t.Fatalf("got %+v", r.Error)
	}
	srv.MustStart()
	if got := toolText(t, c.call("2", "tools/call", `{"name":"count","arguments":{}}`)); got != "1" {
		t.Errorf("count after recovery = %q", got)
	}
}

func TestDaemonDownAtStart(t *testing.T) {
	cacheFile := filepath.Join(t.TempDir(), "sage", "bridge-cache.json")
	srv := MustReserveServer(t)

	// First run: nothing cached, the built-in result answers.
	c := MustStartBridge(t, proxy.Options{URL: srv.URL(), CacheFile: cacheFile})
	var init struct {
		Capabilities struct {
			Tools struct {
				ListChanged bool `json:"listChanged"`
			} `json:"tools"`
		} `json:"capabilities"`
		ServerInfo struct {
			Name string `json:"name"`
		} `json:"serverInfo"`
	}
	MustResult(t, c.MustInit(), &init)
	if !init.Capabilities.Tools.ListChanged || init.ServerInfo.Name != "sage" {
		t.Fatalf("built-in initialize = %+v", init)
	}
	var list struct {
		Tools []json.RawMessage `json:"tools"`
	}
	MustResult(t, c.call("1", "tools/list", "{}"), &list)
	if len(list.Tools) != 0 {
		t.Fatalf("tools while down = %d", len(list.Tools))
	}
	srv.MustStart()
	c.waitOther("notifications/tools/list_changed", 30*time.Second)
	MustResult(t, c.call("2", "tools/list", "{}"), &list)
	if len(list.Tools) != 4 {
		t.Fatalf("tools after start = %d", len(list.Tools))
	}
	if got := toolText(t, c.call("3", "tools/call", `{"name":"count","arguments":{}}`)); got != "1" {
		t.Fatalf("count = %q", got)
	}
	if _, err := os.Stat(cacheFile); err != nil {
		t.Fatalf("cache not written: %v", err)
	}

	// Second run: the daemon is down again, the cached result answers.
	srv.Stop()
	c2 := MustStartBridge(t, proxy.Options{URL: srv.URL(), CacheFile: cacheFile})
	MustResult(t, c2.MustInit(), &init)
	if init.ServerInfo.Name != "sage-test" || !init.Capabilities.Tools.ListChanged {
		t.Fatalf("cached initialize = %+v", init)
	}
	MustResult(t, c2.call("1", "tools/list", "{}"), &list)
	if len(list.Tools) != 4 {
		t.Fatalf("cached tools = %d", len(list.Tools))
	}
	srv.MustStart()
	c2.waitOther("notifications/tools/list_changed", 30*time.Second)
	if got := toolText(t, c2.call("2", "tools/call", `{"name":"echo","arguments":{"text":"ok"}}`)); got != "ok" {
		t.Fatalf("echo = %q", got)
	}
}

func TestCancelledIsForwarded(t *testing.T) {
	srv := MustStartServer(t)
	c := MustStartBridge(t, proxy.Options{URL: srv.URL(), RequestTimeout: 10 * time.Second})
	c.MustInit()
	for _, id := range []string{`5`, `2.5`} {
		ch := c.expect(id)
		c.write(`{"jsonrpc":"2.0","id":` + id + `,"method":"tools/call","params":{"name":"slow","arguments":{"tag":"` + id + `"}}}`)
		select {
		case <-srv.started:
		case <-time.After(10 * time.Second):
			t.Fatalf("call %s did not reach the tool", id)
		}
		c.write(`{"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":` + id + `,"reason":"user"}}`)
		select {
		case tag := <-srv.cancelled:
			if tag != id {
				t.Errorf("cancelled %q, want %q", tag, id)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("cancellation of %s did not reach the tool", id)
		}
		// Exactly one response still arrives (the client ignores it).
		if r := MustDecode(t, c.MustResponse(ch, id)); string(r.ID) != id {
			t.Errorf("response id %s", r.ID)
		}
	}
}

func TestServerToClientRequest(t *testing.T) {
	srv := MustStartServer(t)
	c := MustStartBridge(t, proxy.Options{URL: srv.URL()})
	c.MustInit()
	ch := c.expect("1")
	c.write(`{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"roots","arguments":{}}}`)
	req := c.waitOther("roots/list", 10*time.Second)
	var r struct {
		ID json.RawMessage `json:"id"`
	}
	if err := json.Unmarshal(req, &r); err != nil {
		t.Fatal(err)
	}
	c.write(`{"jsonrpc":"2.0","id":` + string(r.ID) + `,"result":{"roots":[{"uri":"file:///work","name":"w"}]}}`)
	if got := toolText(t, c.MustResponse(ch, "1")); got != "file:///work" {
		t.Errorf("roots = %q", got)
	}
}

func TestServerNotificationOnEventStream(t *testing.T) {
	srv := MustStartServer(t)
	c := MustStartBridge(t, proxy.Options{URL: srv.URL()})
	c.MustInit()
	toolText(t, c.call("1", "tools/call", `{"name":"echo","arguments":{"text":"x"}}`))
	// The GET stream opens in the background: change the tool list until
	// the server's notification comes through it.
	deadline := time.Now().Add(20 * time.Second)
	for i := 0; ; i++ {
		mcp.AddTool(srv.mcpServer(), &mcp.Tool{Name: fmt.Sprintf("extra%d", i)},
			func(ctx context.Context, req *mcp.CallToolRequest, in struct{}) (*mcp.CallToolResult, any, error) {
				return &mcp.CallToolResult{}, nil, nil
			})
		select {
		case b := <-c.other:
			if strings.Contains(string(b), "notifications/tools/list_changed") {
				return
			}
		case <-time.After(500 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatal("no list_changed from the server's event stream")
		}
	}
}

func TestDeleteOnExit(t *testing.T) {
	srv := MustStartServer(t)
	c := MustStartBridge(t, proxy.Options{URL: srv.URL()})
	c.MustInit()
	c.in.Close()
	select {
	case err := <-c.done:
		c.done <- err
		if err != nil {
			t.Errorf("serve: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("bridge did not stop")
	}
	if n := srv.deletes.Load(); n != 1 {
		t.Errorf("DELETE sent %d times, want 1", n)
	}
}

func TestAuth(t *testing.T) {
	const secret = "s3cret-token-value"
	srv := MustStartServer(t, withToken(secret))
	bad := MustStartBridge(t, proxy.Options{URL: srv.URL(), Token: "wrong-token-value"})
	r := MustDecode(t, bad.call("0", "initialize", initParams))
	if r.Error == nil || r.Error.Code != proxy.CodeUnauthorized || !strings.Contains(r.Error.Message, "rejected the token") {
		t.Fatalf("bad token: %+v", r.Error)
	}
	if strings.Contains(r.Error.Message, "wrong-token-value") {
		t.Errorf("token in message: %s", r.Error.Message)
	}
	logs := &daemontest.Output{}
	log := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	good := MustStartBridge(t, proxy.Options{URL: srv.URL(), Token: secret, Logger: log, RequestTimeout: 2 * time.Second})
	good.MustInit()
	if got := toolText(t, good.call("1", "tools/call", `{"name":"echo","arguments":{"text":"in"}}`)); got != "in" {
		t.Errorf("echo = %q", got)
	}
	srv.Stop() // provoke failure logs too
	good.call("2", "tools/call", `{"name":"count","arguments":{}}`)
	if strings.Contains(logs.String(), secret) {
		t.Errorf("token logged:\n%s", logs.String())
	}
}

func TestConfigErrorServes(t *testing.T) {
	c := MustStartBridge(t, proxy.Options{ConfigError: fmt.Errorf("read token file: open /nope: no such file")})
	c.MustInit()
	var list struct {
		Tools []json.RawMessage `json:"tools"`
	}
	MustResult(t, c.call("1", "tools/list", "{}"), &list)
	r := MustDecode(t, c.call("2", "tools/call", `{"name":"x"}`))
	if r.Error == nil || !strings.Contains(r.Error.Message, "misconfigured: read token file") {
		t.Fatalf("got %+v", r.Error)
	}
}

func TestIdleBridgeReconnectsAfterRestart(t *testing.T) {
	srv := MustStartServer(t)
	// The GET event stream is open; after the stop, a new GET failed:
	// the bridge noticed the stream broke and retries it.
	streamOpen, streamRetrying := newSignal(), newSignal()
	var stopped atomic.Bool
	hc := MustWatchedClient(t, func(req *http.Request, _ []byte, resp *http.Response, err error) {
		if req.Method != http.MethodGet {
			return
		}
		switch {
		case err == nil && resp.StatusCode == http.StatusOK:
			streamOpen.fire()
		case err != nil && stopped.Load():
			streamRetrying.fire()
		}
	})
	c := MustStartBridge(t, proxy.Options{URL: srv.URL(), HTTPClient: hc})
	c.MustInit()
	toolText(t, c.call("1", "tools/call", `{"name":"echo","arguments":{"text":"x"}}`))
	streamOpen.MustWait(t, "the event stream to open", 10*time.Second)
	stopped.Store(true)
	srv.Stop()
	streamRetrying.MustWait(t, "the event stream to be retried", 20*time.Second)
	srv.MustStart()
	// No request is sent: the event stream's 404 triggers the reconnect.
	c.waitOther("notifications/tools/list_changed", 30*time.Second)
	if got := toolText(t, c.call("2", "tools/call", `{"name":"count","arguments":{}}`)); got != "1" {
		t.Fatalf("count = %q", got)
	}
}

func TestCancelBeforeSent(t *testing.T) {
	srv := MustStartServer(t)
	c := MustStartBridge(t, proxy.Options{URL: srv.URL()})
	c.MustInit()
	srv.Stop()
	// Drop the session so the call waits for the reconnect instead of
	// being written.
	srv.MustStart()
	MustDecode(t, c.call("1", "tools/list", "{}"))
	srv.Stop()
	time.Sleep(100 * time.Millisecond)
	ch := c.expect("7")
	c.write(`{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"count","arguments":{}}}`)
	c.write(`{"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":7}}`)
	r := MustDecode(t, c.MustResponse(ch, "7"))
	if r.Error == nil || r.Error.Code != proxy.CodeCancelled {
		t.Fatalf("cancelled call answered %+v", r)
	}
	srv.MustStart()
	MustDecode(t, c.call("8", "tools/list", "{}"))
	if n := srv.counted.Load(); n != 0 {
		t.Errorf("cancelled call ran %d times", n)
	}
}

// TestDefaultsHeaders: every POST carries the session's project and
// session id as headers, when they are valid header values.
func TestDefaultsHeaders(t *testing.T) {
	cases := []struct {
		name, project, session string
		wantProject            []string
		wantSession            []string
	}{
		{"both", "e2e-demo", "4ec6f2b9-4d13-40bc-bbdf-898448bdaea7", []string{"e2e-demo"}, []string{"4ec6f2b9-4d13-40bc-bbdf-898448bdaea7"}},
		{"project only", "e2e-demo", "", []string{"e2e-demo"}, nil},
		{"none", "", "", nil, nil},
		{"non-ASCII project", "记忆 项目", "s1", []string{"记忆 项目"}, []string{"s1"}},
		{"control character", "bad\nname", "s1", nil, []string{"s1"}},
		{"too long", strings.Repeat("p", proxy.MaxDefaultBytes+1), "s1", nil, []string{"s1"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			srv := MustStartServer(t)
			c := MustStartBridge(t, proxy.Options{URL: srv.URL(), Project: tc.project, SessionID: tc.session})
			c.MustInit()
			if got := toolText(t, c.call("1", "tools/call", `{"name":"echo","arguments":{"text":"ok"}}`)); got != "ok" {
				t.Fatalf("echo = %q", got)
			}
			srv.defaultsMu.Lock()
			defer srv.defaultsMu.Unlock()
			if len(srv.defaults) < 2 {
				t.Fatalf("%d POSTs seen", len(srv.defaults))
			}
			for i, d := range srv.defaults {
				if !slices.Equal(d[0], tc.wantProject) || !slices.Equal(d[1], tc.wantSession) {
					t.Errorf("POST %d: project %q session %q, want %q %q", i, d[0], d[1], tc.wantProject, tc.wantSession)
				}
			}
		})
	}
}

// TestRefusedConnectionAnsweredAtOnce: when nothing listens on the
// daemon's port, initialize and the list requests are answered from the
// cache without waiting for the init budget.
func TestRefusedConnectionAnsweredAtOnce(t *testing.T) {
	srv := MustReserveServer(t) // never started: connections are refused
	const budget = 5 * time.Second
	c := MustStartBridge(t, proxy.Options{URL: srv.URL(), InitTimeout: budget, CacheFile: filepath.Join(t.TempDir(), "cache.json")})
	start := time.Now()
	c.MustInit()
	for i, m := range []string{"tools/list", "resources/list", "prompts/list", "resources/templates/list"} {
		if r := MustDecode(t, c.call(fmt.Sprint(i+1), m, "{}")); r.Error != nil {
			t.Fatalf("%s: %s", m, r.Error.Message)
		}
	}
	// Waiting would take one budget for initialize and one per list.
	if d := time.Since(start); d >= budget {
		t.Fatalf("answers took %v, the init budget is %v: the bridge waited although the connection was refused", d, budget)
	}
}

// TestPreInitializeRequestFailsFast: a request before initialize (Claude
// Code's server/discover probe) is answered at once with an error when
// the daemon refuses connections, and within the init budget when it hangs.
func TestPreInitializeRequestFailsFast(t *testing.T) {
	srv := MustReserveServer(t) // refused
	const budget = 2 * time.Second
	c := MustStartBridge(t, proxy.Options{URL: srv.URL(), InitTimeout: budget, RequestTimeout: 30 * time.Second})
	start := time.Now()
	r := MustDecode(t, c.call(`"probe-1"`, "server/discover", `{}`))
	if r.Error == nil {
		t.Fatalf("server/discover while down: no error")
	}
	if d := time.Since(start); d >= budget {
		t.Fatalf("server/discover answered after %v: the bridge retried a refused connection", d)
	}
	MustResult(t, c.MustInit(), &struct{}{})
}
