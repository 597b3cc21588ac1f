package daemontest

import (
	"testing"
	"time"
)

// MustEventually polls cond every 200ms for up to a minute, and fails the
// test when it has not held by then: for states of a daemon that no
// channel announces (readiness, a log line).
func MustEventually(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(200 * time.Millisecond)
	}
}
