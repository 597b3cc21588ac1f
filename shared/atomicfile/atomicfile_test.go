package atomicfile

import (
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// MustDirNames returns the names of the entries of dir.
func MustDirNames(t *testing.T, dir string) []string {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	return names
}

// TestWrite: a new file and a replaced one get exactly the content and the
// mode asked for, and no temporary file stays.
func TestWrite(t *testing.T) {
	tests := []struct {
		name string
		old  string // "" for no file yet
		data string
		perm fs.FileMode
	}{
		{"new", "", "hello\n", 0o600},
		{"replace", "old content, longer than the new\n", "new\n", 0o644},
		{"empty", "x", "", 0o755},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			p := filepath.Join(dir, "f.json")
			if tt.old != "" {
				if err := os.WriteFile(p, []byte(tt.old), 0o666); err != nil {
					t.Fatal(err)
				}
			}
			if err := Write(p, []byte(tt.data), tt.perm); err != nil {
				t.Fatal(err)
			}
			got, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tt.data {
				t.Errorf("content %q, want %q", got, tt.data)
			}
			fi, err := os.Stat(p)
			if err != nil {
				t.Fatal(err)
			}
			if runtime.GOOS != "windows" && fi.Mode().Perm() != tt.perm {
				t.Errorf("mode %v, want %v", fi.Mode().Perm(), tt.perm)
			}
			if names := MustDirNames(t, dir); len(names) != 1 || names[0] != "f.json" {
				t.Errorf("directory holds %q, want only f.json", names)
			}
		})
	}
}

type failingReader struct{ err error }

func (r failingReader) Read([]byte) (int, error) { return 0, r.err }

// TestWriteFromFailureKeepsOld: when the content cannot be read, or the
// directory does not exist, the old file stays as it was, the error is the
// cause, and no temporary file stays.
func TestWriteFromFailureKeepsOld(t *testing.T) {
	boom := errors.New("boom")
	tests := []struct {
		name    string
		sub     string // directory below the test's, "" for the test's own
		r       io.Reader
		wantErr error
	}{
		{"read fails", "", io.MultiReader(strings.NewReader("half"), failingReader{boom}), boom},
		{"no directory", "missing", strings.NewReader("x"), fs.ErrNotExist},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			p := filepath.Join(dir, "f")
			if err := os.WriteFile(p, []byte("old"), 0o600); err != nil {
				t.Fatal(err)
			}
			target := p
			if tt.sub != "" {
				target = filepath.Join(dir, tt.sub, "f")
			}
			err := WriteFrom(target, tt.r, 0o600)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
			if got, _ := os.ReadFile(p); string(got) != "old" {
				t.Errorf("old file now holds %q", got)
			}
			if names := MustDirNames(t, dir); len(names) != 1 || names[0] != "f" {
				t.Errorf("directory holds %q, want only f", names)
			}
		})
	}
}
