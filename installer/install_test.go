package installer

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// MustOptions are Options for a fresh temporary home: no environment is
// read, the daemon's URL refuses connections, no service, the JSON
// registration, and a stand-in sage-bridge to install.
func MustOptions(t *testing.T) *Options {
	t.Helper()
	dir := t.TempDir()
	home := filepath.Join(dir, "home")
	bridge := filepath.Join(dir, "dist", BridgeName)
	if err := os.MkdirAll(filepath.Dir(bridge), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(bridge, []byte("#!/bin/sh\necho stand-in\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(home, 0o755); err != nil {
		t.Fatal(err)
	}
	// Every path inside home, given or derived from env: nothing reaches
	// the real user directories (config.PathFrom and os.UserConfigDir read
	// the process's environment, hence SAGE_CONFIG and the Setenv).
	env := map[string]string{
		"SAGE_CONFIG":     filepath.Join(home, ".config", "sage", "config.json"),
		"XDG_CONFIG_HOME": filepath.Join(home, ".config"),
		"XDG_CACHE_HOME":  filepath.Join(home, ".cache"),
	}
	for k, v := range env {
		t.Setenv(k, v)
	}
	t.Setenv("HOME", home)
	o := &Options{GOOS: "linux", Bridge: bridge, URL: "http://127.0.0.1:1", Token: "tok_0123456789abcdef", Claude: ClaudeNone, NoService: true}
	if err := o.Defaults(home, func(k string) string { return env[k] }); err != nil {
		t.Fatal(err)
	}
	if err := o.Validate(); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{o.ConfigPath, o.StateDir, o.CacheDir, o.BinDir, o.ClaudePaths.ConfigJSON, o.ClaudePaths.Settings} {
		if !strings.HasPrefix(p, home+string(filepath.Separator)) {
			t.Fatalf("%s is outside the test's home %s", p, home)
		}
	}
	return o
}

// descs lists the descriptions of p's steps.
func descs(p *Plan) string {
	var d []string
	for _, s := range p.Steps {
		d = append(d, s.Desc)
	}
	return strings.Join(d, "\n")
}

// TestPlanInstallAndUninstall: PlanInstall plans every change without
// making one, applying it installs, a second plan is empty, and
// PlanUninstall takes it all away again.
func TestPlanInstallAndUninstall(t *testing.T) {
	ctx := context.Background()
	o := MustOptions(t)
	p, err := PlanInstall(ctx, o)
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Warnings) != 1 || !strings.Contains(p.Warnings[0], "NOT checked") {
		t.Errorf("warnings (the daemon is down): %q", p.Warnings)
	}
	for _, want := range []string{
		"create directory " + o.BinDir,
		"install " + o.BridgePath() + " (from " + o.Bridge + ")",
		"link " + o.ManagePath() + " -> sage-bridge",
		"write client config " + o.ConfigPath,
		"register Sage (stdio) in " + o.ClaudePaths.ConfigJSON,
		"add Sage's hooks to " + o.ClaudePaths.Settings,
		"record the install in " + o.ManifestPath(),
	} {
		if !strings.Contains(descs(p), want) {
			t.Errorf("plan lacks %q:\n%s", want, descs(p))
		}
	}
	if _, err := os.Stat(o.BinDir); err == nil {
		t.Fatal("planning created the bin directory")
	}
	var out strings.Builder
	if err := p.Apply(ctx, &out); err != nil {
		t.Fatalf("apply: %v\n%s", err, out.String())
	}
	if target, err := os.Readlink(o.ManagePath()); err != nil || target != BridgeName {
		t.Errorf("sage_manage -> %q, %v", target, err)
	}
	if p, err = PlanInstall(ctx, o); err != nil || len(p.Steps) != 0 {
		t.Fatalf("second plan: %v\n%s", err, descs(p))
	}

	u, err := PlanUninstall(ctx, o)
	if err != nil {
		t.Fatal(err)
	}
	if err := u.Apply(ctx, &out); err != nil {
		t.Fatalf("apply uninstall: %v\n%s", err, out.String())
	}
	for _, gone := range []string{o.BridgePath(), o.ManagePath(), o.ConfigPath, o.ClaudePaths.ConfigJSON, o.ClaudePaths.Settings, o.ManifestPath(), o.BinDir} {
		if _, err := os.Lstat(gone); err == nil {
			t.Errorf("%s left after uninstall", gone)
		}
	}
}

// TestPlanUninstallWithoutManifest keeps every file it cannot prove install
// created, and says so.
func TestPlanUninstallWithoutManifest(t *testing.T) {
	o := MustOptions(t)
	if err := os.MkdirAll(filepath.Dir(o.ConfigPath), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(o.ConfigPath, []byte(`{"url":"http://127.0.0.1:1/mcp"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	p, err := PlanUninstall(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	notes := strings.Join(p.Notes, "\n")
	for _, want := range []string{"No install manifest", "Kept the client config " + o.ConfigPath} {
		if !strings.Contains(notes, want) {
			t.Errorf("notes lack %q:\n%s", want, notes)
		}
	}
	if strings.Contains(descs(p), o.ConfigPath) {
		t.Errorf("uninstall without a manifest touches the client config:\n%s", descs(p))
	}
}

func TestPathHint(t *testing.T) {
	tests := []struct {
		dir, path, shell, goos, want string
	}{
		{"/h/.local/bin", "/usr/bin:/h/.local/bin", "/bin/bash", "linux", ""},
		{"/h/.local/bin", "/usr/bin", "/bin/bash", "linux", "echo 'export PATH=/h/.local/bin:$PATH' >> ~/.bashrc"},
		{"/h/.local/bin", "/usr/bin", "/usr/bin/zsh", "darwin", ">> ~/.zshrc"},
		{"/h/my bin", "/usr/bin", "/usr/bin/fish", "linux", "fish_add_path '/h/my bin'"},
		{`C:\Users\u\AppData\Local\Programs\Sage`, `C:\Windows`, "", "windows", "[Environment]::SetEnvironmentVariable('Path', 'C:\\Users\\u\\AppData\\Local\\Programs\\Sage;'"},
	}
	for _, tt := range tests {
		got := PathHint(tt.dir, tt.path, tt.shell, tt.goos)
		if (tt.want == "") != (got == "") || !strings.Contains(got, tt.want) {
			t.Errorf("PathHint(%q, %q, %q): %q, want it to contain %q", tt.dir, tt.path, tt.shell, got, tt.want)
		}
	}
}
