package main

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

func TestSessionDefaults(t *testing.T) {
	root := t.TempDir()
	repo := filepath.Join(root, "sage-demo")
	sub := filepath.Join(repo, "pkg", "x")
	if err := os.MkdirAll(filepath.Join(repo, ".git"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(sub, 0o755); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name                 string
		env                  map[string]string
		wd                   string
		wdErr                error
		wantProject, wantSes string
	}{
		{"project dir and session", map[string]string{envProjectDir: sub, envSessionID: "abc"}, root, nil, "sage-demo", "abc"},
		{"working directory", map[string]string{}, sub, nil, "sage-demo", ""},
		{"project dir wins", map[string]string{envProjectDir: repo}, root, nil, "sage-demo", ""},
		{"nothing known", map[string]string{envSessionID: " s2 "}, "", errors.New("gone"), "", "s2"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p, s := sessionDefaults(func(k string) string { return tc.env[k] }, func() (string, error) { return tc.wd, tc.wdErr })
			if p != tc.wantProject || s != tc.wantSes {
				t.Errorf("sessionDefaults = %q, %q; want %q, %q", p, s, tc.wantProject, tc.wantSes)
			}
		})
	}
}
