package main

import (
	"os/exec"
	"runtime"
	"strings"
	"testing"

	"github.com/sage-mcp/sage/shared/version"
	"github.com/sage-mcp/sage/testkit/daemontest"
)

// TestVersion: version and --version print shared/version's version, and a
// build with -ldflags -X version.Var sets it.
func TestVersion(t *testing.T) {
	want := "sage-installer " + version.String() + " (" + runtime.GOOS + "/" + runtime.GOARCH + ")\n"
	for _, arg := range []string{"version", "--version"} {
		if out := MustRun(t, arg); out != want {
			t.Errorf("%s: %q, want %q", arg, out, want)
		}
	}
	bin := daemontest.MustBuildCommand(t, "installer/cmd/sage-installer", "-ldflags", "-X "+version.Var+"=v7.7.7-test")
	out, err := exec.Command(bin, "--version").Output()
	if err != nil || !strings.HasPrefix(string(out), "sage-installer v7.7.7-test (") {
		t.Errorf("built with -X %s: %q, %v", version.Var, out, err)
	}
}
