package testenv

import (
	"errors"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
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

// TestHungURL: a request to the URL waits until the client's own deadline,
// and once the test that asked for it ends, nothing listens there any more.
func TestHungURL(t *testing.T) {
	var u string
	t.Run("hung", func(t *testing.T) {
		u = HungURL(t)
		if !strings.HasPrefix(u, "http://127.0.0.1:") {
			t.Fatalf("HungURL = %q", u)
		}
		c := &http.Client{Timeout: 200 * time.Millisecond}
		_, err := c.Post(u+"/mcp", "application/json", strings.NewReader(`{"jsonrpc":"2.0","id":1,"method":"ping"}`))
		var ne net.Error
		if !errors.As(err, &ne) || !ne.Timeout() {
			t.Fatalf("POST %s = %v; want a timeout", u, err)
		}
	})
	if _, err := http.Get(u); err == nil || !strings.Contains(err.Error(), "refused") {
		t.Fatalf("GET %s after the test = %v; want connection refused", u, err)
	}
}
