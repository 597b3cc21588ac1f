package testenv

import (
	"net/http"
	"strings"
	"testing"
)

func TestRequire(t *testing.T) {
	t.Setenv("SAGE_TESTENV_PROBE", "value")
	if got := Require(t, "SAGE_TESTENV_PROBE", "sets it"); got != "value" {
		t.Errorf("Require = %q, want %q", got, "value")
	}
}

func TestRefusedURL(t *testing.T) {
	u := RefusedURL(t)
	if !strings.HasPrefix(u, "http://127.0.0.1:") {
		t.Fatalf("RefusedURL = %q", u)
	}
	if _, err := http.Get(u); err == nil || !strings.Contains(err.Error(), "refused") {
		t.Fatalf("GET %s = %v; want connection refused", u, err)
	}
}
