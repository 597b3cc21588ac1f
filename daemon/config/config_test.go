package config_test

import (
	"flag"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/sage-mcp/sage/daemon/config"
	"github.com/sage-mcp/sage/testkit/wanterr"
)

// MustLoad loads a config from args, env and no file.
func MustLoad(t testing.TB, args []string, env map[string]string) config.Config {
	t.Helper()
	c, _, err := config.Load(flag.NewFlagSet("test", flag.ContinueOnError), args, func(k string) string { return env[k] })
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	return c
}

func TestDefaults(t *testing.T) {
	c := MustLoad(t, nil, nil)
	if c.Listen != "127.0.0.1:17800" || !c.Auth || c.Stateful || c.LogLevel != "info" || c.LogFormat != "text" ||
		c.Metrics != config.MetricsLoopback || c.Embed.Provider != "builtin" || c.ShutdownTimeout != 15*time.Second {
		t.Fatalf("defaults %+v", c)
	}
	if c.ReadTimeout != time.Minute || c.MaxConnections != 1000 || c.DBQueryTimeout != 10*time.Second || c.MaxSessions != 1000 {
		t.Fatalf("limits %+v", c)
	}
	if got := c.LocalURL(); got != "http://127.0.0.1:17800" {
		t.Errorf("LocalURL = %q", got)
	}
	if err := c.Validate(); err == nil || !strings.Contains(err.Error(), "SAGE_DATABASE_URL is required") {
		t.Fatalf("Validate without a database URL: %v", err)
	}
}

func TestPrecedence(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "sage.env")
	content := "# comment\nSAGE_LISTEN=:1\nexport SAGE_LOG_LEVEL=\"debug\"\nSAGE_STATEFUL=on\nSAGE_DATABASE_URL='postgres://file/db'\n"
	if err := os.WriteFile(file, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"SAGE_DAEMON_CONFIG": file, "SAGE_LISTEN": ":2", "SAGE_ALLOWED_HOSTS": "a.example, b.example"}
	c := MustLoad(t, []string{"--listen", ":3"}, env)
	if c.Listen != ":3" {
		t.Errorf("flag must win: Listen %q", c.Listen)
	}
	c = MustLoad(t, nil, env)
	if c.Listen != ":2" || c.LogLevel != "debug" || !c.Stateful || c.DatabaseURL != "postgres://file/db" {
		t.Errorf("env over file: %+v", c)
	}
	if len(c.AllowedHosts) != 2 || c.AllowedHosts[1] != "b.example" {
		t.Errorf("list: %q", c.AllowedHosts)
	}
}

