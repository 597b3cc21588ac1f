package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sage-mcp/sage/installer/claude"
	"github.com/sage-mcp/sage/shared/claudehooks"
	"github.com/sage-mcp/sage/shared/config"
)

// testHome is a temporary home: HOME and the XDG directories point into it
// (for this process and every child), and no SAGE_ or CLAUDE_ variable of
// the developer's environment leaks in.
type testHome struct {
	Dir    string
	Bridge string // a stand-in sage-bridge to install
}

func (h testHome) path(rel string) string { return filepath.Join(h.Dir, filepath.FromSlash(rel)) }

func MustHome(t *testing.T) testHome {
	t.Helper()
	dir := t.TempDir()
	home := filepath.Join(dir, "home")
	if err := os.Mkdir(home, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("HOME", home)
	t.Setenv("USERPROFILE", home)
	t.Setenv("XDG_CONFIG_HOME", filepath.Join(home, ".config"))
	t.Setenv("XDG_CACHE_HOME", filepath.Join(home, ".cache"))
	t.Setenv("XDG_DATA_HOME", filepath.Join(home, ".local", "share"))
	t.Setenv("SHELL", "/bin/bash")
	for _, k := range []string{"SAGE_URL", "SAGE_TOKEN", "SAGE_TOKEN_FILE", "SAGE_CONFIG", "SAGE_BIN_DIR",
		"SAGE_CLAUDE", "SAGE_COMPOSE_DIR", "SAGE_ENV_FILE", "CLAUDE_CONFIG_DIR", "SAGE_OUTBOX_DIR", "SAGE_CACHE_DIR"} {
		t.Setenv(k, "")
		os.Unsetenv(k)
	}
	bridge := filepath.Join(dir, "dist", "sage-bridge")
	MustWrite(t, bridge, "#!/bin/sh\necho stand-in sage-bridge\n", 0o755)
	return testHome{Dir: home, Bridge: bridge}
}

func MustWrite(t *testing.T, path, content string, perm fs.FileMode) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), perm); err != nil {
		t.Fatal(err)
	}
}

