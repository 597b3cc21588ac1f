package proxy_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/sage-mcp/sage/bridge/proxy"
)

// testServer is an in-process go-sdk Streamable HTTP server that can be
// stopped and restarted on the same address (losing its sessions).
type testServer struct {
	t         *testing.T
	addr      string
	stateless bool
	token     string

	counted atomic.Int64 // runs of the non-idempotent "count" tool
	deletes atomic.Int64 // DELETE requests
	headers sync.Map     // "Mcp-Session-Id"/"Mcp-Protocol-Version" → last value seen on a POST
	// defaults are the X-Sage-Project and X-Sage-Session values of every
	// POST, in order.
	defaultsMu sync.Mutex
	defaults   [][2][]string
	started    chan string // "slow" tool calls that started
	cancelled  chan string // "slow" tool calls that saw cancellation

	mu     sync.Mutex
	srv    *http.Server
	mcpSrv *mcp.Server
}

type serverOpt func(*testServer)

func stateless() serverOpt           { return func(s *testServer) { s.stateless = true } }
func withToken(tok string) serverOpt { return func(s *testServer) { s.token = tok } }

// MustStartServer starts a test server on a free loopback port.
func MustStartServer(t *testing.T, opts ...serverOpt) *testServer {
	t.Helper()
	s := MustReserveServer(t, opts...)
	s.MustStart()
	return s
}

// MustReserveServer picks an address for a test server without starting it.
func MustReserveServer(t *testing.T, opts ...serverOpt) *testServer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &testServer{t: t, addr: ln.Addr().String(), started: make(chan string, 16), cancelled: make(chan string, 16)}
	ln.Close()
	for _, o := range opts {
		o(s)
	}
	t.Cleanup(s.Stop)
	return s
}

func (s *testServer) URL() string { return "http://" + s.addr + "/mcp" }

type echoIn struct {
	Text string `json:"text"`
}
type countIn struct {
	Note string `json:"note,omitempty"`
}
type slowIn struct {
	Tag string `json:"tag"`
}

func (s *testServer) newMCPServer() *mcp.Server {
	srv := mcp.NewServer(&mcp.Implementation{Name: "sage-test", Version: "1"}, nil)
	mcp.AddTool(srv, &mcp.Tool{Name: "echo", Description: "echo text", Annotations: &mcp.ToolAnnotations{ReadOnlyHint: true}},
		func(ctx context.Context, req *mcp.CallToolRequest, in echoIn) (*mcp.CallToolResult, any, error) {
			return &mcp.CallToolResult{Content: []mcp.Content{&mcp.TextContent{Text: in.Text}}}, nil, nil
		})
	mcp.AddTool(srv, &mcp.Tool{Name: "count", Description: "count calls (not idempotent)"},
		func(ctx context.Context, req *mcp.CallToolRequest, in countIn) (*mcp.CallToolResult, any, error) {
			n := s.counted.Add(1)
			return &mcp.CallToolResult{Content: []mcp.Content{&mcp.TextContent{Text: fmt.Sprint(n)}}}, nil, nil
		})
	mcp.AddTool(srv, &mcp.Tool{Name: "slow", Description: "block until cancelled"},
		func(ctx context.Context, req *mcp.CallToolRequest, in slowIn) (*mcp.CallToolResult, any, error) {
			s.started <- in.Tag
			<-ctx.Done()
			s.cancelled <- in.Tag
			return nil, nil, ctx.Err()
		})
	mcp.AddTool(srv, &mcp.Tool{Name: "roots", Description: "list the client's roots"},
		func(ctx context.Context, req *mcp.CallToolRequest, in struct{}) (*mcp.CallToolResult, any, error) {
			r, err := req.Session.ListRoots(ctx, &mcp.ListRootsParams{})
			if err != nil {
				return nil, nil, err
			}
			var uris []string
			for _, root := range r.Roots {
				uris = append(uris, root.URI)
			}
			return &mcp.CallToolResult{Content: []mcp.Content{&mcp.TextContent{Text: strings.Join(uris, ",")}}}, nil, nil
		})
	return srv
}

