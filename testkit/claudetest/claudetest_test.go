package claudetest

import (
	"os"
	"path/filepath"
	"testing"
)

func TestMustCLI(t *testing.T) {
	dir := t.TempDir()
	bin := filepath.Join(dir, "claude")
	if err := os.WriteFile(bin, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv(Env, bin)
	if got := MustCLI(t); got != bin {
		t.Errorf("MustCLI = %q, want %q", got, bin)
	}
	t.Setenv("PATH", dir)
	t.Setenv(Env, "claude")
	if got := MustCLI(t); got != bin {
		t.Errorf("MustCLI by name = %q, want %q", got, bin)
	}
}
