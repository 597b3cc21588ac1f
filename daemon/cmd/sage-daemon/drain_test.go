package main

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/sage-mcp/sage/shared/api"
	"github.com/sage-mcp/sage/testkit/daemontest"
)

// TestSIGTERMDrainsInFlight sends SIGTERM while an import is mid-body: the
// daemon stops accepting, lets the request finish, then exits 0.
func TestSIGTERMDrainsInFlight(t *testing.T) {
	t.Parallel()
	secret := "drain-admin-token-0123456789"
	d := MustStartDaemon(t, "SAGE_DATABASE_URL="+MustDatabase(t), "SAGE_DATA_DIR="+t.TempDir(), "SAGE_TOKEN="+secret)
	d.MustReady(t)

	line := func(text string) string {
		b, _ := json.Marshal(api.Memory{Kind: "note", Text: text, OccurredAt: time.Now()})
		return string(b) + "\n"
	}
	pr, pw := io.Pipe()
	req, err := http.NewRequest("POST", d.URL+"/api/v1/import", pr)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+secret)
	type result struct {
		status int
		body   string
		err    error
	}
	done := make(chan result, 1)
	go func() {
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			done <- result{err: err}
			return
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		done <- result{status: resp.StatusCode, body: string(b)}
	}()
	// A first line longer than the client's write buffer, so that the
	// request is on the wire, not buffered.
	if _, err := io.WriteString(pw, line("first half of an import "+strings.Repeat("x", 16<<10))); err != nil {
		t.Fatal(err)
	}
	// The server accepts connections in order: once a request on a new
	// connection is answered, the import's connection has been accepted
	// (and is one Shutdown waits for), not left in the listen queue.
	fresh := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	resp, err := fresh.Get(d.URL + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if err := d.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	daemontest.MustEventually(t, "shutdown to start", func() bool { return strings.Contains(d.Log.String(), "draining in-flight requests") })
	if _, err := io.WriteString(pw, line("second half, sent after SIGTERM")); err != nil {
		t.Fatal(err)
	}
	pw.Close()
	r := <-done
	if r.err != nil || r.status != 200 {
		t.Fatalf("in-flight import: %d %s %v; log:\n%s", r.status, r.body, r.err, d.Log.String())
	}
	var ir api.ImportResponse
	if err := json.Unmarshal([]byte(r.body), &ir); err != nil || ir.Imported != 2 {
		t.Fatalf("import result %s", r.body)
	}
	if err := <-d.done; err != nil {
		t.Fatalf("exit after drain: %v", err)
	}
	d.done <- nil
}
