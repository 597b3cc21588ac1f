package main

import (
	"os"
	"strings"
	"testing"
)

// MustOutbox fills the home's Sage cache with a hook log, two undelivered
// turns and one quarantined entry.
func MustOutbox(t *testing.T, h testHome) {
	t.Helper()
	MustWrite(t, h.path(".cache/sage/hook.log"), "a line\n", 0o600)
	MustWrite(t, h.path(".cache/sage/outbox/00000000000000000001-aa.json"), "{}\n", 0o600)
	MustWrite(t, h.path(".cache/sage/outbox/00000000000000000002-bb.json"), "{}\n", 0o600)
	MustWrite(t, h.path(".cache/sage/outbox/.tmp-123"), "", 0o600)
	MustWrite(t, h.path(".cache/sage/outbox/quarantine/00000000000000000000-cc.json"), "{}\n", 0o600)
}

// TestUninstallRecordAndCache: what uninstall says about the install record
// is true, it keeps Sage's cache (saying what is in it) unless --purge, and
// --purge warns about undelivered turns, tries to deliver them, and removes
// the cache.
func TestUninstallRecordAndCache(t *testing.T) {
	tests := []struct {
		name       string
		settings   bool // settings.json exists before install (so a backup is made)
		purge      bool
		wantRecord bool // state.json left after uninstall
	}{
		{"fresh home", false, false, false},
		{"edited settings", true, false, true},
		{"purge", true, true, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := MustHome(t)
			logPath := h.path("bridge.log")
			MustWrite(t, h.Bridge, "#!/bin/sh\necho \"$*\" >> '"+logPath+"'\n", 0o755)
			if tt.settings {
				MustWrite(t, h.path(".claude/settings.json"), userSettings, 0o644)
			}
			MustRun(t, "install", "--bridge", h.Bridge, "--claude", "none", "--no-service", "--token", "tok_1234567890")
			MustOutbox(t, h)

			args := []string{"uninstall", "--claude", "none", "--no-service"}
			if tt.purge {
				args = append(args, "--purge")
			}
			out, errs, code := run(t, args...)
			if code != 0 {
				t.Fatalf("exit %d\n%s%s", code, out, errs)
			}
			state := h.path(".config/sage/installer/state.json")
			_, err := os.Stat(state)
			if left := err == nil; left != tt.wantRecord {
				t.Errorf("state.json left: %v, want %v\n%s", left, tt.wantRecord, out)
			}
			if tt.wantRecord {
				if strings.Contains(out, "remove the install record") || !strings.Contains(out, "reduce the install record") {
					t.Errorf("uninstall kept state.json but did not say so:\n%s", out)
				}
			} else if !strings.Contains(out, "remove the install record") {
				t.Errorf("uninstall did not say it removes state.json:\n%s", out)
			}

			_, err = os.Stat(h.path(".cache/sage"))
			if tt.purge {
				if err == nil {
					t.Errorf("--purge left the cache:\n%s", out)
				}
				for _, want := range []string{"WARNING", "holds 2 turns not yet delivered", "without --purge"} {
					if !strings.Contains(errs, want) {
						t.Errorf("stderr lacks %q:\n%s", want, errs)
					}
				}
				if log := MustRead(t, logPath); !strings.Contains(log, "manage sync") {
					t.Errorf("--purge did not try to deliver the outbox; the bridge ran:\n%s", log)
				}
				return
			}
			if err != nil {
				t.Fatalf("uninstall without --purge removed the cache: %v", err)
			}
			if !strings.Contains(out, "Kept Sage's cache "+h.path(".cache/sage")) || !strings.Contains(out, "2 turns not yet delivered and 1 quarantined") || !strings.Contains(out, "--purge") {
				t.Errorf("uninstall does not say what it kept:\n%s", out)
			}
			// A later uninstall --purge removes the cache (the bridge is
			// gone: the warning says the turns cannot be delivered).
			_, errs, code = run(t, "uninstall", "--claude", "none", "--no-service", "--purge")
			if code != 0 || !strings.Contains(errs, "cannot be delivered first") {
				t.Errorf("exit %d, stderr:\n%s", code, errs)
			}
			if _, err := os.Stat(h.path(".cache/sage")); err == nil {
				t.Error("uninstall --purge left the cache")
			}
		})
	}
}
