package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/sage-mcp/sage/bridge"
	"github.com/sage-mcp/sage/bridge/proxy"
	"github.com/sage-mcp/sage/shared/config"
	"github.com/sage-mcp/sage/shared/textcut"
)

// doctor runs the checks one after another and stops at the first failure,
// printing a concrete fix.
type doctor struct {
	out     io.Writer
	cfg     config.Config
	timeout time.Duration
	client  *http.Client
	failed  bool
}

func (d *doctor) ok(step, format string, args ...any) {
	fmt.Fprintf(d.out, "✔ %-12s %s\n", step, fmt.Sprintf(format, args...))
}

func (d *doctor) fail(step, problem, fix string) {
	d.failed = true
	fmt.Fprintf(d.out, "✘ %-12s %s\n  fix: %s\n", step, problem, fix)
}

// runDoctor prints the configuration in use (never the token) and checks
// the daemon step by step: config, reachability, TLS, auth and the MCP
// handshake. It exits 1 when a check fails.
func runDoctor(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	f, _, ok := parseServeFlags("sage-bridge doctor", args, stderr)
	if !ok {
		return 2
	}
	d := &doctor{out: stdout, timeout: 5 * time.Second}
	if f.timeout > 0 {
		d.timeout = f.timeout
	}
	fmt.Fprintf(stdout, "sage-bridge %s doctor\n\n", versionString())
	cfg, fileErr, err := resolveConfig(f)
	d.cfg = cfg
	d.printConfig(fileErr)
	if !d.checkConfig(fileErr, err) || !d.checkReach(ctx) || !d.checkTLS(ctx) || !d.checkMCP(ctx) {
		fmt.Fprintln(stdout, "\nA check failed; fix it and run `sage-bridge doctor` again.")
		return 1
	}
	fmt.Fprintln(stdout, "\nAll checks passed: Claude Code can use Sage (`claude mcp add --scope user sage -- sage-bridge`).")
	return 0
}

func (d *doctor) printConfig(fileErr error) {
	state := "not found (defaults and environment only)"
	if st, err := os.Stat(d.cfg.FilePath); err == nil && !st.IsDir() {
		state = "found"
		if fileErr != nil {
			state = "UNREADABLE"
		}
	}
	fmt.Fprintf(d.out, "  config file  %s (%s)\n", d.cfg.FilePath, state)
	fmt.Fprintf(d.out, "  url          %s (from %s)\n", d.cfg.URL, d.cfg.URLSource)
	tok := "none"
	if d.cfg.Token != "" {
		tok = "set, " + fmt.Sprint(len(d.cfg.Token)) + " characters"
	}
	fmt.Fprintf(d.out, "  token        %s (from %s)\n", tok, d.cfg.TokenSource)
	fmt.Fprintf(d.out, "  cache        %s\n\n", proxy.DefaultCacheFile())
}

func (d *doctor) checkConfig(fileErr, err error) bool {
	if fileErr != nil {
		d.fail("config", fileErr.Error(), "fix the JSON in "+d.cfg.FilePath+" (or rerun sage-installer), or remove it and use SAGE_URL/SAGE_TOKEN")
		return false
	}
	if err != nil {
		fix := "set SAGE_URL to the daemon's MCP endpoint, e.g. " + config.DefaultURL
		if strings.Contains(err.Error(), "token") {
			fix = "point SAGE_TOKEN_FILE / token_file at a readable file holding the token, or set SAGE_TOKEN"
		}
		d.fail("config", err.Error(), fix)
		return false
	}
	d.ok("config", "valid")
	return true
}

func (d *doctor) hostPort() (string, *url.URL) {
	u, _ := url.Parse(d.cfg.URL)
	port := u.Port()
	if port == "" {
		port = "80"
		if u.Scheme == "https" {
			port = "443"
		}
	}
	return net.JoinHostPort(u.Hostname(), port), u
}

func (d *doctor) checkReach(ctx context.Context) bool {
	addr, u := d.hostPort()
	start := time.Now()
	conn, err := (&net.Dialer{Timeout: d.timeout}).DialContext(ctx, "tcp", addr)
	if err != nil {
		var dns *net.DNSError
		switch {
		case errors.As(err, &dns):
			d.fail("reachable", "cannot resolve "+u.Hostname(), "check the host name in the URL ("+d.cfg.URLSource+")")
		case proxy.IsConnRefused(err):
			d.fail("reachable", "connection refused at "+addr+": the daemon is not running there", d.startFix())
		default:
			d.fail("reachable", "cannot connect to "+addr+": "+err.Error(),
				"check that the daemon runs and that no firewall blocks "+addr)
		}
		return false
	}
	conn.Close()
	d.ok("reachable", "%s (%.1f ms)", addr, float64(time.Since(start).Microseconds())/1000)
	return true
}

// startFix says how to start the daemon: with Docker Compose in the
// configured compose directory (compose_dir), or natively.
func (d *doctor) startFix() string {
	where := "in the directory of Sage's docker-compose.yml"
	if dir := d.cfg.ComposeDir; filepath.IsAbs(dir) {
		where = "in " + dir
	}
	return "start the daemon: `docker compose up -d` " + where + " (a compose install), or `sage-daemon serve` with " +
		"SAGE_DATABASE_URL set (a native one); or fix the port in the URL (" + d.cfg.URLSource + ")"
}