// MustStart (re)starts the server with a fresh MCP server: old session ids
// are unknown to it.
func (s *testServer) MustStart() {
	s.t.Helper()
	var ln net.Listener
	var err error
	for i := 0; i < 50; i++ {
		if ln, err = net.Listen("tcp", s.addr); err == nil {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err != nil {
		s.t.Fatalf("listen %s: %v", s.addr, err)
	}
	m := s.newMCPServer()
	h := mcp.NewStreamableHTTPHandler(func(*http.Request) *mcp.Server { return m },
		&mcp.StreamableHTTPOptions{Stateless: s.stateless})
	wrapped := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if s.token != "" && r.Header.Get("Authorization") != "Bearer "+s.token {
			http.Error(w, "unauthorized", http.StatusUnauthorized)
			return
		}
		if r.Method == http.MethodDelete {
			s.deletes.Add(1)
		}
		if r.Method == http.MethodPost {
			for _, h := range []string{"Mcp-Session-Id", "Mcp-Protocol-Version"} {
				if v := r.Header.Get(h); v != "" {
					s.headers.Store(h, v)
				}
			}
			s.defaultsMu.Lock()
			s.defaults = append(s.defaults, [2][]string{r.Header.Values(proxy.HeaderProject), r.Header.Values(proxy.HeaderSession)})
			s.defaultsMu.Unlock()
		}
		h.ServeHTTP(w, r)
	})
	srv := &http.Server{Handler: wrapped}
	s.mu.Lock()
	s.srv, s.mcpSrv = srv, m
	s.mu.Unlock()
	go srv.Serve(ln)
}

// Stop closes the listener and every connection.
func (s *testServer) Stop() {
	s.mu.Lock()
	srv := s.srv
	s.srv = nil
	s.mu.Unlock()
	if srv != nil {
		srv.Close()
	}
}

func (s *testServer) mcpServer() *mcp.Server {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.mcpSrv
}

// client drives a Bridge over pipes, like Claude Code does.
type client struct {
	t    *testing.T
	in   *io.PipeWriter
	done chan error

	mu      sync.Mutex
	waiting map[string]chan []byte
	arrived map[string][]byte
	other   chan []byte // notifications and server requests
	lines   atomic.Int64
}

// MustStartBridge runs a bridge for opts until the test ends.
func MustStartBridge(t *testing.T, opts proxy.Options) *client {
	t.Helper()
	if opts.RequestTimeout == 0 {
		opts.RequestTimeout = 30 * time.Second
	}
	inR, inW := io.Pipe()
	outR, outW := io.Pipe()
	c := &client{t: t, in: inW, done: make(chan error, 1),
		waiting: map[string]chan []byte{}, arrived: map[string][]byte{}, other: make(chan []byte, 100)}
	go func() {
		err := proxy.Serve(context.Background(), inR, outW, opts)
		outW.Close()
		c.done <- err
	}()
	go c.readLoop(outR)
	t.Cleanup(func() {
		inW.Close()
		select {
		case <-c.done:
		case <-time.After(10 * time.Second):
			t.Error("bridge did not stop after stdin EOF")
		}
	})
	return c
}

func (c *client) readLoop(r io.Reader) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	for sc.Scan() {
		b := append([]byte(nil), sc.Bytes()...)
		c.lines.Add(1)
		var e struct {
			ID     json.RawMessage `json:"id"`
			Method string          `json:"method"`
		}
		if err := json.Unmarshal(b, &e); err != nil {
			c.t.Errorf("bridge wrote invalid JSON: %q", b)
			continue
		}
		if e.Method != "" {
			c.other <- b
			continue
		}
		key := string(e.ID)
		c.mu.Lock()
		if ch, ok := c.waiting[key]; ok {
			delete(c.waiting, key)
			ch <- b
		} else {
			if _, dup := c.arrived[key]; dup {
				c.t.Errorf("second response for id %s: %s", key, b)
			}
			c.arrived[key] = b
		}
		c.mu.Unlock()
	}
}

// write sends one raw line.
func (c *client) write(line string) {
	c.t.Helper()
	if _, err := io.WriteString(c.in, line+"\n"); err != nil {
		c.t.Fatalf("write stdin: %v", err)
	}
}

// expect returns a channel receiving the response with raw id.
func (c *client) expect(id string) <-chan []byte {
	ch := make(chan []byte, 1)
	c.mu.Lock()
	defer c.mu.Unlock()
	if b, ok := c.arrived[id]; ok {
		delete(c.arrived, id)
		ch <- b
		return ch
	}
	c.waiting[id] = ch
	return ch
}

