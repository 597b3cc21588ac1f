package config_test

import (
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/sage-mcp/sage/shared/config"
)

func MustParse(t *testing.T, s string) *config.File {
	t.Helper()
	f, err := config.Parse([]byte(s))
	if err != nil {
		t.Fatalf("parse %q: %v", s, err)
	}
	return f
}

func MustWriteFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}

func env(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

// TestParse: what Parse accepts and rejects, and that the known fields
// (url, compose_dir) come through to the resolved config.
func TestParse(t *testing.T) {
	tests := []struct {
		name        string
		in          string
		wantURL     string
		wantCompose string
		wantErr     bool
	}{
		{name: "empty", in: ""},
		{name: "blank", in: " \n"},
		{name: "bom", in: "\xef\xbb\xbf{\"url\":\"http://x/mcp\"}", wantURL: "http://x/mcp"},
		{name: "full", in: `{"url":"http://h:1/mcp","token":"t","hooks":{"inject":false,"max_chars":10,"timeout_ms":5}}`, wantURL: "http://h:1/mcp"},
		{name: "compose dir", in: `{"compose_dir":"/srv/sage"}`, wantCompose: "/srv/sage"},
		{name: "unset", in: `{}`},
		{name: "not object", in: `[1]`, wantErr: true},
		{name: "wrong type", in: `{"url":5}`, wantErr: true},
		{name: "compose dir wrong type", in: `{"compose_dir":5}`, wantErr: true},
		{name: "trailing", in: `{} {}`, wantErr: true},
		{name: "negative max", in: `{"hooks":{"max_chars":-1}}`, wantErr: true},
		{name: "negative timeout", in: `{"hooks":{"timeout_ms":-1}}`, wantErr: true},
		{name: "truncated", in: `{"url":"http://`, wantErr: true},
		{name: "too big", in: `{"x":"` + strings.Repeat("a", config.MaxFileSize) + `"}`, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, err := config.Parse([]byte(tt.in))
			if tt.wantErr {
				if !errors.Is(err, config.ErrInvalid) {
					t.Fatalf("err = %v, want ErrInvalid", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if f.URL != tt.wantURL {
				t.Errorf("url = %q, want %q", f.URL, tt.wantURL)
			}
			c, err := config.Resolve(config.Flags{}, nil, f)
			if err != nil {
				t.Fatal(err)
			}
			if f.ComposeDir != tt.wantCompose || c.ComposeDir != tt.wantCompose {
				t.Errorf("compose_dir: file %q, config %q, want %q", f.ComposeDir, c.ComposeDir, tt.wantCompose)
			}
		})
	}
}

func TestUnknownFieldsSurviveRewrite(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sub", "config.json")
	in := `{"url":"http://h/mcp","future":{"a":[1,2]},"hooks":{"inject":true,"later":"x"}}`
	f := MustParse(t, in)
	f.Token = "new"
	f.Hooks.MaxChars = 42
	if err := config.Save(path, f); err != nil {
		t.Fatal(err)
	}
	g, err := config.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(path)
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	if _, ok := m["future"]; !ok {
		t.Errorf("unknown top-level field lost: %s", b)
	}
	if h := m["hooks"].(map[string]any); h["later"] != "x" || h["max_chars"] != float64(42) {
		t.Errorf("hooks = %v", h)
	}
	if g.Token != "new" || g.URL != "http://h/mcp" || g.Hooks.Inject == nil || !*g.Hooks.Inject {
		t.Errorf("reloaded = %+v", g)
	}
	if runtime.GOOS != "windows" {
		st, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if st.Mode().Perm() != 0o600 {
			t.Errorf("mode = %v, want 0600", st.Mode().Perm())
		}
	}
	ents, _ := os.ReadDir(filepath.Dir(path))
	if len(ents) != 1 {
		t.Errorf("temporary files left: %v", ents)
	}
}

func TestLoadMissing(t *testing.T) {
	p := filepath.Join(t.TempDir(), "nope.json")
	if _, err := config.Load(p); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("Load missing: %v", err)
	}
	f, err := config.LoadOptional(p)
	if err != nil || f.URL != "" {
		t.Fatalf("LoadOptional = %+v, %v", f, err)
	}
}

func TestPath(t *testing.T) {
	p, err := config.PathFrom(env(map[string]string{"SAGE_CONFIG": "/x/y.json"}))
	if err != nil || p != "/x/y.json" {
		t.Fatalf("PathFrom = %q, %v", p, err)
	}
	t.Setenv("XDG_CONFIG_HOME", "/cfg")
	t.Setenv("SAGE_CONFIG", "")
	p, err = config.Path()
	if err != nil {
		t.Fatal(err)
	}
	if runtime.GOOS == "linux" && p != "/cfg/sage/config.json" {
		t.Errorf("Path = %q", p)
	}
}

func TestCacheDir(t *testing.T) {
	d, err := config.CacheDir(env(map[string]string{"SAGE_CACHE_DIR": "/c"}))
	if err != nil || d != "/c" {
		t.Fatalf("CacheDir with SAGE_CACHE_DIR = %q, %v", d, err)
	}
	t.Setenv("XDG_CACHE_HOME", "/xdg-cache")
	d, err = config.CacheDir(env(nil))
	if err != nil {
		t.Fatal(err)
	}
	if runtime.GOOS == "linux" && d != "/xdg-cache/sage" {
		t.Errorf("CacheDir = %q", d)
	}
}

func TestResolvePrecedence(t *testing.T) {
	dir := t.TempDir()
	tf := filepath.Join(dir, "tok")
	MustWriteFile(t, tf, "  filetoken\n")
	no := false
	file := &config.File{URL: "http://file/mcp", Token: "filetok", Hooks: config.Hooks{Inject: &no, MaxChars: 7, TimeoutMS: 300}}
	tests := []struct {
		name      string
		flags     config.Flags
		env       map[string]string
		file      *config.File
		wantURL   string
		wantTok   string
		wantSrc   string
		wantURLSr string
	}{
		{"defaults", config.Flags{}, nil, nil, config.DefaultURL, "", "none", "default"},
		{"file", config.Flags{}, nil, file, "http://file/mcp", "filetok", "config file (token)", "config file"},
		{"env beats file", config.Flags{}, map[string]string{"SAGE_URL": "http://env/mcp", "SAGE_TOKEN": "envtok"}, file, "http://env/mcp", "envtok", "env SAGE_TOKEN", "env SAGE_URL"},
		{"env token file", config.Flags{}, map[string]string{"SAGE_TOKEN_FILE": tf}, file, "http://file/mcp", "filetoken", "env SAGE_TOKEN_FILE=" + tf, "config file"},
		{"flags beat env", config.Flags{URL: "https://flag/mcp", Token: "flagtok"}, map[string]string{"SAGE_URL": "http://env/mcp", "SAGE_TOKEN": "envtok"}, file, "https://flag/mcp", "flagtok", "flag --token", "flag --url"},
		{"flag token file", config.Flags{TokenFile: tf}, map[string]string{"SAGE_TOKEN": "envtok"}, nil, config.DefaultURL, "filetoken", "flag --token-file " + tf, "default"},
		{"file token_file", config.Flags{}, nil, &config.File{TokenFile: tf}, config.DefaultURL, "filetoken", "config file (token_file " + tf + ")", "default"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := config.Resolve(tt.flags, env(tt.env), tt.file)
			if err != nil {
				t.Fatal(err)
			}
			if c.URL != tt.wantURL || c.Token != tt.wantTok || c.TokenSource != tt.wantSrc || c.URLSource != tt.wantURLSr {
				t.Errorf("got url=%q(%s) token=%q(%s)", c.URL, c.URLSource, c.Token, c.TokenSource)
			}
		})
	}
	c, err := config.Resolve(config.Flags{}, nil, file)
	if err != nil {
		t.Fatal(err)
	}
	if c.HooksInject || c.HooksMaxChars != 7 || c.HooksTimeout != 300*time.Millisecond {
		t.Errorf("hooks = %v %v %v", c.HooksInject, c.HooksMaxChars, c.HooksTimeout)
	}
	c, _ = config.Resolve(config.Flags{}, nil, nil)
	if c.HooksInject != config.DefaultHooksInject || c.HooksMaxChars != config.DefaultHooksMaxChars || c.HooksTimeout != config.DefaultHooksTimeout {
		t.Errorf("default hooks = %+v", c)
	}
}

func TestResolveErrors(t *testing.T) {
	dir := t.TempDir()
	empty := filepath.Join(dir, "empty")
	MustWriteFile(t, empty, "\n")
	tests := []struct {
		name  string
		flags config.Flags
		want  string
	}{
		{"bad scheme", config.Flags{URL: "ftp://x/mcp"}, "http://"},
		{"no host", config.Flags{URL: "http:///mcp"}, "no host"},
		{"credentials", config.Flags{URL: "http://u:secretpw@h/mcp"}, "credentials"},
		{"token space", config.Flags{Token: "a b"}, "whitespace"},
		{"missing token file", config.Flags{TokenFile: filepath.Join(dir, "none")}, "read token file"},
		{"empty token file", config.Flags{TokenFile: empty}, "empty"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := config.Resolve(tt.flags, nil, nil)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want containing %q", err, tt.want)
			}
			if strings.Contains(err.Error(), "secretpw") || strings.Contains(err.Error(), "a b") {
				t.Errorf("secret in error: %v", err)
			}
		})
	}
}

