package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// Run parses flags, runs the three measurements and prints a Markdown
// report. It returns the exit code.
func Run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("sage-bridge-bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	bin := fs.String("bridge", "", "sage-bridge binary to measure (default: build ./bridge/cmd/sage-bridge with -ldflags '-s -w')")
	url := fs.String("url", "", "measure against this MCP endpoint (a real daemon) instead of the in-process go-sdk server")
	token := fs.String("token", os.Getenv("SAGE_TOKEN"), "bearer token for -url")
	tool := fs.String("tool", "echo", "tool to call")
	toolArgs := fs.String("args", `{"text":"hello"}`, "tool arguments (JSON)")
	runs := fs.Int("runs", 50, "cold starts to measure")
	calls := fs.Int("calls", 5000, "tools/call requests to measure per path")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if err := run(ctx, stdout, stderr, *bin, *url, *token, *tool, *toolArgs, *runs, *calls); err != nil {
		fmt.Fprintln(stderr, "sage-bridge-bench:", err)
		return 1
	}
	return 0
}

func run(ctx context.Context, stdout, stderr io.Writer, bin, url, token, tool, toolArgs string, runs, calls int) error {
	if bin == "" {
		dir, err := os.MkdirTemp("", "sage-bridge-bench")
		if err != nil {
			return err
		}
		defer os.RemoveAll(dir)
		if bin, err = buildBridge(ctx, dir, stderr); err != nil {
			return err
		}
	}
	target := "in-process go-sdk Streamable HTTP server (stateful, SSE responses)"
	if url == "" {
		ts := httptest.NewServer(newServer())
		defer ts.Close()
		url = ts.URL + "/mcp"
	} else {
		target = url
	}
	home, err := os.MkdirTemp("", "sage-bridge-bench-home")
	if err != nil {
		return err
	}
	defer os.RemoveAll(home)
	env := []string{
		"HOME=" + home, "PATH=" + os.Getenv("PATH"),
		"XDG_CONFIG_HOME=" + home, "XDG_CACHE_HOME=" + home,
		"SAGE_CONFIG=" + filepath.Join(home, "none.json"),
		"SAGE_URL=" + url, "SAGE_TOKEN=" + token, "SAGE_LOG_LEVEL=warn",
	}
	callLine := func(id int) []byte {
		return fmt.Appendf(nil, `{"jsonrpc":"2.0","id":%d,"method":"tools/call","params":{"name":%q,"arguments":%s}}`, id, tool, toolArgs)
	}

	fmt.Fprintln(stderr, "cold start…")
	cold, err := coldStarts(ctx, bin, env, runs)
	if err != nil {
		return err
	}
	fmt.Fprintln(stderr, "calls through the bridge…")
	viaBridge, rss, err := bridgeCalls(ctx, bin, env, calls, callLine)
	if err != nil {
		return err
	}
	fmt.Fprintln(stderr, "direct HTTP calls…")
	direct, err := directCalls(ctx, url, token, calls, callLine)
	if err != nil {
		return err
	}
	report(stdout, bin, target, calls, cold, viaBridge, direct, rss)
	return nil
}

// buildBridge builds sage-bridge like a release into dir.
func buildBridge(ctx context.Context, dir string, stderr io.Writer) (string, error) {
	bin := filepath.Join(dir, "sage-bridge")
	fmt.Fprintln(stderr, "building sage-bridge…")
	cmd := exec.CommandContext(ctx, "go", "build", "-trimpath", "-ldflags", "-s -w", "-o", bin, "github.com/sage-mcp/sage/bridge/cmd/sage-bridge")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("build sage-bridge: %v\n%s", err, out)
	}
	return bin, nil
}

// report prints the measurements as a Markdown table.
func report(stdout io.Writer, bin, target string, calls int, cold, viaBridge, direct []time.Duration, rss int64) {
	st, _ := os.Stat(bin)
	fmt.Fprintf(stdout, "target: %s; %s/%s, %d CPUs, %s; binary %.2f MB\n\n", target, runtime.GOOS, runtime.GOARCH, runtime.NumCPU(), runtime.Version(), float64(st.Size())/(1<<20))
	fmt.Fprintln(stdout, "| measurement | n | p50 | p95 | p99 |")
	fmt.Fprintln(stdout, "| --- | --- | --- | --- | --- |")
	row := func(name string, d []time.Duration) {
		fmt.Fprintf(stdout, "| %s | %d | %s | %s | %s |\n", name, len(d), ms(pct(d, 50)), ms(pct(d, 95)), ms(pct(d, 99)))
	}
	row("cold start → initialize response", cold)
	row("tools/call via sage-bridge", viaBridge)
	row("tools/call direct HTTP", direct)
	fmt.Fprintf(stdout, "\noverhead of the bridge at p50: %s (p95: %s)\n", ms(pct(viaBridge, 50)-pct(direct, 50)), ms(pct(viaBridge, 95)-pct(direct, 95)))
	if rss > 0 {
		fmt.Fprintf(stdout, "bridge peak RSS (VmHWM) after %d calls: %.1f MB\n", calls, float64(rss)/(1<<20))
	}
}

func ms(d time.Duration) string { return fmt.Sprintf("%.3f ms", float64(d.Nanoseconds())/1e6) }

func pct(d []time.Duration, p int) time.Duration {
	if len(d) == 0 {
		return 0
	}
	s := slices.Clone(d)
	slices.Sort(s)
	i := (len(s)*p + 99) / 100
	return s[min(max(i-1, 0), len(s)-1)]
}

type echoIn struct {
	Text string `json:"text"`
}

