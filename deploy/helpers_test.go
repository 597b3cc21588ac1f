package deploy_test

import (
	"os"
	"path/filepath"
	"testing"
)

// mustRepoRoot returns the checkout's top directory (the one with go.work).
func mustRepoRoot(t testing.TB) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.work")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("no go.work above the working directory")
		}
		dir = parent
	}
}

// mustReadFile reads a file of the repository.
func mustReadFile(t testing.TB, rel string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(mustRepoRoot(t), rel))
	if err != nil {
		t.Fatalf("read %s: %v", rel, err)
	}
	return b
}

// mustCopyFiles copies repository files (relative paths) into dir.
func mustCopyFiles(t testing.TB, dir string, rels ...string) {
	t.Helper()
	for _, rel := range rels {
		if err := os.WriteFile(filepath.Join(dir, filepath.Base(rel)), mustReadFile(t, rel), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}
