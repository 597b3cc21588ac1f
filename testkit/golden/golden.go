// Package golden compares a test's output with a file under testdata/, like
// litestream's cmd tests: run the tests with -update (or SAGE_UPDATE_GOLDEN=1)
// to rewrite the files after a deliberate change, then read the diff.
package golden

import (
	"flag"
	"os"
	"path/filepath"
	"testing"
)

// update rewrites the golden files instead of comparing with them.
var update = flag.Bool("update", false, "rewrite testdata/*.golden with the output the tests get")

// Dir is where the golden files live, relative to the package under test.
const Dir = "testdata"

// Updating reports whether Assert rewrites the golden files: the test binary
// ran with -update or with SAGE_UPDATE_GOLDEN=1 in its environment.
func Updating() bool {
	return *update || os.Getenv("SAGE_UPDATE_GOLDEN") == "1"
}

// Assert compares got with testdata/<name>.golden and fails t, showing both,
// when they differ; while Updating it writes got to the file instead.
func Assert(t testing.TB, name, got string) {
	t.Helper()
	path := filepath.Join(Dir, name+".golden")
	if Updating() {
		if err := os.MkdirAll(Dir, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (go test -run '%s' -update creates it)", err, t.Name())
	}
	if got != string(want) {
		t.Errorf("output differs from %s (go test -run '%s' -update rewrites it after a deliberate change)\n--- got\n%s\n--- want\n%s", path, t.Name(), got, want)
	}
}
