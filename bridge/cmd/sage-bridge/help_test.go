package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

// TestServiceHelp: the service help lists its flags under "Flags", with
// argument names that read right.
func TestServiceHelp(t *testing.T) {
	tests := []struct {
		name     string
		args     []string
		wantCode int
	}{
		{"-h", []string{"-h"}, 0},
		{"help", []string{"help"}, 0},
		{"no action", nil, 2},
		{"install -h", []string{"install", "-h"}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out, errb bytes.Buffer
			code := runService(context.Background(), tt.args, strings.NewReader(""), &out, &errb)
			if code != tt.wantCode {
				t.Errorf("exit %d, want %d", code, tt.wantCode)
			}
			help := errb.String()
			for _, want := range []string{"-compose-dir DIR", `run "docker compose up -d" in DIR`, "-interval duration", "(default 30s)"} {
				if !strings.Contains(help, want) {
					t.Errorf("help lacks %q:\n%s", want, help)
				}
			}
			if strings.HasSuffix(strings.TrimSpace(help), "Flags (run, install):") {
				t.Errorf("help ends with an empty flag list:\n%s", help)
			}
		})
	}
}

// TestServiceFix: without a user service manager, the error leads with the
// fix; where one exists, the plain error stands.
func TestServiceFix(t *testing.T) {
	tests := []struct {
		platform string
		want     string
	}{
		{"unix-systemv", "--no-service"},
		{"linux-upstart", "--no-service"},
		{"linux-openrc", "--no-service"},
		{"linux-systemd", ""},
		{"darwin-launchd", ""},
		{"windows-service", ""},
	}
	for _, tt := range tests {
		got := serviceFix(tt.platform)
		if (tt.want == "") != (got == "") || !strings.Contains(got, tt.want) {
			t.Errorf("serviceFix(%q) = %q, want it to contain %q", tt.platform, got, tt.want)
		}
	}
}
