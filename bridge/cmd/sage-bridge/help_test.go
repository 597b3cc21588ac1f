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
