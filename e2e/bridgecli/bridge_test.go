package bridgecli_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/sage-mcp/sage/testkit/claudetest"
	"github.com/sage-mcp/sage/testkit/daemontest"
)

// bridgePkg is the command under test.
const bridgePkg = "github.com/sage-mcp/sage/bridge/cmd/sage-bridge"

// MustBuildBridge builds sage-bridge like a release does into a temp dir.
func MustBuildBridge(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "sage-bridge")
	cmd := exec.Command("go", "build", "-trimpath", "-ldflags", "-s -w", "-o", bin, bridgePkg)
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// MustStartMCPServer runs a go-sdk Streamable HTTP server with an "echo"
// tool that requires the bearer token.
func MustStartMCPServer(t *testing.T, token string) string {
	t.Helper()
	srv := mcp.NewServer(&mcp.Implementation{Name: "sage-e2e", Version: "1"}, nil)
	mcp.AddTool(srv, &mcp.Tool{Name: "echo", Annotations: &mcp.ToolAnnotations{ReadOnlyHint: true}},
		func(ctx context.Context, req *mcp.CallToolRequest, in struct {
			Text string `json:"text"`
		}) (*mcp.CallToolResult, any, error) {
			return &mcp.CallToolResult{Content: []mcp.Content{&mcp.TextContent{Text: in.Text}}}, nil, nil
		})
	h := mcp.NewStreamableHTTPHandler(func(*http.Request) *mcp.Server { return srv }, nil)
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer "+token {
			http.Error(w, "unauthorized", http.StatusUnauthorized)
			return
		}
		h.ServeHTTP(w, r)
	}))
	t.Cleanup(ts.Close)
	return ts.URL + "/mcp"
}

// bridgeEnv is a clean environment: temp HOME and config, the given
// SAGE_* settings.
func bridgeEnv(t *testing.T, kv ...string) []string {
	t.Helper()
	home := t.TempDir()
	env := []string{
		"HOME=" + home,
		"PATH=" + os.Getenv("PATH"),
		"XDG_CONFIG_HOME=" + filepath.Join(home, ".config"),
		"XDG_CACHE_HOME=" + filepath.Join(home, ".cache"),
		"SAGE_CONFIG=" + filepath.Join(home, "no-config.json"),
	}
	return append(env, kv...)
}

// proc is a running sage-bridge serving on pipes.
type proc struct {
	t   *testing.T
	cmd *exec.Cmd
	in  io.WriteCloser
	out *bufio.Scanner
}

func MustSpawn(t *testing.T, bin string, env []string) *proc {
	t.Helper()
	cmd := exec.Command(bin)
	cmd.Env = env
	in, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
		if t.Failed() {
			t.Logf("bridge stderr:\n%s", stderr.String())
		}
	})
	sc := bufio.NewScanner(out)
	sc.Buffer(nil, 16<<20)
	return &proc{t: t, cmd: cmd, in: in, out: sc}
}

// call sends a request and returns the next response (skipping
// notifications).
func (p *proc) call(id int, method, params string) map[string]json.RawMessage {
	p.t.Helper()
	fmt.Fprintf(p.in, `{"jsonrpc":"2.0","id":%d,"method":%q,"params":%s}`+"\n", id, method, params)
	for p.out.Scan() {
		var m map[string]json.RawMessage
		if err := json.Unmarshal(p.out.Bytes(), &m); err != nil {
			p.t.Fatalf("bad line %q", p.out.Bytes())
		}
		if _, isNote := m["method"]; isNote {
			continue
		}
		if string(m["id"]) != fmt.Sprint(id) {
			p.t.Fatalf("response %s for request %d", p.out.Bytes(), id)
		}
		return m
	}
	p.t.Fatalf("bridge closed stdout: %v", p.out.Err())
	return nil
}

func (p *proc) notify(method string) {
	fmt.Fprintf(p.in, `{"jsonrpc":"2.0","method":%q}`+"\n", method)
}

