// Package claudetest gives tests the real Claude Code CLI, which
// `make test` installs and names in SAGE_TEST_CLAUDE, to prove registration
// end to end.
package claudetest

import (
	"os/exec"
	"testing"

	"github.com/sage-mcp/sage/testkit/testenv"
)

// Env names the Claude Code CLI binary (a path, or a name on PATH).
const Env = "SAGE_TEST_CLAUDE"

// MustCLI returns the absolute path of the Claude Code CLI named by Env. It
// skips t when Env is unset, and fails it instead under CI=true, where a
// skipped end-to-end test would hide a broken setup.
func MustCLI(t testing.TB) string {
	t.Helper()
	bin := testenv.Require(t, Env, "installs the Claude Code CLI")
	abs, err := exec.LookPath(bin)
	if err != nil {
		t.Fatalf("%s=%s: %v", Env, bin, err)
	}
	return abs
}
