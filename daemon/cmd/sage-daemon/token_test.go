package main

import (
	"bytes"
	"context"
	"os"
	"strings"
	"testing"

	"github.com/sage-mcp/sage/daemon/admintoken"
)

// TestTokenShowSaysWhere: token show without a token file names the path
// it read, how to point it at the daemon's data directory, and the Docker
// Compose way.
func TestTokenShowSaysWhere(t *testing.T) {
	dir := t.TempDir()
	withToken := t.TempDir()
	if err := os.WriteFile(admintoken.Path(withToken), []byte("sage_secret-value\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		env    map[string]string
		args   []string
		code   int
		stdout string
		stderr []string
	}{
		{"missing, env", map[string]string{"SAGE_DATA_DIR": dir}, nil, 1, "", []string{
			admintoken.Path(dir), "SAGE_DATA_DIR", "--data-dir", "SAGE_TOKEN is unset",
			"docker compose exec sage sage-daemon token show", "token issue"}},
		{"missing, flag", nil, []string{"--data-dir", dir}, 1, "", []string{admintoken.Path(dir), "SAGE_DATA_DIR"}},
		{"present", map[string]string{"SAGE_DATA_DIR": withToken}, nil, 0, "sage_secret-value\n", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out, errOut bytes.Buffer
			e := &env{stdout: &out, stderr: &errOut, getenv: func(k string) string { return tt.env[k] }}
			code := run(context.Background(), e, append([]string{"token", "show"}, tt.args...))
			if code != tt.code || out.String() != tt.stdout {
				t.Fatalf("code %d, stdout %q, stderr %q", code, out.String(), errOut.String())
			}
			for _, w := range tt.stderr {
				if !strings.Contains(errOut.String(), w) {
					t.Errorf("stderr %q lacks %q", errOut.String(), w)
				}
			}
		})
	}
}