// TestParseComposeRules: the configuration file is read as Docker Compose
// reads a .env file (shared/dotenv), so the same file means the same thing
// to both: inline comments, escapes, quotes, bare keys.
func TestParseComposeRules(t *testing.T) {
	tests := []struct {
		name, in string
		want     map[string]string
		wantErr  string
	}{
		{name: "inline comment", in: "SAGE_LOG_LEVEL=debug # while testing\n", want: map[string]string{"SAGE_LOG_LEVEL": "debug"}},
		{name: "escapes in double quotes", in: `SAGE_EMBED_API_KEY="a\"b\\c"` + "\n", want: map[string]string{"SAGE_EMBED_API_KEY": `a"b\c`}},
		{name: "single quotes literal", in: `SAGE_EMBED_API_KEY='a\"b #c'` + "\n", want: map[string]string{"SAGE_EMBED_API_KEY": `a\"b #c`}},
		{name: "quoted then comment", in: "SAGE_LISTEN=':1' # local\n", want: map[string]string{"SAGE_LISTEN": ":1"}},
		{name: "bare known key left to the environment", in: "SAGE_LISTEN\nSAGE_AUTH=off\n", want: map[string]string{"SAGE_AUTH": "off"}},
		{name: "bare unknown key", in: "SAGE_AUTH=off\nSAGE_NOPE\n", wantErr: "t.env:2: unknown variable SAGE_NOPE"},
		{name: "unknown key", in: "\nSAGE_NOPE=1\n", wantErr: "t.env:2: unknown variable SAGE_NOPE"},
		{name: "unterminated quote", in: "SAGE_TOKEN='secret_value\n", wantErr: "line 1 (SAGE_TOKEN): unterminated"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := config.Parse(strings.NewReader(tt.in), "t.env")
			if err != nil && strings.Contains(err.Error(), "secret_value") {
				t.Fatalf("the error shows the value: %v", err)
			}
			if !wanterr.Check(t, err, tt.wantErr) {
				return
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Parse = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestValidate(t *testing.T) {
	base := MustLoad(t, nil, map[string]string{"SAGE_DATABASE_URL": "postgres://u@h/db"})
	if err := base.Validate(); err != nil {
		t.Fatalf("valid config: %v", err)
	}
	tests := []struct {
		name string
		mod  func(*config.Config)
		want string
	}{
		{"mysql url", func(c *config.Config) { c.DatabaseURL = "mysql://h/db" }, "SAGE_DATABASE_URL"},
		{"listen", func(c *config.Config) { c.Listen = "17800" }, "SAGE_LISTEN"},
		{"short token", func(c *config.Config) { c.Token = "short" }, "SAGE_TOKEN"},
		{"public url", func(c *config.Config) { c.PublicURL = "sage.example.com" }, "SAGE_PUBLIC_URL"},
		{"origin", func(c *config.Config) { c.AllowedOrigins = []string{"https://a.example/path"} }, "SAGE_ALLOWED_ORIGINS"},
		{"metrics", func(c *config.Config) { c.Metrics = "everyone" }, "SAGE_METRICS"},
		{"level", func(c *config.Config) { c.LogLevel = "loud" }, "SAGE_LOG_LEVEL"},
		{"format", func(c *config.Config) { c.LogFormat = "xml" }, "SAGE_LOG_FORMAT"},
		{"embed", func(c *config.Config) { c.Embed.Provider = "magic" }, "SAGE_EMBED_PROVIDER"},
		{"shutdown", func(c *config.Config) { c.ShutdownTimeout = 0 }, "SAGE_SHUTDOWN_TIMEOUT"},
		{"read timeout", func(c *config.Config) { c.ReadTimeout = 0 }, "SAGE_READ_TIMEOUT"},
		{"connections", func(c *config.Config) { c.MaxConnections = 0 }, "SAGE_MAX_CONNECTIONS"},
		{"query timeout", func(c *config.Config) { c.DBQueryTimeout = -time.Second }, "SAGE_DB_QUERY_TIMEOUT"},
		{"sessions", func(c *config.Config) { c.MaxSessions = 0 }, "SAGE_MAX_SESSIONS"},
		{"console listen", func(c *config.Config) { c.ConsoleListen = "17801" }, "SAGE_CONSOLE_LISTEN"},
		{"console on the api port", func(c *config.Config) { c.ConsoleListen = c.Listen }, "SAGE_CONSOLE_LISTEN"},
	}
	for _, tt := range tests {
		c := base
		tt.mod(&c)
		err := c.Validate()
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: Validate = %v, want mention of %s", tt.name, err, tt.want)
		}
	}
}

func TestConsoleListen(t *testing.T) {
	tests := []struct{ env, want string }{
		{"", config.DefaultConsoleListen},
		{"off", ""},
		{"OFF", ""},
		{"0.0.0.0:17801", "0.0.0.0:17801"},
		{"127.0.0.1:0", "127.0.0.1:0"}, // a port the kernel picks, like SAGE_LISTEN's in tests
	}
	for _, tt := range tests {
		env := map[string]string{"SAGE_DATABASE_URL": "postgres://u@h/db"}
		if tt.env != "" {
			env["SAGE_CONSOLE_LISTEN"] = tt.env
		}
		c := MustLoad(t, nil, env)
		c.Listen = "127.0.0.1:0"
		if c.ConsoleListen != tt.want {
			t.Errorf("SAGE_CONSOLE_LISTEN=%q: ConsoleListen %q, want %q", tt.env, c.ConsoleListen, tt.want)
		}
		if err := c.Validate(); err != nil {
			t.Errorf("SAGE_CONSOLE_LISTEN=%q: %v", tt.env, err)
		}
	}
}

func TestLoadErrors(t *testing.T) {
	tests := []struct {
		env  map[string]string
		want string
	}{
		{map[string]string{"SAGE_AUTH": "maybe"}, "SAGE_AUTH"},
		{map[string]string{"SAGE_EMBED_DIMENSIONS": "many"}, "SAGE_EMBED_DIMENSIONS"},
		{map[string]string{"SAGE_EMBED_TIMEOUT": "5"}, "SAGE_EMBED_TIMEOUT"},
		{map[string]string{"SAGE_EMBED_DIMENSIONS": "many"}, `"many": want a whole number`},
		{map[string]string{"SAGE_EMBED_TIMEOUT": "5"}, `"5": want a duration like 30s`},
		{map[string]string{"SAGE_DAEMON_CONFIG": "/nonexistent/sage.env"}, "read file"},
	}
	for _, tt := range tests {
		_, _, err := config.Load(flag.NewFlagSet("t", flag.ContinueOnError), nil, func(k string) string { return tt.env[k] })
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%v: err %v, want %s", tt.env, err, tt.want)
		}
	}
}

func TestEnvVarsComplete(t *testing.T) {
	seen := map[string]bool{}
	for _, v := range config.EnvVars() {
		if !strings.HasPrefix(v.Name, "SAGE_") || v.Description == "" || seen[v.Name] {
			t.Errorf("bad or duplicate %+v", v)
		}
		seen[v.Name] = true
	}
	for _, name := range []string{"SAGE_DATABASE_URL", "SAGE_LISTEN", "SAGE_DATA_DIR", "SAGE_TOKEN", "SAGE_AUTH",
		"SAGE_PUBLIC_URL", "SAGE_ALLOWED_ORIGINS", "SAGE_ALLOWED_HOSTS", "SAGE_STATEFUL", "SAGE_EMBED_PROVIDER",
		"SAGE_EMBED_URL", "SAGE_EMBED_MODEL", "SAGE_EMBED_API_KEY", "SAGE_EMBED_DIMENSIONS", "SAGE_LOG_LEVEL",
		"SAGE_LOG_FORMAT", "SAGE_DAEMON_CONFIG", "SAGE_METRICS"} {
		if !seen[name] {
			t.Errorf("EnvVars lacks %s", name)
		}
	}
	// Every variable is settable: a file naming each one parses.
	var b strings.Builder
	for _, v := range config.EnvVars() {
		if v.Name != "SAGE_DAEMON_CONFIG" {
			b.WriteString(v.Name + "=" + v.Default + "\n")
		}
	}
	if _, err := config.Parse(strings.NewReader(b.String()), "all"); err != nil {
		t.Fatalf("a file of every variable: %v", err)
	}
	secrets := 0
	for _, v := range config.EnvVars() {
		if v.Secret {
			secrets++
		}
	}
	if secrets != 3 {
		t.Errorf("%d secret variables, want 3 (database URL, token, embed API key)", secrets)
	}
}

func TestSecretsAndLocalURL(t *testing.T) {
	c := MustLoad(t, nil, map[string]string{"SAGE_DATABASE_URL": "postgres://u:pw@h/db", "SAGE_TOKEN": "tttttttttttttttttt",
		"SAGE_LISTEN": "0.0.0.0:9000"})
	s := strings.Join(c.Secrets(), ",")
	if !strings.Contains(s, "pw") || !strings.Contains(s, "tttttttttttttttttt") {
		t.Fatalf("Secrets %q", s)
	}
	if c.LocalURL() != "http://127.0.0.1:9000" {
		t.Fatalf("LocalURL %q", c.LocalURL())
	}
}

func FuzzParse(f *testing.F) {
	f.Add("SAGE_LISTEN=:1\n# c\n\nexport SAGE_TOKEN='x'\n")
	f.Add("garbage")
	f.Add("SAGE_NOPE=1")
	f.Add("=\n")
	f.Fuzz(func(t *testing.T, s string) {
		m, err := config.Parse(strings.NewReader(s), "fuzz")
		if err != nil {
			return
		}
		for k := range m {
			if !strings.HasPrefix(k, "SAGE_") {
				t.Fatalf("accepted key %q", k)
			}
		}
	})
}
