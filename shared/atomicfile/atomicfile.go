// Package atomicfile replaces a file in one step: the content goes to a
// temporary file in the same directory, which gets its mode, is synced to
// disk and renamed over the target. A reader sees the old file or the new
// one, never half of one, and a failure leaves the old file as it was and
// no temporary file behind.
package atomicfile

import (
	"bytes"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
)

// Write replaces path with data, with mode perm.
func Write(path string, data []byte, perm fs.FileMode) error {
	return WriteFrom(path, bytes.NewReader(data), perm)
}

// WriteFrom replaces path with what r yields up to EOF, with mode perm. The
// errors are the file system's, unwrapped: the caller says what it was
// doing.
func WriteFrom(path string, r io.Reader, perm fs.FileMode) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return err
	}
	name := tmp.Name()
	defer os.Remove(name) // no-op after the rename
	if err := fill(tmp, r, perm); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(name, path)
}

// fill gives f its mode and content, and syncs it.
func fill(f *os.File, r io.Reader, perm fs.FileMode) error {
	// Windows has no Unix permission bits to set; its Chmod may fail.
	if err := f.Chmod(perm); err != nil && runtime.GOOS != "windows" {
		return err
	}
	if _, err := io.Copy(f, r); err != nil {
		return err
	}
	return f.Sync()
}