// mcpEndpoint suggests the daemon's MCP endpoint for a URL that is not one:
// the part of its path before a daemon route (/api/…, /healthz, /mcp …),
// which keeps a reverse proxy's path prefix, then "/mcp".
func mcpEndpoint(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return config.DefaultURL
	}
	u.RawQuery, u.Fragment, u.RawFragment, u.RawPath = "", "", "", ""
	segs := strings.Split(strings.Trim(u.Path, "/"), "/")
	keep := segs[:0]
	for _, s := range segs {
		switch s {
		case "api", "mcp", "healthz", "readyz", "metrics", "authorize", "token", "register", ".well-known":
		default:
			if s != "" {
				keep = append(keep, s)
			}
			continue
		}
		break
	}
	u.Path = "/" + strings.Join(append(keep, "mcp"), "/")
	return u.String()
}

func (d *doctor) checkTLS(ctx context.Context) bool {
	addr, u := d.hostPort()
	if u.Scheme != "https" {
		d.ok("TLS", "not used (http)")
		return true
	}
	dialer := &tls.Dialer{NetDialer: &net.Dialer{Timeout: d.timeout}, Config: &tls.Config{ServerName: u.Hostname()}}
	conn, err := dialer.DialContext(ctx, "tcp", addr)
	if err != nil {
		var unk x509.UnknownAuthorityError
		var host x509.HostnameError
		var inv x509.CertificateInvalidError
		switch {
		case errors.As(err, &unk):
			d.fail("TLS", "certificate signed by an unknown authority", "install the CA in the system trust store (or set SSL_CERT_FILE to a PEM bundle that holds it)")
		case errors.As(err, &host):
			d.fail("TLS", err.Error(), "use the host name the certificate was issued for in the URL")
		case errors.As(err, &inv):
			d.fail("TLS", err.Error(), "renew the daemon's certificate (or check the system clock)")
		default:
			d.fail("TLS", err.Error(), "check that the daemon serves HTTPS on "+addr+"; use http:// if it does not")
		}
		return false
	}
	st := conn.(*tls.Conn).ConnectionState()
	conn.Close()
	d.ok("TLS", "%s, certificate for %s valid until %s", tls.VersionName(st.Version), st.PeerCertificates[0].Subject.CommonName, st.PeerCertificates[0].NotAfter.Format("2006-01-02"))
	return true
}

