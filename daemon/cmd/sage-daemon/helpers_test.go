package main

import (
	"bytes"
	"context"
	"net/http"
	"os"
	"os/exec"
	"regexp"
	"syscall"
	"testing"
	"time"

	"github.com/sage-mcp/sage/daemon/postgres/postgrestest"
	"github.com/sage-mcp/sage/testkit/daemontest"
)

// MustBinary builds ./cmd/sage-daemon once per test process, with the
// version test-1.2.3.
func MustBinary(t testing.TB) string {
	t.Helper()
	return daemontest.MustBuildCommand(t, "daemon/cmd/sage-daemon", "-ldflags", "-X github.com/sage-mcp/sage/shared/version.Version=test-1.2.3")
}

// MustDatabase returns the URL of a fresh, migrated database.
func MustDatabase(t testing.TB) string {
	t.Helper()
	return postgrestest.MustDatabase(t)
}

// listening finds the address in the daemon's "sage-daemon listening" log
// line (text or JSON format).
var listening = regexp.MustCompile(`sage-daemon listening.*?\baddr"?[=:]"?(127\.0\.0\.1:[0-9]+)`)

// daemon is a running sage-daemon binary.
type daemon struct {
	URL, Addr string
	Log       *daemontest.Output
	cmd       *exec.Cmd
	done      chan error
}

// MustStartDaemon runs the binary's serve with env (KEY=VALUE) on a
// loopback port it picks itself (SAGE_LISTEN=127.0.0.1:0, so no other
// process can take the port in between); it is stopped when t ends.
func MustStartDaemon(t testing.TB, env ...string) *daemon {
	t.Helper()
	d := &daemon{Log: &daemontest.Output{}, done: make(chan error, 1)}
	d.cmd = exec.Command(MustBinary(t), "serve")
	d.cmd.Env = append(os.Environ(), append([]string{"SAGE_LISTEN=127.0.0.1:0", "SAGE_LOG_LEVEL=debug"}, env...)...)
	d.cmd.Stdout, d.cmd.Stderr = d.Log, d.Log
	if err := d.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { d.done <- d.cmd.Wait() }()
	t.Cleanup(func() { d.Stop(t) })
	daemontest.MustEventually(t, "daemon listening", func() bool {
		m := listening.FindStringSubmatch(d.Log.String())
		if m == nil {
			return false
		}
		d.Addr, d.URL = m[1], "http://"+m[1]
		resp, err := http.Get(d.URL + "/healthz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return true
	})
	return d
}

// Stop sends SIGTERM and waits for the exit; it returns the exit error.
func (d *daemon) Stop(t testing.TB) error {
	select {
	case err := <-d.done: // exited already
		d.done <- err
		return err
	default:
	}
	_ = d.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-d.done:
		d.done <- err
		return err
	case <-time.After(30 * time.Second):
		_ = d.cmd.Process.Kill()
		t.Errorf("daemon did not stop on SIGTERM; log:\n%s", d.Log.String())
		return <-d.done
	}
}

// MustReady waits until /readyz answers 200.
func (d *daemon) MustReady(t testing.TB) {
	t.Helper()
	daemontest.MustEventually(t, "daemon ready", func() bool { return status(d.URL+"/readyz", "") == 200 })
}

// status GETs url with an optional bearer token and returns the status.
func status(url, token string) int {
	req, _ := http.NewRequest("GET", url, nil)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0
	}
	resp.Body.Close()
	return resp.StatusCode
}

// runCmd runs the binary with args and env, with a timeout (that does not
// include building it).
func runCmd(t testing.TB, env []string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	bin := MustBinary(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Env = append(os.Environ(), env...)
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	err := cmd.Run()
	code = 0
	if err != nil {
		ee, ok := err.(*exec.ExitError)
		if !ok {
			t.Fatalf("run %v: %v", args, err)
		}
		code = ee.ExitCode()
	}
	return o.String(), e.String(), code
}
