package files

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestWriteAtomicKeepsMode(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "settings.json")
	if err := WriteAtomic(p, []byte("a"), 0o600); err != nil {
		t.Fatal(err)
	}
	if fi, _ := os.Stat(p); fi.Mode().Perm() != 0o600 {
		t.Errorf("new file mode %v, want 0600", fi.Mode().Perm())
	}
	if err := os.Chmod(p, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := WriteAtomic(p, []byte("b"), 0o600); err != nil {
		t.Fatal(err)
	}
	fi, _ := os.Stat(p)
	if b, _ := os.ReadFile(p); string(b) != "b" || fi.Mode().Perm() != 0o644 {
		t.Errorf("rewrite: content %q mode %v", b, fi.Mode().Perm())
	}
	ents, _ := os.ReadDir(dir)
	if len(ents) != 1 {
		t.Errorf("temporary files left: %v", ents)
	}
}

func TestBackupAndCopy(t *testing.T) {
	dir := t.TempDir()
	src := filepath.Join(dir, "src")
	if err := os.WriteFile(src, []byte("bin"), 0o644); err != nil {
		t.Fatal(err)
	}
	bk, err := Backup(src, filepath.Join(dir, "backups"))
	if err != nil || !strings.HasPrefix(filepath.Base(bk), "src.") {
		t.Fatalf("Backup: %q %v", bk, err)
	}
	if b, _ := os.ReadFile(bk); string(b) != "bin" {
		t.Errorf("backup holds %q", b)
	}
	if bk, err := Backup(filepath.Join(dir, "missing"), dir); bk != "" || err != nil {
		t.Errorf("backup of a missing file: %q %v", bk, err)
	}
	dst := filepath.Join(dir, "dst")
	if same, err := SameContent(src, dst); same || err != nil {
		t.Fatalf("SameContent before copy: %v %v", same, err)
	}
	if err := CopyExecutable(src, dst); err != nil {
		t.Fatal(err)
	}
	fi, _ := os.Stat(dst)
	if same, _ := SameContent(src, dst); !same || fi.Mode().Perm() != 0o755 {
		t.Errorf("copy: same %v mode %v", same, fi.Mode().Perm())
	}
}

func TestMissingDirsAndRemove(t *testing.T) {
	dir := t.TempDir()
	deep := filepath.Join(dir, "a", "b", "c")
	got := MissingDirs(deep)
	want := []string{filepath.Join(dir, "a"), filepath.Join(dir, "a", "b"), deep}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Fatalf("MissingDirs = %v, want %v", got, want)
	}
	if err := os.MkdirAll(deep, 0o755); err != nil {
		t.Fatal(err)
	}
	if len(MissingDirs(deep)) != 0 {
		t.Error("MissingDirs of an existing dir is not empty")
	}
	if err := os.WriteFile(filepath.Join(deep, "f"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if removed, err := RemoveDirIfEmpty(deep); removed || err != nil {
		t.Errorf("non-empty dir: removed %v err %v", removed, err)
	}
	if err := RemoveIfExists(filepath.Join(deep, "f")); err != nil {
		t.Fatal(err)
	}
	if err := RemoveIfExists(filepath.Join(deep, "f")); err != nil {
		t.Errorf("second remove: %v", err)
	}
	if removed, err := RemoveDirIfEmpty(deep); !removed || err != nil {
		t.Errorf("empty dir: removed %v err %v", removed, err)
	}
}
