package wanterr_test

import (
	"errors"
	"testing"

	"github.com/sage-mcp/sage/testkit/wanterr"
)

// recorder is a testing.TB that records whether it was failed.
type recorder struct {
	testing.TB
	failed bool
}

func (r *recorder) Helper()               { r.TB.Helper() }
func (r *recorder) Errorf(string, ...any) { r.failed = true }

func TestCheck(t *testing.T) {
	for _, tc := range []struct {
		name       string
		err        error
		want       string
		goOn, fail bool
	}{
		{name: "no error, none wanted", goOn: true},
		{name: "error, none wanted", err: errors.New("boom"), fail: true},
		{name: "wanted error", err: errors.New("line 2: bad value"), want: "line 2"},
		{name: "other error", err: errors.New("line 3: bad value"), want: "line 2", fail: true},
		{name: "no error, one wanted", want: "line 2", fail: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := &recorder{TB: t}
			if goOn := wanterr.Check(r, tc.err, tc.want); goOn != tc.goOn || r.failed != tc.fail {
				t.Errorf("Check(%v, %q) = %v, failed %v; want %v, failed %v", tc.err, tc.want, goOn, r.failed, tc.goOn, tc.fail)
			}
		})
	}
}
