package testenv

import "testing"

func TestRequire(t *testing.T) {
	t.Setenv("SAGE_TESTENV_PROBE", "value")
	if got := Require(t, "SAGE_TESTENV_PROBE", "sets it"); got != "value" {
		t.Errorf("Require = %q, want %q", got, "value")
	}
}
