package installer

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sage-mcp/sage/testkit/wanterr"
)

func TestReadEnvTokenKeepsSecretsOutOfErrors(t *testing.T) {
	p := filepath.Join(t.TempDir(), ".env")
	if err := os.WriteFile(p, []byte("SAGE_TOKEN='supersecret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := ReadEnvToken(p)
	if err == nil || strings.Contains(err.Error(), "supersecret") {
		t.Fatalf("err %v", err)
	}
}

func TestOptions(t *testing.T) {
	env := map[string]string{"SAGE_URL": "http://10.0.0.1:17800", "SAGE_TOKEN": "envtok", "XDG_CONFIG_HOME": "/h/.config"}
	getenv := func(k string) string { return env[k] }
	tests := []struct {
		name    string
		o       Options
		goos    string
		check   func(o Options) string
		wantErr string
	}{
		{name: "defaults from env", goos: "linux", check: func(o Options) string {
			if o.URL != "http://10.0.0.1:17800/mcp" || o.Token != "envtok" || o.BinDir != "/h/.local/bin" || o.Mode != "stdio" {
				return "got " + o.URL + " " + o.BinDir + " " + o.Mode
			}
			return ""
		}},
		{name: "flags win", goos: "linux", o: Options{URL: "http://h:1/mcp", Token: "flagtok"}, check: func(o Options) string {
			if o.URL != "http://h:1/mcp" || o.Token != "flagtok" {
				return "got " + o.URL
			}
			return ""
		}},
		{name: "token file suppresses env token", goos: "linux", o: Options{TokenFile: "/t"}, check: func(o Options) string {
			if o.Token != "" {
				return "env token used despite --token-file"
			}
			return ""
		}},
		{name: "windows bin dir", goos: "windows", check: func(o Options) string {
			if !strings.HasSuffix(filepath.ToSlash(o.BinDir), "AppData/Local/Programs/Sage") || !strings.HasSuffix(o.BridgePath(), "sage-bridge.exe") {
				return "got " + o.BinDir
			}
			return ""
		}},
		{name: "bad mode", goos: "linux", o: Options{Mode: "smoke"}, wantErr: "--mode"},
		{name: "two tokens", goos: "linux", o: Options{Token: "a", EnvFile: "/e"}, wantErr: "at most one"},
		{name: "bad url", goos: "linux", o: Options{URL: "ftp://h"}, wantErr: "http"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := tt.o
			o.GOOS = tt.goos
			if err := o.Defaults("/h", getenv); err != nil {
				t.Fatal(err)
			}
			err := o.Validate()
			if !wanterr.Check(t, err, tt.wantErr) {
				return
			}
			if msg := tt.check(o); msg != "" {
				t.Error(msg)
			}
		})
	}
}

func TestPlanApply(t *testing.T) {
	var ran []string
	step := func(name string, err error) func(context.Context) error {
		return func(context.Context) error { ran = append(ran, name); return err }
	}
	p := &Plan{}
	p.Add("a", step("a", nil))
	p.AddOptional("b", step("b", errors.New("no user manager")))
	p.Add("c", step("c", errors.New("disk full")))
	p.Add("d", step("d", nil))
	var out strings.Builder
	err := p.Apply(context.Background(), &out)
	if err == nil || !strings.Contains(err.Error(), "c: disk full") {
		t.Fatalf("Apply: %v", err)
	}
	if strings.Join(ran, "") != "abc" {
		t.Errorf("ran %v, want a b c (optional failure continues, required failure stops)", ran)
	}
	if !strings.Contains(out.String(), "failed (continuing): b: no user manager") {
		t.Errorf("output:\n%s", out.String())
	}
	var dry strings.Builder
	ran = nil
	p.Print(&dry)
	if len(ran) != 0 || strings.Count(dry.String(), "would: ") != 4 {
		t.Errorf("Print ran steps or missed some:\n%s", dry.String())
	}
}

func TestPlural(t *testing.T) {
	tests := []struct {
		n    int
		want string
	}{{0, "0 turns"}, {1, "1 turn"}, {2, "2 turns"}}
	for _, tt := range tests {
		if got := Plural(tt.n, "turn", "turns"); got != tt.want {
			t.Errorf("Plural(%d) = %q, want %q", tt.n, got, tt.want)
		}
	}
}