func TestBaseURL(t *testing.T) {
	for in, want := range map[string]string{
		"http://127.0.0.1:17800/mcp":  "http://127.0.0.1:17800",
		"http://127.0.0.1:17800/mcp/": "http://127.0.0.1:17800",
		"https://h/sage/mcp?x=1":      "https://h/sage",
		"http://h:1":                  "http://h:1",
		"http://h:1/other":            "http://h:1/other",
	} {
		if got := config.BaseURL(in); got != want {
			t.Errorf("BaseURL(%q) = %q, want %q", in, got, want)
		}
	}
	c := config.Config{URL: "http://a/mcp"}
	if c.BaseURL() != "http://a" {
		t.Errorf("Config.BaseURL = %q", c.BaseURL())
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{`{}`, `{"url":"http://h/mcp","token":"t","hooks":{"inject":true,"x":1},"y":null}`, `[]`, `{"hooks":null}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		file, err := config.Parse(data)
		if err != nil {
			if !errors.Is(err, config.ErrInvalid) {
				t.Fatalf("error without ErrInvalid: %v", err)
			}
			return
		}
		b, err := file.Marshal()
		if err != nil {
			t.Fatalf("marshal parsed file: %v", err)
		}
		again, err := config.Parse(b)
		if err != nil {
			t.Fatalf("reparse %s: %v", b, err)
		}
		b2, err := again.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		if string(b) != string(b2) {
			t.Fatalf("round trip not stable:\n%s\n%s", b, b2)
		}
	})
}
