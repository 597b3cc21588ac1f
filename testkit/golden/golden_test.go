package golden

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// recorder is a testing.TB that records failures instead of failing.
type recorder struct {
	testing.TB
	errors []string
	fatal  bool
}

func (r *recorder) Helper()      {}
func (r *recorder) Name() string { return "TestX" }
func (r *recorder) Errorf(format string, a ...any) {
	r.errors = append(r.errors, fmt.Sprintf(format, a...))
}

func (r *recorder) Fatalf(format string, a ...any) {
	r.Errorf(format, a...)
	r.fatal = true
}

func (r *recorder) Fatal(a ...any) {
	r.errors = append(r.errors, fmt.Sprint(a...))
	r.fatal = true
}

func TestAssert(t *testing.T) {
	t.Chdir(t.TempDir())
	t.Setenv("SAGE_UPDATE_GOLDEN", "")
	if err := os.MkdirAll(Dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(Dir, "out.golden"), []byte("hello\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, file, got string
		fatal           bool
		want            string // in the failure; "" means no failure
	}{
		{name: "same", file: "out", got: "hello\n"},
		{name: "differs", file: "out", got: "bye\n", want: "--- got\nbye\n\n--- want\nhello\n"},
		{name: "missing", file: "none", got: "x", fatal: true, want: "-update creates it"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := &recorder{TB: t}
			Assert(r, tt.file, tt.got)
			msg := strings.Join(r.errors, "\n")
			if tt.want == "" {
				if msg != "" {
					t.Fatalf("Assert failed: %s", msg)
				}
				return
			}
			if !strings.Contains(msg, tt.want) || r.fatal != tt.fatal {
				t.Errorf("failure %q (fatal %v); want %q (fatal %v)", msg, r.fatal, tt.want, tt.fatal)
			}
		})
	}
}

func TestAssertUpdate(t *testing.T) {
	t.Chdir(t.TempDir())
	t.Setenv("SAGE_UPDATE_GOLDEN", "1")
	r := &recorder{TB: t}
	Assert(r, "new", "fresh output\n")
	if len(r.errors) > 0 {
		t.Fatalf("update failed: %v", r.errors)
	}
	b, err := os.ReadFile(filepath.Join(Dir, "new.golden"))
	if err != nil || string(b) != "fresh output\n" {
		t.Fatalf("golden file after update: %q, %v", b, err)
	}
}
