package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sage-mcp/sage/testkit/daemontest"
	"github.com/sage-mcp/sage/testkit/testenv"
)

// notInstalledBridge is a stand-in sage-bridge whose service is not
// installed, as on a machine where install ran with --no-service.
const notInstalledBridge = "#!/bin/sh\ncase \"$*\" in\n\"service status\") echo 'not installed (linux-systemd)'; exit 3 ;;\nesac\n"

// TestInstallChecksToken runs install against a real daemon: a token the
// daemon refuses, or none, stops install before it changes anything; an
// unreachable daemon only gets a loud warning.
func TestInstallChecksToken(t *testing.T) {
	d := daemontest.Start(t)
	dead := testenv.RefusedURL(t)
	tests := []struct {
		name     string
		url      string
		token    []string // token flags
		wantCode int
		wantErr  []string // in stderr
	}{
		{"accepted", d.URL, []string{"--token", d.Token}, 0, nil},
		{"rejected", d.URL, []string{"--token", "sage_wrong_token_0123456789"}, 1,
			[]string{"rejected the token", "--token", "docker compose exec sage sage-daemon token show", "--token-file", "--env-file", "Nothing was changed"}},
		{"none", d.URL, nil, 1, []string{"no token", "needs a token", "docker compose exec sage sage-daemon token show", "--token-file", "--env-file"}},
		{"none, daemon down", dead, nil, 1, []string{"no token", "cannot reach the daemon", "sage-daemon token show"}},
		{"daemon down", dead, []string{"--token", "sage_unchecked_token_0123"}, 0, []string{"WARNING", "cannot reach the daemon at " + dead, "NOT checked", "sage-installer status"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := MustHome(t)
			before := snapshot(t, h.Dir)
			args := append([]string{"install", "--bridge", h.Bridge, "--claude", "none", "--no-service", "--url", tt.url}, tt.token...)
			out, errs, code := run(t, args...)
			if code != tt.wantCode {
				t.Fatalf("exit %d, want %d\nstdout:\n%s\nstderr:\n%s", code, tt.wantCode, out, errs)
			}
			for _, w := range tt.wantErr {
				if !strings.Contains(errs, w) {
					t.Errorf("stderr lacks %q:\n%s", w, errs)
				}
			}
			if len(tt.wantErr) == 0 && errs != "" {
				t.Errorf("stderr: %s", errs)
			}
			if strings.Contains(errs+out, "sage_wrong_token") {
				t.Error("the token was printed")
			}
			if code != 0 {
				if d := diff(before, snapshot(t, h.Dir), true); d != "" {
					t.Fatalf("a refused install changed files:\n%s", d)
				}
			}
		})
	}
}

// TestStatusChecksTokenAndHonoursNoService: after install --no-service,
// status shows the service as skipped and exits 0 when everything else
// works, and it fails when the daemon answers /healthz but rejects the
// token.
func TestStatusChecksTokenAndHonoursNoService(t *testing.T) {
	d := daemontest.Start(t)
	h := MustHome(t)
	MustWrite(t, h.Bridge, notInstalledBridge, 0o755)
	binDir := h.path(".local/bin")
	t.Setenv("PATH", binDir+string(os.PathListSeparator)+os.Getenv("PATH"))
	MustRun(t, "install", "--bridge", h.Bridge, "--claude", "none", "--no-service", "--url", d.URL, "--token", d.Token)

	out, errs, code := run(t, "status", "--claude", "none")
	if code != 0 {
		t.Fatalf("status after install --no-service: exit %d\n%s%s", code, out, errs)
	}
	for _, want := range []string{"skip service", "install --no-service", "ok   daemon", "ok   token", "accepted"} {
		if !strings.Contains(out, want) {
			t.Errorf("status lacks %q:\n%s", want, out)
		}
	}

	// The same token file, now holding a token the daemon does not know.
	cfg := h.path(".config/sage/config.json")
	tokFile := filepath.Join(h.Dir, "stale-token")
	MustWrite(t, tokFile, "sage_stale_token_0123456789\n", 0o600)
	MustWrite(t, cfg, `{"url":"`+d.MCPURL+`","token_file":"`+tokFile+`"}`, 0o600)
	out, _, code = run(t, "status", "--claude", "none")
	if code != 3 {
		t.Fatalf("status with a rejected token: exit %d\n%s", code, out)
	}
	for _, want := range []string{"ok   daemon", "MISS token", "rejected the token", tokFile, "sage-daemon token show"} {
		if !strings.Contains(out, want) {
			t.Errorf("status lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "sage_stale_token") {
		t.Error("status printed the token")
	}

	// A service that install was asked for (no --no-service) and that is
	// not there is still a failure.
	MustRun(t, "uninstall", "--claude", "none", "--no-service")
	MustRun(t, "install", "--bridge", h.Bridge, "--claude", "none", "--url", d.URL, "--token", d.Token)
	out, _, code = run(t, "status", "--claude", "none")
	if code != 3 || !strings.Contains(out, "MISS service") {
		t.Errorf("status with a wanted service missing: exit %d\n%s", code, out)
	}
}

// TestServiceFailureLeadsWithFix: where the user service cannot be
// installed, install's error starts with what to do.
func TestServiceFailureLeadsWithFix(t *testing.T) {
	h := MustHome(t)
	MustWrite(t, h.Bridge, "#!/bin/sh\ncase \"$*\" in\n\"service install\"*) echo 'sage-bridge service: service install: User services are not supported on SystemV.' >&2; exit 1 ;;\n\"service status\") exit 3 ;;\nesac\n", 0o755)
	_, errs, code := run(t, "install", "--bridge", h.Bridge, "--claude", "none", "--token", "tok_123456789")
	if code != 1 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	var line string
	for _, l := range strings.Split(errs, "\n") {
		if strings.HasPrefix(l, "sage-installer install: ") && !strings.Contains(l, "WARNING") {
			line = l
			break
		}
	}
	if !strings.Contains(line, "rerun with --no-service") {
		t.Errorf("the error's first line does not lead with the fix: %q\n%s", line, errs)
	}
	if !strings.Contains(errs, "not supported on SystemV") {
		t.Errorf("the cause is missing:\n%s", errs)
	}
}