// MustResponse waits for the response with raw id.
func (c *client) MustResponse(ch <-chan []byte, id string) []byte {
	c.t.Helper()
	select {
	case b := <-ch:
		return b
	case <-time.After(90 * time.Second):
		c.t.Fatalf("no response for id %s", id)
		return nil
	}
}

// call sends a request and waits for its response.
func (c *client) call(id, method, params string) []byte {
	c.t.Helper()
	ch := c.expect(id)
	if params == "" {
		c.write(fmt.Sprintf(`{"jsonrpc":"2.0","id":%s,"method":%q}`, id, method))
	} else {
		c.write(fmt.Sprintf(`{"jsonrpc":"2.0","id":%s,"method":%q,"params":%s}`, id, method, params))
	}
	return c.MustResponse(ch, id)
}

const initParams = `{"protocolVersion":"2025-06-18","capabilities":{"roots":{"listChanged":true}},"clientInfo":{"name":"test","version":"1"}}`

// MustInit runs the initialize handshake.
func (c *client) MustInit() []byte {
	c.t.Helper()
	b := c.call("0", "initialize", initParams)
	c.write(`{"jsonrpc":"2.0","method":"notifications/initialized"}`)
	return b
}

// waitOther waits for a message with method.
func (c *client) waitOther(method string, d time.Duration) []byte {
	c.t.Helper()
	deadline := time.After(d)
	for {
		select {
		case b := <-c.other:
			var e struct {
				Method string `json:"method"`
			}
			json.Unmarshal(b, &e)
			if e.Method == method {
				return b
			}
		case <-deadline:
			c.t.Fatalf("no %s within %s", method, d)
			return nil
		}
	}
}

type rpcResp struct {
	ID     json.RawMessage `json:"id"`
	Result json.RawMessage `json:"result"`
	Error  *struct {
		Code    int    `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

func MustDecode(t *testing.T, b []byte) rpcResp {
	t.Helper()
	var r rpcResp
	if err := json.Unmarshal(b, &r); err != nil {
		t.Fatalf("decode %s: %v", b, err)
	}
	return r
}

// MustResult decodes a success response into v.
func MustResult(t *testing.T, b []byte, v any) {
	t.Helper()
	r := MustDecode(t, b)
	if r.Error != nil {
		t.Fatalf("error response: %s", b)
	}
	if err := json.Unmarshal(r.Result, v); err != nil {
		t.Fatalf("decode result %s: %v", r.Result, err)
	}
}

// toolText returns the text of a tools/call result.
func toolText(t *testing.T, b []byte) string {
	t.Helper()
	var res struct {
		Content []struct {
			Text string `json:"text"`
		} `json:"content"`
		IsError bool `json:"isError"`
	}
	MustResult(t, b, &res)
	if res.IsError || len(res.Content) == 0 {
		t.Fatalf("tool failed: %s", b)
	}
	return res.Content[0].Text
}

// watchTransport is the bridge's HTTP transport with a hook on every
// round trip, for tests that wait for what the bridge did upstream.
type watchTransport struct {
	base http.RoundTripper
	// seen is called after each round trip with the request, its body and
	// the outcome; it must not block.
	seen func(req *http.Request, body []byte, resp *http.Response, err error)
}

func (w *watchTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	var body []byte
	if req.Body != nil {
		var err error
		if body, err = io.ReadAll(req.Body); err != nil {
			return nil, err
		}
		req.Body.Close()
		req.Body = io.NopCloser(bytes.NewReader(body))
	}
	resp, err := w.base.RoundTrip(req)
	w.seen(req, body, resp, err)
	return resp, err
}

// MustWatchedClient returns an HTTP client for proxy.Options whose round
// trips are reported to seen.
func MustWatchedClient(t *testing.T, seen func(req *http.Request, body []byte, resp *http.Response, err error)) *http.Client {
	t.Helper()
	c := proxy.NewHTTPClient()
	c.Transport = &watchTransport{base: c.Transport, seen: seen}
	return c
}

// signal is a channel closed once, by the first of several callers.
type signal struct {
	once sync.Once
	ch   chan struct{}
}

func newSignal() *signal { return &signal{ch: make(chan struct{})} }

func (s *signal) fire() { s.once.Do(func() { close(s.ch) }) }

// MustWait waits for s within d.
func (s *signal) MustWait(t *testing.T, what string, d time.Duration) {
	t.Helper()
	select {
	case <-s.ch:
	case <-time.After(d):
		t.Fatalf("timed out after %v waiting for %s", d, what)
	}
}
