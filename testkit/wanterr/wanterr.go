// Package wanterr checks the error of a table test's case against the
// part of its message the case wants.
package wanterr

import (
	"strings"
	"testing"
)

// Check fails t unless err fits want: with want set, err must be an error
// whose message contains want; with want empty, err must be nil. It
// reports whether the case goes on to check a result (want empty and no
// error); a case that wanted an error ends there either way.
func Check(t testing.TB, err error, want string) bool {
	t.Helper()
	switch {
	case want != "":
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("err = %v, want an error containing %q", err, want)
		}
		return false
	case err != nil:
		t.Errorf("unexpected error: %v", err)
		return false
	}
	return true
}