// MustExit closes stdin and waits for a clean exit.
func (p *proc) MustExit() {
	p.t.Helper()
	p.in.Close()
	done := make(chan error, 1)
	go func() { done <- p.cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			p.t.Fatalf("bridge exit: %v", err)
		}
	case <-time.After(15 * time.Second):
		p.t.Fatal("bridge did not exit after stdin EOF")
	}
}

const initParams = `{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"e2e","version":"1"}}`

func TestServeBinary(t *testing.T) {
	bin := MustBuildBridge(t)
	url := MustStartMCPServer(t, "e2e-token")
	p := MustSpawn(t, bin, bridgeEnv(t, "SAGE_URL="+url, "SAGE_TOKEN=e2e-token"))
	if r := p.call(1, "initialize", initParams); r["result"] == nil {
		t.Fatalf("initialize: %v", r)
	}
	p.notify("notifications/initialized")
	r := p.call(2, "tools/call", `{"name":"echo","arguments":{"text":"through the binary"}}`)
	if !strings.Contains(string(r["result"]), "through the binary") {
		t.Fatalf("tools/call: %s", r["result"])
	}
	p.MustExit()
}

// TestSignalExit: SIGTERM ends the bridge cleanly (exit 0) after it deletes
// its daemon session.
func TestSignalExit(t *testing.T) {
	bin := MustBuildBridge(t)
	deletes := make(chan string, 1)
	srv := mcp.NewServer(&mcp.Implementation{Name: "sig", Version: "1"}, nil)
	h := mcp.NewStreamableHTTPHandler(func(*http.Request) *mcp.Server { return srv }, nil)
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodDelete {
			deletes <- r.Header.Get("Mcp-Session-Id")
		}
		h.ServeHTTP(w, r)
	}))
	defer ts.Close()
	p := MustSpawn(t, bin, bridgeEnv(t, "SAGE_URL="+ts.URL+"/mcp"))
	p.call(1, "initialize", initParams)
	p.notify("notifications/initialized")
	p.call(2, "ping", "{}")
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- p.cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("exit after SIGTERM: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("bridge ignored SIGTERM")
	}
	select {
	case sid := <-deletes:
		if sid == "" {
			t.Error("DELETE without a session id")
		}
	default:
		t.Error("no DELETE of the session")
	}
}

