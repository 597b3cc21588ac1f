package main

import (
	"archive/tar"
	"archive/zip"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
)

// wantArchives maps each archive's glob (in dist) to the files it must hold.
func wantArchives() map[string][]string {
	want := map[string][]string{}
	for _, goos := range []string{"linux", "darwin", "windows"} {
		for _, arch := range []string{"amd64", "arm64"} {
			exe, ext := "", ".tar.gz"
			if goos == "windows" {
				exe, ext = ".exe", ".zip"
			}
			want["sage_*_"+goos+"_"+arch+ext] = []string{"sage-installer" + exe, "sage-bridge" + exe, "README.md"}
			if goos == "linux" {
				want["sage-daemon_*_"+goos+"_"+arch+ext] = []string{"sage-daemon", "docker-compose.yml", ".env.example"}
			}
		}
	}
	return want
}

// check checks the archives in dist and writes one "ok" line per archive to
// w. It returns the first problem.
func check(dist string, w io.Writer) error {
	sums, err := os.ReadFile(filepath.Join(dist, "checksums.txt"))
	if err != nil {
		return fmt.Errorf("no checksums: %w", err)
	}
	want := wantArchives()
	patterns := make([]string, 0, len(want))
	for p := range want {
		patterns = append(patterns, p)
	}
	sort.Strings(patterns)
	for _, pattern := range patterns {
		m, _ := filepath.Glob(filepath.Join(dist, pattern))
		if len(m) != 1 {
			return fmt.Errorf("%s: %d archives, want 1", pattern, len(m))
		}
		base := filepath.Base(m[0])
		got, err := names(m[0])
		if err != nil {
			return fmt.Errorf("%s: %w", m[0], err)
		}
		for _, f := range want[pattern] {
			if !slices.Contains(got, f) {
				return fmt.Errorf("%s has no %s (it has %v)", base, f, got)
			}
		}
		if !strings.Contains(string(sums), base) {
			return fmt.Errorf("checksums.txt does not list %s", base)
		}
		fmt.Fprintf(w, "ok  %s: %v\n", base, got)
	}
	return nil
}

// names lists the base names of the files in a .zip or .tar.gz archive.
func names(path string) ([]string, error) {
	if strings.HasSuffix(path, ".zip") {
		z, err := zip.OpenReader(path)
		if err != nil {
			return nil, err
		}
		defer z.Close()
		var out []string
		for _, f := range z.File {
			out = append(out, filepath.Base(f.Name))
		}
		return out, nil
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	gz, err := gzip.NewReader(f)
	if err != nil {
		return nil, err
	}
	var out []string
	tr := tar.NewReader(gz)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return nil, err
		}
		out = append(out, filepath.Base(h.Name))
	}
}
