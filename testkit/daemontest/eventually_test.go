package daemontest_test

import (
	"testing"

	"github.com/sage-mcp/sage/testkit/daemontest"
)

func TestMustEventually(t *testing.T) {
	calls := 0
	daemontest.MustEventually(t, "the third call", func() bool {
		calls++
		return calls == 3
	})
	if calls != 3 {
		t.Fatalf("cond called %d times, want 3 (it returns once cond holds)", calls)
	}
}
