package main

import (
	"strings"
	"testing"
)

// TestHelp: every command's -h exits 0 and names each flag's argument
// sensibly (flag.PrintDefaults takes a backquoted word of the usage as the
// argument's name).
func TestHelp(t *testing.T) {
	tests := []struct {
		cmd  string
		want []string
	}{
		{"install", []string{"-compose-dir DIR", `have the service run "docker compose up -d" in DIR at login`, "-token string", "-token-file string", "-env-file string", "-no-service"}},
		{"uninstall", []string{"-purge", "-dry-run"}},
		{"status", []string{"-url string", "-no-service"}},
	}
	for _, tt := range tests {
		t.Run(tt.cmd, func(t *testing.T) {
			out, errs, code := run(t, tt.cmd, "-h")
			if code != 0 {
				t.Fatalf("exit %d", code)
			}
			help := out + errs
			for _, w := range tt.want {
				if !strings.Contains(help, w) {
					t.Errorf("help lacks %q:\n%s", w, help)
				}
			}
			if strings.Contains(help, "-compose-dir docker") {
				t.Errorf("a backquoted phrase became an argument name:\n%s", help)
			}
		})
	}
}