func MustRead(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// MustSageHooks reads the settings.json in h and fails t unless it holds
// exactly one Sage hook for each event Sage uses; it returns the file.
func MustSageHooks(t *testing.T, h testHome) string {
	t.Helper()
	settings := MustRead(t, h.path(".claude/settings.json"))
	doc, err := claude.ParseDoc("settings.json", []byte(settings))
	if err != nil {
		t.Fatal(err)
	}
	n, _ := claude.CountHooks(doc)
	for _, ev := range claudehooks.Events {
		if n[ev] != 1 {
			t.Errorf("settings.json: %d Sage hooks for %s:\n%s", n[ev], ev, settings)
		}
	}
	return settings
}

// run runs sage-installer in this process.
func run(t *testing.T, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	var out, errb bytes.Buffer
	code = Run(context.Background(), append([]string{"sage-installer"}, args...), &out, &errb)
	return out.String(), errb.String(), code
}

func MustRun(t *testing.T, args ...string) string {
	t.Helper()
	out, errs, code := run(t, args...)
	if code != 0 {
		t.Fatalf("sage-installer %s: exit %d\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), code, out, errs)
	}
	return out
}

// entry is one path of a snapshot.
type entry struct {
	Kind    string // "file", "dir", "link"
	Hash    string // file content hash or link target
	Mode    fs.FileMode
	ModTime time.Time
}

// snapshot records every path under root.
func snapshot(t *testing.T, root string) map[string]entry {
	t.Helper()
	out := map[string]entry{}
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		fi, err := os.Lstat(p)
		if err != nil {
			return err
		}
		e := entry{Mode: fi.Mode(), ModTime: fi.ModTime()}
		switch {
		case fi.Mode()&fs.ModeSymlink != 0:
			e.Kind = "link"
			e.Hash, _ = os.Readlink(p)
		case fi.IsDir():
			e.Kind, e.ModTime = "dir", time.Time{} // a dir's mtime moves with its entries
		default:
			e.Kind = "file"
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			s := sha256.Sum256(b)
			e.Hash = hex.EncodeToString(s[:])
		}
		out[rel] = e
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// diff describes how two snapshots differ; "" when equal. withTimes
// compares modification times too.
func diff(a, b map[string]entry, withTimes bool) string {
	var d []string
	for k, ea := range a {
		eb, ok := b[k]
		switch {
		case !ok:
			d = append(d, "gone: "+k)
		case ea.Kind != eb.Kind || ea.Hash != eb.Hash || ea.Mode != eb.Mode:
			d = append(d, "changed: "+k)
		case withTimes && !ea.ModTime.Equal(eb.ModTime):
			d = append(d, "touched: "+k)
		}
	}
	for k := range b {
		if _, ok := a[k]; !ok {
			d = append(d, "new: "+k)
		}
	}
	return strings.Join(d, "\n")
}

// preexisting Claude Code files for the scenarios.
const (
	userSettings = `{
  "model": "opus",
  "hooks": {
    "PostToolUse": [
      {
        "matcher": "Write|Edit",
        "hooks": [
          {
            "type": "command",
            "command": "npx prettier --write && echo <ok>"
          }
        ]
      }
    ],
    "Stop": [
      {
        "matcher": "",
        "hooks": [
          {
            "type": "command",
            "command": "notify-send 'done'"
          }
        ]
      }
    ]
  },
  "someFutureSetting": {
    "nested": [
      1,
      2.50,
      "\u00e9"
    ]
  }
}`
	userClaudeJSON = `{
  "numStartups": 12,
  "userID": "abc",
  "mcpServers": {
    "github": {
      "type": "http",
      "url": "https://example.invalid/mcp"
    }
  },
  "projects": {
    "/home/u/src": {
      "allowedTools": []
    }
  }
}`
)

func TestInstallIdempotentAndUninstallRestores(t *testing.T) {
	tests := []struct {
		name  string
		files map[string]string // relative to home
	}{
		{"no files before", nil},
		{"user settings and other servers", map[string]string{
			".claude/settings.json": userSettings,
			".claude.json":          userClaudeJSON,
		}},
		{"existing client config", map[string]string{
			".config/sage/config.json": "{\n  \"url\": \"http://10.0.0.5:17800/mcp\",\n  \"mine\": true\n}\n",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := MustHome(t)
			for rel, content := range tt.files {
				perm := fs.FileMode(0o644) // Claude Code's files: the mode must survive
				if strings.Contains(rel, "sage/") {
					perm = 0o600 // the client config is always 0600
				}
				MustWrite(t, h.path(rel), content, perm)
			}
			before := snapshot(t, h.Dir)
			args := []string{"install", "--bridge", h.Bridge, "--claude", "none", "--no-service", "--token", "tok_123"}

			out := MustRun(t, args...)
			if !strings.Contains(out, "not on PATH") || !strings.Contains(out, "export PATH=") {
				t.Errorf("no PATH fix printed:\n%s", out)
			}
			// The binaries.
			if MustRead(t, h.path(".local/bin/sage-bridge")) != MustRead(t, h.Bridge) {
				t.Error("sage-bridge not copied")
			}
			if target, err := os.Readlink(h.path(".local/bin/sage_manage")); err != nil || target != "sage-bridge" {
				t.Errorf("sage_manage: link %q, %v", target, err)
			}
			// The client config, mode 0600.
			cfgPath := h.path(".config/sage/config.json")
			if fi, err := os.Stat(cfgPath); err != nil || fi.Mode().Perm() != 0o600 {
				t.Fatalf("config: %v, %v", fi, err)
			}
			f, err := config.Load(cfgPath)
			if err != nil {
				t.Fatal(err)
			}
			if f.URL != config.DefaultURL || f.Token != "tok_123" {
				t.Errorf("config url %q token set %v", f.URL, f.Token == "tok_123")
			}
			// The registration and the hooks.
			cj := MustRead(t, h.path(".claude.json"))
			doc, err := claude.ParseDoc(".claude.json", []byte(cj))
			if err != nil {
				t.Fatal(err)
			}
			entry, ok, err := claude.Server(doc, "sage")
			if err != nil || !ok {
				t.Fatalf("no mcpServers.sage: %v\n%s", err, cj)
			}
			var e claude.StdioServer
			if err := json.Unmarshal(entry, &e); err != nil || e.Type != "stdio" || e.Command != h.path(".local/bin/sage-bridge") {
				t.Errorf("mcpServers.sage = %s", entry)
			}
			settings := MustSageHooks(t, h)
			for rel, content := range tt.files {
				if !strings.HasSuffix(rel, ".json") || strings.Contains(rel, "sage/") {
					continue
				}
				// Everything the user had is still there.
				var old, now map[string]any
				_ = json.Unmarshal([]byte(content), &old)
				_ = json.Unmarshal([]byte(MustRead(t, h.path(rel))), &now)
				for k := range old {
					if _, ok := now[k]; !ok {
						t.Errorf("%s lost key %q", rel, k)
					}
				}
			}
			if strings.Contains(settings, "npx prettier") != (tt.files[".claude/settings.json"] != "") {
				t.Error("user hook lost")
			}

			// A second install changes nothing, not even a modification time.
			installed := snapshot(t, h.Dir)
			out = MustRun(t, args...)
			if !strings.Contains(out, "nothing to change") {
				t.Errorf("second install:\n%s", out)
			}
			if d := diff(installed, snapshot(t, h.Dir), true); d != "" {
				t.Fatalf("second install changed files:\n%s", d)
			}

			// Uninstall restores every file Sage edited.
			MustRun(t, "uninstall", "--claude", "none", "--no-service")
			after := snapshot(t, h.Dir)
			for rel := range tt.files {
				if before[rel].Hash != after[rel].Hash {
					t.Errorf("%s not restored:\n%s", rel, MustRead(t, h.path(rel)))
				}
			}
			for _, rel := range []string{".local/bin/sage-bridge", ".local/bin/sage_manage"} {
				if _, ok := after[rel]; ok {
					t.Errorf("%s left after uninstall", rel)
				}
			}
			// While backups are kept, the record only lists directories.
			if _, ok := after[".config/sage/installer/state.json"]; ok {
				if st := MustRead(t, h.path(".config/sage/installer/state.json")); strings.Contains(st, "sage-bridge") || strings.Contains(st, ".json\"") {
					t.Errorf("record after uninstall lists files:\n%s", st)
				}
			}
			// --purge also removes the backups: the home is as before.
			MustRun(t, "uninstall", "--claude", "none", "--no-service", "--purge")
			final := snapshot(t, h.Dir)
			if d := diff(before, final, false); d != "" {
				t.Fatalf("home after uninstall --purge differs from before install:\n%s", d)
			}
		})
	}
}

func TestInstallRefusesMalformedFiles(t *testing.T) {
	tests := []struct {
		name, rel, content, wantErr string
	}{
		{"broken claude.json", ".claude.json", `{"numStartups": 3,`, ".claude.json"},
		{"claude.json not an object", ".claude.json", `[1,2]`, "not an object"},
		{"broken settings", ".claude/settings.json", "{\n  \"hooks\": {\n", "settings.json"},
		{"hooks of the wrong type", ".claude/settings.json", `{"hooks": []}`, "hooks"},
		{"mcpServers of the wrong type", ".claude.json", `{"mcpServers": "x"}`, "mcpServers"},
		{"broken client config", ".config/sage/config.json", `{"url": 5}`, "config.json"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := MustHome(t)
			MustWrite(t, h.path(tt.rel), tt.content, 0o644)
			before := snapshot(t, h.Dir)
			_, errs, code := run(t, "install", "--bridge", h.Bridge, "--claude", "none", "--no-service", "--token", "t")
			if code == 0 {
				t.Fatal("install succeeded on a malformed file")
			}
			if !strings.Contains(errs, tt.wantErr) {
				t.Errorf("error does not name the problem (%q):\n%s", tt.wantErr, errs)
			}
			if d := diff(before, snapshot(t, h.Dir), true); d != "" {
				t.Fatalf("a refused install changed files:\n%s", d)
			}
		})
	}
}

func TestDryRunChangesNothing(t *testing.T) {
	h := MustHome(t)
	MustWrite(t, h.path(".claude/settings.json"), userSettings, 0o644)
	before := snapshot(t, h.Dir)
	out := MustRun(t, "install", "--dry-run", "--bridge", h.Bridge, "--claude", "none", "--token", "secret_tok", "--compose-dir", h.Dir)
	if d := diff(before, snapshot(t, h.Dir), true); d != "" {
		t.Fatalf("dry run changed files:\n%s", d)
	}
	for _, want := range []string{
		"would: create directory " + h.path(".local/bin"),
		"would: install " + h.path(".local/bin/sage-bridge"),
		"would: link " + h.path(".local/bin/sage_manage"),
		"would: write client config " + h.path(".config/sage/config.json"),
		"would: register Sage (stdio) in " + h.path(".claude.json"),
		"would: add Sage's hooks to " + h.path(".claude/settings.json"),
		"would: install and start the user service: " + h.path(".local/bin/sage-bridge") + " service install --compose-dir " + h.Dir,
		"would: record the install in ",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("dry run does not list %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "secret_tok") {
		t.Error("dry run printed the token")
	}

	// After a real install, a dry-run uninstall lists and changes nothing.
	MustRun(t, "install", "--bridge", h.Bridge, "--claude", "none", "--no-service", "--token", "secret_tok")
	installed := snapshot(t, h.Dir)
	out = MustRun(t, "uninstall", "--dry-run", "--claude", "none", "--no-service")
	if d := diff(installed, snapshot(t, h.Dir), true); d != "" {
		t.Fatalf("dry-run uninstall changed files:\n%s", d)
	}
	for _, want := range []string{"would: remove Sage's hooks from", "would: remove mcpServers.sage from", "would: remove " + h.path(".local/bin/sage-bridge")} {
		if !strings.Contains(out, want) {
			t.Errorf("dry-run uninstall does not list %q:\n%s", want, out)
		}
	}
}

func TestTokenSources(t *testing.T) {
	h := MustHome(t)
	tokFile := h.path("daemon/token")
	MustWrite(t, tokFile, "tok_from_file\n", 0o600)
	envFile := h.path("compose/.env")
	MustWrite(t, envFile, "# compose\nPOSTGRES_PASSWORD=x\nexport SAGE_TOKEN=\"tok_from_env\" \n", 0o600)
	cfgPath := h.path(".config/sage/config.json")
	base := []string{"install", "--bridge", h.Bridge, "--claude", "none", "--no-service", "--no-hooks"}

	MustRun(t, append(base, "--token-file", tokFile, "--url", "http://127.0.0.1:9999")...)
	f, err := config.Load(cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	if f.TokenFile != tokFile || f.Token != "" || f.URL != "http://127.0.0.1:9999/mcp" {
		t.Errorf("--token-file: config token_file %q token set %v url %q", f.TokenFile, f.Token != "", f.URL)
	}
	MustRun(t, append(base, "--env-file", envFile)...)
	if f, _ = config.Load(cfgPath); f.Token != "tok_from_env" || f.TokenFile != "" {
		t.Errorf("--env-file: token %v token_file %q", f.Token == "tok_from_env", f.TokenFile)
	}
	// Without a token flag the config keeps its token.
	MustRun(t, base...)
	if f, _ = config.Load(cfgPath); f.Token != "tok_from_env" {
		t.Error("a plain reinstall dropped the token")
	}
	if _, errs, code := run(t, append(base, "--token", "a", "--token-file", tokFile)...); code != 2 || !strings.Contains(errs, "at most one") {
		t.Errorf("two token sources: exit %d: %s", code, errs)
	}
	MustWrite(t, envFile, "OTHER=1\n", 0o600)
	if _, errs, code := run(t, append(base, "--env-file", envFile)...); code != 1 || !strings.Contains(errs, "SAGE_TOKEN") {
		t.Errorf(".env without SAGE_TOKEN: exit %d: %s", code, errs)
	}
	if _, errs, code := run(t, append(base, "--url", "ftp://x")...); code != 2 || !strings.Contains(errs, "http") {
		t.Errorf("bad url: exit %d: %s", code, errs)
	}
	if _, errs, code := run(t, "install", "--bridge", h.path("nope"), "--claude", "none", "--no-service"); code != 1 || !strings.Contains(errs, "--bridge") {
		t.Errorf("missing bridge: exit %d: %s", code, errs)
	}
}

func TestHTTPModeJSON(t *testing.T) {
	h := MustHome(t)
	MustWrite(t, h.path(".claude.json"), userClaudeJSON, 0o600)
	MustRun(t, "install", "--mode", "http", "--url", "http://127.0.0.1:17800", "--bridge", h.Bridge, "--claude", "none", "--no-service", "--token", "tok_h")
	doc, err := claude.ParseDoc("x", []byte(MustRead(t, h.path(".claude.json"))))
	if err != nil {
		t.Fatal(err)
	}
	raw, _, _ := claude.Server(doc, "sage")
	var e claude.HTTPServer
	if err := json.Unmarshal(raw, &e); err != nil || e.Type != "http" || e.URL != "http://127.0.0.1:17800/mcp" || e.Headers["Authorization"] != "Bearer tok_h" {
		t.Fatalf("mcpServers.sage = %s", raw)
	}
	out, _, code := run(t, "status", "--claude", "none")
	if code == 0 || strings.Contains(out, "tok_h") || !strings.Contains(out, "Bearer ***") {
		t.Errorf("status (exit %d) must fail without a daemon and never print the token:\n%s", code, out)
	}
	MustRun(t, "uninstall", "--claude", "none", "--no-service")
	if got := MustRead(t, h.path(".claude.json")); got != userClaudeJSON {
		t.Fatalf(".claude.json not restored:\n%s", got)
	}
}

// TestServiceSteps checks how install and uninstall drive the bridge's
// service subcommand, with a stand-in sage-bridge that logs its arguments
// (the service itself is tested against a fake service manager in
// bridge/service).
func TestServiceSteps(t *testing.T) {
	h := MustHome(t)
	logPath := h.path("bridge.log")
	running := h.path("running")
	MustWrite(t, h.Bridge, `#!/bin/sh
echo "$*" >> '`+logPath+`'
case "$*" in
"service start") touch '`+running+`' ;;
"service status") test -f '`+running+`' ;;
esac
`, 0o755)
	composeDir := h.path("compose")
	args := []string{"install", "--bridge", h.Bridge, "--claude", "none", "--token", "t", "--compose-dir", composeDir}
	MustRun(t, args...)
	if got := MustRead(t, logPath); got != "service install --compose-dir "+composeDir+"\nservice start\n" {
		t.Fatalf("first install ran:\n%s", got)
	}
	MustRun(t, args...)
	if got := MustRead(t, logPath); !strings.HasSuffix(got, "service start\nservice status\n") {
		t.Fatalf("second install (service running) ran:\n%s", got)
	}
	MustRun(t, "uninstall", "--claude", "none")
	if got := MustRead(t, logPath); !strings.HasSuffix(got, "service status\nservice uninstall\n") {
		t.Fatalf("uninstall ran:\n%s", got)
	}
}

// TestInstallKeepsUntouchedBytes: members of Claude Code's files that Sage
// does not own keep their bytes through install (compact or not), and
// uninstall gives the original files back byte for byte.
func TestInstallKeepsUntouchedBytes(t *testing.T) {
	tests := []struct {
		name, settings, claudeJSON string
		untouched                  []string // members that must appear verbatim after install
	}{
		{"compact one-liners",
			`{"model": "opus", "permissions": {"allow": ["Bash(ls)", "Read"]}}`,
			`{"numStartups": 3, "mcpServers": {"github": {"type": "http", "url": "https://example.invalid/mcp"}}, "userID": "abc"}`,
			[]string{`"model": "opus"`, `"permissions": {"allow": ["Bash(ls)", "Read"]}`, `"numStartups": 3`, `"userID": "abc"`}},
		{"indented with compact values",
			"{\n  \"env\": {\"A\": \"1\", \"B\": \"\\u00e9\"},\n  \"hooks\": {\"PostToolUse\": [{\"matcher\": \"Write\", \"hooks\": [{\"type\": \"command\", \"command\": \"fmt\"}]}]},\n  \"model\": \"opus\"\n}\n",
			"{\n  \"projects\": {\"/src\": {\"allowedTools\": []}},\n  \"userID\": \"abc\"\n}\n",
			[]string{`"env": {"A": "1", "B": "\u00e9"},`, `"model": "opus"`, `"projects": {"/src": {"allowedTools": []}},`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := MustHome(t)
			MustWrite(t, h.path(".claude/settings.json"), tt.settings, 0o644)
			MustWrite(t, h.path(".claude.json"), tt.claudeJSON, 0o600)
			MustRun(t, "install", "--bridge", h.Bridge, "--claude", "none", "--no-service", "--token", "tok_1234567890")
			settings, cj := MustRead(t, h.path(".claude/settings.json")), MustRead(t, h.path(".claude.json"))
			if !strings.Contains(settings, "hook SessionStart") || !strings.Contains(cj, `"sage"`) {
				t.Fatalf("install did not edit the files:\n%s\n%s", settings, cj)
			}
			for _, m := range tt.untouched {
				if !strings.Contains(settings, m) && !strings.Contains(cj, m) {
					t.Errorf("member %s not kept byte for byte:\n%s\n%s", m, settings, cj)
				}
			}
			MustRun(t, "uninstall", "--claude", "none", "--no-service")
			if got := MustRead(t, h.path(".claude/settings.json")); got != tt.settings {
				t.Errorf("settings.json after uninstall:\n got %q\nwant %q", got, tt.settings)
			}
			if got := MustRead(t, h.path(".claude.json")); got != tt.claudeJSON {
				t.Errorf(".claude.json after uninstall:\n got %q\nwant %q", got, tt.claudeJSON)
			}
		})
	}
}
