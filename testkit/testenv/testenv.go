// Package testenv reads what the test command (make test) provides to tests
// through the environment: a test without it is skipped on a developer's
// machine and fails under CI=true, where skipping would hide a broken setup.
package testenv

import (
	"net"
	"os"
	"testing"
)

// Require returns the value of the environment variable name. When it is
// empty it skips t, or fails t under CI=true; the message says name is not
// set and then provides.
func Require(t testing.TB, name, provides string) string {
	t.Helper()
	v := os.Getenv(name)
	if v == "" {
		msg := name + " is not set: run the tests with `make test`, which " + provides
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	return v
}

// RefusedURL returns an http:// URL on a loopback port that had nothing
// listening when it was looked up: a connection to it is refused (unless
// another process has taken the port since; a test must not need more).
func RefusedURL(t testing.TB) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	return "http://" + addr
}