func TestDoctor(t *testing.T) {
	bin := MustBuildBridge(t)
	url := MustStartMCPServer(t, "doc-token")
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	down := "http://" + ln.Addr().String() + "/mcp"
	ln.Close()
	notFound := httptest.NewServer(http.NotFoundHandler()) // a daemon's answer to a path it does not serve
	defer notFound.Close()
	composeCfg := filepath.Join(t.TempDir(), "config.json")
	if err := os.WriteFile(composeCfg, []byte(`{"url":"`+down+`","compose_dir":"/srv/sage"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	tlsSrv := httptest.NewUnstartedServer(http.NotFoundHandler())
	tlsSrv.Config.ErrorLog = log.New(io.Discard, "", 0) // the rejected handshake is expected
	tlsSrv.StartTLS()
	defer tlsSrv.Close()
	tests := []struct {
		name     string
		env      []string
		wantCode int
		want     []string
		dontWant []string
	}{
		{"ok", []string{"SAGE_URL=" + url, "SAGE_TOKEN=doc-token"}, 0,
			[]string{"from env SAGE_URL", "token        set, 9 characters (from env SAGE_TOKEN)", "✔ auth", "✔ initialize", "sage-e2e", "✔ tools/list", "1 tool: echo", "All checks passed", "claude mcp add --scope user sage -- sage-bridge"}, nil},
		{"bad token", []string{"SAGE_URL=" + url, "SAGE_TOKEN=nope-nope"}, 1,
			[]string{"✘ auth", "token rejected (HTTP 401)", "fix: set a valid token",
				"(the daemon's admin token: `docker compose exec sage sage-daemon token show` for a compose install, `sage-daemon token show` for a native one;"},
			[]string{"cat /data/token"}},
		{"no token", []string{"SAGE_URL=" + url}, 1,
			[]string{"token rejected: the daemon requires a token", "docker compose exec sage sage-daemon token show"}, nil},
		{"down", []string{"SAGE_URL=" + down}, 1,
			[]string{"✘ reachable", "connection refused",
				"  fix: start the daemon: `docker compose up -d` in the directory of Sage's docker-compose.yml (a compose install), or `sage-daemon serve` with SAGE_DATABASE_URL set (a native one); or fix the port in the URL (env SAGE_URL)\n"},
			[]string{"sage-bridge service start"}},
		{"down, compose_dir configured", []string{"SAGE_CONFIG=" + composeCfg}, 1,
			[]string{"  fix: start the daemon: `docker compose up -d` in /srv/sage (a compose install)"},
			[]string{"sage-bridge service start"}},
		{"REST base instead of MCP", []string{"SAGE_URL=" + notFound.URL + "/api/v1"}, 1,
			[]string{"✘ initialize   HTTP 404 at " + notFound.URL + "/api/v1",
				"  fix: the daemon's MCP endpoint is its base URL + /mcp, e.g. " + notFound.URL + "/mcp; fix the URL (env SAGE_URL)\n"},
			[]string{"/api/v1/mcp"}},
		{"path prefix", []string{"SAGE_URL=" + notFound.URL + "/sage/healthz"}, 1,
			[]string{"e.g. " + notFound.URL + "/sage/mcp;"}, nil},
		{"untrusted TLS", []string{"SAGE_URL=" + tlsSrv.URL + "/mcp"}, 1,
			[]string{"✔ reachable", "✘ TLS", "unknown authority", "fix: install the CA"}, nil},
		{"bad url", []string{"SAGE_URL=ftp://x"}, 1,
			[]string{"✘ config", "must start with http"}, nil},
		{"missing token file", []string{"SAGE_URL=" + url, "SAGE_TOKEN_FILE=/nonexistent/token"}, 1,
			[]string{"✘ config", "read token file", "fix: point SAGE_TOKEN_FILE"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cmd := exec.Command(bin, "doctor")
			cmd.Env = bridgeEnv(t, tt.env...)
			out, err := cmd.CombinedOutput()
			code := 0
			if ee, ok := err.(*exec.ExitError); ok {
				code = ee.ExitCode()
			} else if err != nil {
				t.Fatal(err)
			}
			if code != tt.wantCode {
				t.Errorf("exit %d, want %d\n%s", code, tt.wantCode, out)
			}
			for _, w := range tt.want {
				if !strings.Contains(string(out), w) {
					t.Errorf("output lacks %q:\n%s", w, out)
				}
			}
			for _, w := range tt.dontWant {
				if strings.Contains(string(out), w) {
					t.Errorf("output has %q:\n%s", w, out)
				}
			}
			if strings.Contains(string(out), "doc-token") || strings.Contains(string(out), "nope-nope") {
				t.Errorf("token printed:\n%s", out)
			}
		})
	}
}

func TestVersion(t *testing.T) {
	bin := MustBuildBridge(t)
	out, err := exec.Command(bin, "version").CombinedOutput()
	if err != nil || !strings.HasPrefix(string(out), "sage-bridge ") {
		t.Fatalf("version: %v %q", err, out)
	}
}

// TestCrossCompile builds the release targets and checks the size budget
// and that the go-sdk stays out of the binary.
func TestCrossCompile(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", bridgePkg).CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	if strings.Contains(string(out), "modelcontextprotocol/go-sdk") {
		t.Error("sage-bridge depends on the go-sdk; only its tests may")
	}
	const limit = 8 << 20
	dir := t.TempDir()
	for _, goos := range []string{"linux", "darwin", "windows"} {
		for _, goarch := range []string{"amd64", "arm64"} {
			bin := filepath.Join(dir, goos+"-"+goarch)
			cmd := exec.Command("go", "build", "-trimpath", "-ldflags", "-s -w", "-o", bin, bridgePkg)
			cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS="+goos, "GOARCH="+goarch)
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Errorf("%s/%s: %v\n%s", goos, goarch, err, out)
				continue
			}
			st, err := os.Stat(bin)
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("%s/%s: %d bytes", goos, goarch, st.Size())
			if st.Size() > limit {
				t.Errorf("%s/%s binary is %d bytes, over the %d byte budget", goos, goarch, st.Size(), limit)
			}
			os.Remove(bin)
		}
	}
}

// TestClaudeCodeRegistration registers the bridge with the real Claude Code
// CLI and checks that `claude mcp list` connects through it.
func TestClaudeCodeRegistration(t *testing.T) {
	claude := claudetest.MustCLI(t)
	bin := MustBuildBridge(t)
	url := MustStartMCPServer(t, "claude-token")
	env := bridgeEnv(t)
	run := func(args ...string) string {
		t.Helper()
		cmd := exec.Command("timeout", append([]string{"120", claude}, args...)...)
		cmd.Env = env
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("claude %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return string(out)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	down := "http://" + ln.Addr().String() + "/mcp"
	ln.Close()
	run("mcp", "add", "sage", "-e", "SAGE_URL="+url, "-e", "SAGE_TOKEN=claude-token", "--", bin)
	// The daemon being down must not break Claude Code either.
	run("mcp", "add", "sage-down", "-e", "SAGE_URL="+down, "--", bin)
	out := run("mcp", "list")
	t.Logf("claude mcp list:\n%s", out)
	for _, name := range []string{"sage", "sage-down"} {
		var line string
		for _, l := range strings.Split(out, "\n") {
			if strings.HasPrefix(l, name+":") {
				line = l
			}
		}
		if !strings.Contains(line, bin) || !strings.Contains(line, "✔ Connected") {
			t.Errorf("%s not connected in `claude mcp list`:\n%s", name, out)
		}
	}
}

// TestRealDaemon runs the bridge against the real sage-daemon, across a
// daemon restart.
func TestRealDaemon(t *testing.T) {
	d := daemontest.Start(t)
	bin := MustBuildBridge(t)
	p := MustSpawn(t, bin, bridgeEnv(t, "SAGE_URL="+d.MCPURL, "SAGE_TOKEN="+d.Token))
	r := p.call(1, "initialize", initParams)
	if r["result"] == nil {
		t.Fatalf("initialize: %v", r)
	}
	p.notify("notifications/initialized")
	var list struct {
		Tools []struct {
			Name string `json:"name"`
		} `json:"tools"`
	}
	if err := json.Unmarshal(p.call(2, "tools/list", "{}")["result"], &list); err != nil || len(list.Tools) == 0 {
		t.Fatalf("tools/list: %v %+v", err, list)
	}
	r = p.call(3, "tools/call", `{"name":"remember","arguments":{"content":"the bridge forwards byte for byte","idempotency_key":"e2e-1"}}`)
	if r["result"] == nil || strings.Contains(string(r["result"]), `"isError":true`) {
		t.Fatalf("remember: %s %s", r["result"], r["error"])
	}
	d.Stop()
	d.Start()
	// The old session is gone: the bridge re-initializes transparently.
	r = p.call(4, "tools/call", `{"name":"search_memory","arguments":{"query":"bridge forwards"}}`)
	if r["result"] == nil || !strings.Contains(string(r["result"]), "byte for byte") {
		t.Fatalf("search_memory after a daemon restart: %s %s", r["result"], r["error"])
	}
	p.MustExit()
}