// post sends one JSON-RPC message and returns the response message (the
// first JSON-RPC response in a JSON or SSE body).
func (d *doctor) post(ctx context.Context, sessionID, protocol, body string) (*http.Response, []byte, error) {
	ctx, cancel := context.WithTimeout(ctx, d.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, d.cfg.URL, strings.NewReader(body))
	if err != nil {
		return nil, nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json, text/event-stream")
	if d.cfg.Token != "" {
		req.Header.Set("Authorization", "Bearer "+d.cfg.Token)
	}
	if sessionID != "" {
		req.Header.Set("Mcp-Session-Id", sessionID)
	}
	if protocol != "" {
		req.Header.Set("Mcp-Protocol-Version", protocol)
	}
	resp, err := d.client.Do(req)
	if err != nil {
		return nil, nil, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if err != nil {
		return resp, nil, err
	}
	if strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream") {
		for _, ln := range strings.Split(string(data), "\n") {
			ln = strings.TrimRight(ln, "\r")
			if v, ok := strings.CutPrefix(ln, "data:"); ok && strings.Contains(v, `"id"`) && !strings.Contains(v, `"method"`) {
				return resp, []byte(strings.TrimSpace(v)), nil
			}
		}
	}
	return resp, bytes.TrimSpace(data), nil
}

// checkMCP speaks MCP to the daemon: initialize (which also checks the
// token), notifications/initialized and tools/list.
func (d *doctor) checkMCP(ctx context.Context) bool {
	d.client = &http.Client{}
	sid, proto, ok := d.checkInitialize(ctx)
	if !ok {
		return false
	}
	defer d.deleteSession(sid, proto)
	if resp, _, err := d.post(ctx, sid, proto, `{"jsonrpc":"2.0","method":"notifications/initialized"}`); err != nil || resp.StatusCode >= 300 {
		d.fail("initialized", fmt.Sprint("notification not accepted: ", errOrStatus(resp, err)), "check the daemon's logs (`docker compose logs sage`)")
		return false
	}
	return d.checkTools(ctx, sid, proto)
}

// checkInitialize sends initialize and reports auth and initialize; it
// returns the session id and the negotiated protocol version.
func (d *doctor) checkInitialize(ctx context.Context) (sid, proto string, ok bool) {
	init := `{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"sage-bridge-doctor","version":"` + versionString() + `"}}}`
	resp, body, err := d.post(ctx, "", "", init)
	if err != nil {
		d.fail("initialize", "request failed: "+err.Error(), "check that "+d.cfg.URL+" is the daemon's MCP endpoint and that it is healthy (`docker compose logs sage`)")
		return "", "", false
	}
	if !d.checkAuth(resp, body) {
		return "", "", false
	}
	var r struct {
		Result *struct {
			ProtocolVersion string `json:"protocolVersion"`
			ServerInfo      struct {
				Name    string `json:"name"`
				Version string `json:"version"`
			} `json:"serverInfo"`
		} `json:"result"`
		Error *struct {
			Message string `json:"message"`
		} `json:"error"`
	}
	if err := json.Unmarshal(body, &r); err != nil || (r.Result == nil && r.Error == nil) {
		d.fail("initialize", "the answer is not a JSON-RPC response: "+firstLine(body), "the URL does not point at an MCP server; use the daemon's /mcp endpoint")
		return "", "", false
	}
	if r.Error != nil {
		d.fail("initialize", "refused: "+r.Error.Message, "upgrade sage-bridge and the daemon to matching versions")
		return "", "", false
	}
	sid = resp.Header.Get("Mcp-Session-Id")
	sess := "stateless"
	if sid != "" {
		sess = "session started"
	}
	d.ok("initialize", "%s %s, protocol %s, %s", r.Result.ServerInfo.Name, r.Result.ServerInfo.Version, r.Result.ProtocolVersion, sess)
	return sid, r.Result.ProtocolVersion, true
}

// checkAuth reports the HTTP status of the initialize answer: a rejected
// token, a wrong URL, another HTTP error, or an accepted token.
func (d *doctor) checkAuth(resp *http.Response, body []byte) bool {
	switch {
	case resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden:
		fix := "set a valid token: SAGE_TOKEN, SAGE_TOKEN_FILE or token/token_file in " + d.cfg.FilePath + " (the daemon's admin token: `docker compose exec sage sage-daemon token show` for a compose install, `sage-daemon token show` for a native one; an admin issues more with `sage_manage token issue`)"
		if d.cfg.Token == "" {
			d.fail("auth", fmt.Sprintf("token rejected: the daemon requires a token (HTTP %d) and none is configured", resp.StatusCode), fix)
		} else {
			d.fail("auth", fmt.Sprintf("token rejected (HTTP %d): the token from %s is not valid for this daemon", resp.StatusCode, d.cfg.TokenSource), fix)
		}
		return false
	case resp.StatusCode == http.StatusNotFound:
		d.fail("initialize", "HTTP 404 at "+d.cfg.URL, "the daemon's MCP endpoint is its base URL + /mcp, e.g. "+mcpEndpoint(d.cfg.URL)+"; fix the URL ("+d.cfg.URLSource+")")
		return false
	case resp.StatusCode >= 300:
		d.fail("initialize", fmt.Sprintf("HTTP %d: %s", resp.StatusCode, firstLine(body)), "check the daemon's logs (`docker compose logs sage`)")
		return false
	}
	if d.cfg.Token != "" {
		d.ok("auth", "token accepted")
	} else {
		d.ok("auth", "no token needed")
	}
	return true
}

// checkTools lists the daemon's tools.
func (d *doctor) checkTools(ctx context.Context, sid, proto string) bool {
	resp, body, err := d.post(ctx, sid, proto, `{"jsonrpc":"2.0","id":2,"method":"tools/list","params":{}}`)
	if err != nil || resp.StatusCode >= 300 {
		d.fail("tools/list", fmt.Sprint("failed: ", errOrStatus(resp, err)), "check the daemon's logs (`docker compose logs sage`)")
		return false
	}
	var tl struct {
		Result *struct {
			Tools []struct {
				Name string `json:"name"`
			} `json:"tools"`
		} `json:"result"`
	}
	if err := json.Unmarshal(body, &tl); err != nil || tl.Result == nil {
		d.fail("tools/list", "bad answer: "+firstLine(body), "check the daemon's logs (`docker compose logs sage`)")
		return false
	}
	names := make([]string, 0, len(tl.Result.Tools))
	for _, t := range tl.Result.Tools {
		names = append(names, t.Name)
	}
	d.ok("tools/list", "%s: %s", bridge.Plural(len(names), "tool", "tools"), strings.Join(names, ", "))
	return true
}

func (d *doctor) deleteSession(sid, proto string) {
	if sid == "" {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodDelete, d.cfg.URL, nil)
	if err != nil {
		return
	}
	req.Header.Set("Mcp-Session-Id", sid)
	req.Header.Set("Mcp-Protocol-Version", proto)
	if d.cfg.Token != "" {
		req.Header.Set("Authorization", "Bearer "+d.cfg.Token)
	}
	if resp, err := d.client.Do(req); err == nil {
		resp.Body.Close()
	}
}

func errOrStatus(resp *http.Response, err error) string {
	if err != nil {
		return err.Error()
	}
	return resp.Status
}

// firstLine quotes the first line of a daemon's answer in a check.
func firstLine(b []byte) string {
	s := strings.TrimSpace(string(b))
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[:i]
	}
	return textcut.Excerpt(s, maxExcerpt)
}

// maxExcerpt bounds the bytes of a daemon's answer quoted in a check.
const maxExcerpt = 200
