package main

import (
	"archive/tar"
	"archive/zip"
	"compress/gzip"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// MustArchive writes an archive (.zip or .tar.gz by its name) holding files
// under a top directory, as goreleaser does.
func MustArchive(t *testing.T, path string, files []string) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	top := strings.TrimSuffix(strings.TrimSuffix(filepath.Base(path), ".zip"), ".tar.gz") + "/"
	if strings.HasSuffix(path, ".zip") {
		z := zip.NewWriter(f)
		for _, name := range files {
			w, err := z.Create(top + name)
			if err != nil {
				t.Fatal(err)
			}
			w.Write([]byte("x"))
		}
		if err := z.Close(); err != nil {
			t.Fatal(err)
		}
		return
	}
	gz := gzip.NewWriter(f)
	tw := tar.NewWriter(gz)
	for _, name := range files {
		if err := tw.WriteHeader(&tar.Header{Name: top + name, Mode: 0o644, Size: 1}); err != nil {
			t.Fatal(err)
		}
		tw.Write([]byte("x"))
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := gz.Close(); err != nil {
		t.Fatal(err)
	}
}

// MustDist makes a complete fake dist/ and returns it; change edits the
// plan (archive name → files) before the archives are written.
func MustDist(t *testing.T, change func(archives map[string][]string)) string {
	t.Helper()
	dist := t.TempDir()
	archives := map[string][]string{}
	for pattern, files := range wantArchives() {
		archives[strings.Replace(pattern, "*", "1.2.3", 1)] = files
	}
	if change != nil {
		change(archives)
	}
	var sums strings.Builder
	for name, files := range archives {
		MustArchive(t, filepath.Join(dist, name), files)
		sums.WriteString("0123abcd  " + name + "\n")
	}
	if err := os.WriteFile(filepath.Join(dist, "checksums.txt"), []byte(sums.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	return dist
}

func TestCheck(t *testing.T) {
	tests := []struct {
		name    string
		change  func(map[string][]string)
		sums    func(string) string // rewrites checksums.txt
		wantErr string
	}{
		{name: "complete"},
		{name: "no installer in an archive", change: func(a map[string][]string) {
			a["sage_1.2.3_darwin_arm64.tar.gz"] = []string{"sage-bridge", "README.md"}
		}, wantErr: "sage_1.2.3_darwin_arm64.tar.gz has no sage-installer"},
		{name: "windows without .exe", change: func(a map[string][]string) {
			a["sage_1.2.3_windows_amd64.zip"] = []string{"sage-installer", "sage-bridge", "README.md"}
		}, wantErr: "has no sage-installer.exe"},
		{name: "daemon archive missing", change: func(a map[string][]string) {
			delete(a, "sage-daemon_1.2.3_linux_arm64.tar.gz")
		}, wantErr: "sage-daemon_*_linux_arm64.tar.gz: 0 archives, want 1"},
		{name: "two versions", change: func(a map[string][]string) {
			a["sage_1.2.4_linux_amd64.tar.gz"] = a["sage_1.2.3_linux_amd64.tar.gz"]
		}, wantErr: "sage_*_linux_amd64.tar.gz: 2 archives"},
		{name: "not in checksums", sums: func(s string) string {
			return strings.ReplaceAll(s, "sage_1.2.3_linux_amd64.tar.gz", "other")
		}, wantErr: "checksums.txt does not list sage_1.2.3_linux_amd64.tar.gz"},
		{name: "no checksums", sums: func(string) string { return "" }, wantErr: "no checksums"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dist := MustDist(t, tt.change)
			if tt.sums != nil {
				p := filepath.Join(dist, "checksums.txt")
				b, _ := os.ReadFile(p)
				if s := tt.sums(string(b)); s == "" {
					os.Remove(p)
				} else if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			var out strings.Builder
			err := check(dist, &out)
			if tt.wantErr == "" {
				if err != nil {
					t.Fatal(err)
				}
				if n := strings.Count(out.String(), "ok  "); n != 8 {
					t.Errorf("%d ok lines, want 8 (6 sage_, 2 sage-daemon_):\n%s", n, out.String())
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("check: %v, want %q", err, tt.wantErr)
			}
		})
	}
}

func TestNamesCorrupt(t *testing.T) {
	dir := t.TempDir()
	for _, name := range []string{"a.zip", "a.tar.gz"} {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte("not an archive"), 0o644); err != nil {
			t.Fatal(err)
		}
		if _, err := names(p); err == nil {
			t.Errorf("names(%s): no error", name)
		}
	}
}
