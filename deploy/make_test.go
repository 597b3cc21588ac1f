package deploy_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestMakeBuild runs `make build` into a temporary directory and checks that
// each binary reports the version it was stamped with (the Makefile's
// version variables exist in the code: -X silently ignores a missing one).
func TestMakeBuild(t *testing.T) {
	if _, err := exec.LookPath("make"); err != nil {
		t.Fatalf("make is needed: %v", err)
	}
	bin := t.TempDir()
	const version = "v0.0.0-maketest"
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "make", "-s", "build", "VERSION="+version, "BIN="+bin)
	cmd.Dir = mustRepoRoot(t)
	cmd.Env = withoutEnv(os.Environ(), "GOFLAGS", "MAKEFLAGS", "MFLAGS")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("make build: %v\n%s", err, out)
	}
	for _, name := range []string{"sage-daemon", "sage-bridge", "sage-installer"} {
		if _, err := os.Stat(filepath.Join(bin, name)); err != nil {
			t.Errorf("make build made no %s: %v", name, err)
			continue
		}
		out, err := exec.CommandContext(ctx, filepath.Join(bin, name), "version").CombinedOutput()
		if err != nil || !strings.Contains(string(out), version) {
			t.Errorf("%s version = %q, %v; want %s", name, out, err, version)
		}
	}
}
