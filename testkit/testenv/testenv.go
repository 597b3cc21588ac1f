// Package testenv reads what the test command (make test) provides to tests
// through the environment: a test without it is skipped on a developer's
// machine and fails under CI=true, where skipping would hide a broken setup.
// It also gives the stand-ins for a daemon that is down (RefusedURL) or hung
// (HungURL).
package testenv

import (
	"io"
	"net"
	"os"
	"sync"
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

// HungURL returns an http:// URL on a loopback port where a server accepts
// connections, reads what comes and never answers: a client waits until its
// own deadline, as with a hung daemon. The server stops, closing every
// connection, when t ends.
func HungURL(t testing.TB) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var conns []net.Conn
	closed := false
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			if closed { // accepted while the cleanup ran
				c.Close()
			} else {
				conns = append(conns, c)
				go io.Copy(io.Discard, c)
			}
			mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		l.Close()
		mu.Lock()
		defer mu.Unlock()
		closed = true
		for _, c := range conns {
			c.Close()
		}
	})
	return "http://" + l.Addr().String()
}
