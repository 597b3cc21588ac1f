// Package files does the installer's file operations safely: atomic writes
// (shared/atomicfile: temporary file in the same directory, fsync, rename),
// backups before an edit, copies of executables that a running copy does not
// block, and the directories an install creates.
package files

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/sage-mcp/sage/shared/atomicfile"
)

// Exists reports whether path exists (a broken symlink counts).
func Exists(path string) bool {
	_, err := os.Lstat(path)
	return err == nil
}

// ReadOptional reads path; a missing file gives nil, false.
func ReadOptional(path string) ([]byte, bool, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, err
	}
	return b, true, nil
}

// WriteAtomic writes data to path through a temporary file in the same
// directory and a rename, so a reader never sees half a file. An existing
// file keeps its mode; a new one gets perm.
func WriteAtomic(path string, data []byte, perm fs.FileMode) error {
	if fi, err := os.Stat(path); err == nil {
		perm = fi.Mode().Perm()
	}
	if err := atomicfile.Write(path, data, perm); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

// Backup copies path into dir as <base>.<UTC time>.bak (mode 0600, dir
// 0700) and returns the copy's path; a missing path needs no backup ("").
func Backup(path, dir string) (string, error) {
	b, ok, err := ReadOptional(path)
	if err != nil || !ok {
		return "", err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", fmt.Errorf("backup %s: %w", path, err)
	}
	stamp := time.Now().UTC().Format("20060102T150405.000000000Z")
	dst := filepath.Join(dir, filepath.Base(path)+"."+stamp+".bak")
	if err := os.WriteFile(dst, b, 0o600); err != nil {
		return "", fmt.Errorf("backup %s: %w", path, err)
	}
	return dst, nil
}

// SameContent reports whether path exists with exactly the content of src.
func SameContent(src, path string) (bool, error) {
	a, err := os.ReadFile(src)
	if err != nil {
		return false, err
	}
	b, ok, err := ReadOptional(path)
	if err != nil || !ok {
		return false, err
	}
	return bytes.Equal(a, b), nil
}

// CopyExecutable copies src to dst with mode 0755 through a rename, so a
// running dst is replaced, not overwritten.
func CopyExecutable(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return fmt.Errorf("copy %s: %w", src, err)
	}
	defer in.Close()
	if err := atomicfile.WriteFrom(dst, in, 0o755); err != nil {
		return fmt.Errorf("copy to %s: %w", dst, err)
	}
	return nil
}

// MissingDirs returns dir and those of its parents that do not exist,
// outermost first: what MkdirAll(dir) would create.
func MissingDirs(dir string) []string {
	var out []string
	for d := filepath.Clean(dir); !Exists(d); {
		out = append([]string{d}, out...)
		p := filepath.Dir(d)
		if p == d {
			break
		}
		d = p
	}
	return out
}

// RemoveIfExists removes path; a missing path is not an error.
func RemoveIfExists(path string) error {
	if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return nil
}

// RemoveDirIfEmpty removes dir when it exists and is empty.
func RemoveDirIfEmpty(dir string) (bool, error) {
	ents, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	if len(ents) > 0 {
		return false, nil
	}
	return true, os.Remove(dir)
}