func newServer() http.Handler {
	srv := mcp.NewServer(&mcp.Implementation{Name: "bench", Version: "1"}, nil)
	mcp.AddTool(srv, &mcp.Tool{Name: "echo", Annotations: &mcp.ToolAnnotations{ReadOnlyHint: true}},
		func(ctx context.Context, req *mcp.CallToolRequest, in echoIn) (*mcp.CallToolResult, any, error) {
			return &mcp.CallToolResult{Content: []mcp.Content{&mcp.TextContent{Text: in.Text}}}, nil, nil
		})
	return mcp.NewStreamableHTTPHandler(func(*http.Request) *mcp.Server { return srv }, nil)
}

const initLine = `{"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"bench","version":"1"}}}`

type child struct {
	cmd *exec.Cmd
	in  io.WriteCloser
	out *bufio.Reader
}

func spawn(ctx context.Context, bin string, env []string) (*child, error) {
	cmd := exec.CommandContext(ctx, bin)
	cmd.Env = env
	cmd.Stderr = os.Stderr
	in, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	return &child{cmd: cmd, in: in, out: bufio.NewReaderSize(out, 1<<20)}, nil
}

// roundTrip writes one line and reads lines until the response (skipping
// notifications).
func (c *child) roundTrip(line []byte) ([]byte, error) {
	if _, err := c.in.Write(append(line, '\n')); err != nil {
		return nil, err
	}
	for {
		resp, err := c.out.ReadBytes('\n')
		if err != nil {
			return nil, err
		}
		if !bytes.Contains(resp, []byte(`"method"`)) || bytes.Contains(resp, []byte(`"result"`)) {
			if bytes.Contains(resp, []byte(`"error"`)) && !bytes.Contains(resp, []byte(`"result"`)) {
				return nil, fmt.Errorf("error response: %s", resp)
			}
			return resp, nil
		}
	}
}

func (c *child) close() error {
	c.in.Close()
	return c.cmd.Wait()
}

func coldStarts(ctx context.Context, bin string, env []string, runs int) ([]time.Duration, error) {
	var d []time.Duration
	for range runs {
		start := time.Now()
		c, err := spawn(ctx, bin, env)
		if err != nil {
			return nil, err
		}
		if _, err := c.roundTrip([]byte(initLine)); err != nil {
			return nil, fmt.Errorf("cold start initialize: %w", err)
		}
		d = append(d, time.Since(start))
		if err := c.close(); err != nil {
			return nil, fmt.Errorf("bridge exit: %w", err)
		}
	}
	return d, nil
}

func bridgeCalls(ctx context.Context, bin string, env []string, calls int, callLine func(int) []byte) ([]time.Duration, int64, error) {
	c, err := spawn(ctx, bin, env)
	if err != nil {
		return nil, 0, err
	}
	defer c.close()
	if _, err := c.roundTrip([]byte(initLine)); err != nil {
		return nil, 0, err
	}
	c.in.Write([]byte(`{"jsonrpc":"2.0","method":"notifications/initialized"}` + "\n"))
	for i := range 200 { // warm up
		if _, err := c.roundTrip(callLine(1_000_000 + i)); err != nil {
			return nil, 0, err
		}
	}
	d := make([]time.Duration, 0, calls)
	for i := range calls {
		line := callLine(i + 1)
		start := time.Now()
		if _, err := c.roundTrip(line); err != nil {
			return nil, 0, err
		}
		d = append(d, time.Since(start))
	}
	return d, vmHWM(c.cmd.Process.Pid), nil
}

// vmHWM reads the peak resident set size of pid (Linux; 0 elsewhere).
func vmHWM(pid int) int64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "VmHWM:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			return kb << 10
		}
	}
	return 0
}

// directClient posts MCP messages straight to the server, keeping the
// session id it is given.
type directClient struct {
	ctx        context.Context
	hc         *http.Client
	url, token string
	sid, proto string
}

// post sends body and returns the response body, read fully.
func (c *directClient) post(body []byte) ([]byte, error) {
	req, err := http.NewRequestWithContext(c.ctx, http.MethodPost, c.url, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json, text/event-stream")
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	if c.sid != "" {
		req.Header.Set("Mcp-Session-Id", c.sid)
	}
	if c.proto != "" {
		req.Header.Set("Mcp-Protocol-Version", c.proto)
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode >= 300 {
		return nil, fmt.Errorf("HTTP %d: %s", resp.StatusCode, b)
	}
	if h := resp.Header.Get("Mcp-Session-Id"); h != "" {
		c.sid = h
	}
	return b, nil
}

// directCalls runs the same calls with a keep-alive HTTP client straight to
// the server, reading each response body fully, as the bridge does.
func directCalls(ctx context.Context, url, token string, calls int, callLine func(int) []byte) ([]time.Duration, error) {
	c := &directClient{ctx: ctx, hc: &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 16}}, url: url, token: token}
	if _, err := c.post([]byte(initLine)); err != nil {
		return nil, err
	}
	c.proto = "2025-06-18"
	if _, err := c.post([]byte(`{"jsonrpc":"2.0","method":"notifications/initialized"}`)); err != nil {
		return nil, err
	}
	for i := range 200 {
		if _, err := c.post(callLine(1_000_000 + i)); err != nil {
			return nil, err
		}
	}
	d := make([]time.Duration, 0, calls)
	for i := range calls {
		line := callLine(i + 1)
		start := time.Now()
		b, err := c.post(line)
		if err != nil {
			return nil, err
		}
		if !bytes.Contains(b, []byte(`"result"`)) {
			return nil, errors.New("direct call without result: " + string(b))
		}
		d = append(d, time.Since(start))
	}
	return d, nil
}
