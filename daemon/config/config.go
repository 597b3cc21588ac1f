// Package config holds sage-daemon's configuration: a typed Config with
// defaults and Validate, filled from command-line flags, which win over
// environment variables (SAGE_*), which win over an optional file of
// KEY=VALUE lines (SAGE_DAEMON_CONFIG or --config). EnvVars lists every variable
// the daemon reads.
package config

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/sage-mcp/sage/daemon/embed"
	"github.com/sage-mcp/sage/shared/dotenv"
)

// Defaults.
const (
	// DefaultListen is loopback only: other hosts cannot reach a native
	// daemon unless SAGE_LISTEN says so (the container image sets
	// 0.0.0.0:17800).
	DefaultListen = "127.0.0.1:17800"
	// DefaultConsoleListen is the web console's own listener (loopback
	// only; the container image sets 0.0.0.0:17801).
	DefaultConsoleListen   = "127.0.0.1:17801"
	DefaultShutdownTimeout = 15 * time.Second
	// DefaultReadTimeout bounds the time a request may take to send its
	// headers and its body (time the daemon spends working meanwhile is
	// not counted).
	DefaultReadTimeout = time.Minute
	// DefaultMaxConnections bounds the open client connections; a few more
	// are kept for /healthz and /readyz (see sagehttp.LimitListener).
	DefaultMaxConnections = 1000
	// DefaultDBQueryTimeout bounds how long the daemon waits for
	// PostgreSQL to answer a query.
	DefaultDBQueryTimeout = 10 * time.Second
	// DefaultMaxSessions bounds the MCP sessions kept with SAGE_STATEFUL.
	DefaultMaxSessions = 1000
	// DefaultAuditRetentionDays and DefaultAuditMaxRows bound the
	// injection audit.
	DefaultAuditRetentionDays = 30
	DefaultAuditMaxRows       = 100000
	// MetricsLoopback serves /metrics without a token to loopback clients
	// only; others need an admin token.
	MetricsLoopback = "loopback"
	// MetricsPublic serves /metrics to everyone.
	MetricsPublic = "public"
	// MetricsToken requires an admin token from everyone.
	MetricsToken = "token"
)

// Config is sage-daemon's configuration.
type Config struct {
	// DatabaseURL is the PostgreSQL connection URL. Required. SAGE_DATABASE_URL.
	DatabaseURL string
	// Listen is the HTTP listen address. SAGE_LISTEN.
	Listen string
	// ConsoleListen is the web console's listen address; empty (or "off"
	// in the environment) serves no console. SAGE_CONSOLE_LISTEN.
	ConsoleListen string
	// DataDir holds the generated admin token file. SAGE_DATA_DIR.
	DataDir string
	// Token, when set, is an admin access key for the default namespace
	// (stored hashed; idempotent across restarts). SAGE_TOKEN.
	Token string
	// Auth requires a bearer token on /mcp and /api/v1. SAGE_AUTH (on|off).
	Auth bool
	// PublicURL is the external base URL, used in OAuth metadata; empty
	// means derived from each request's Host. SAGE_PUBLIC_URL.
	PublicURL string
	// AllowedOrigins are browser origins allowed besides loopback ones.
	// SAGE_ALLOWED_ORIGINS (comma-separated).
	AllowedOrigins []string
	// AllowedHosts are Host header values allowed besides loopback ones and
	// PublicURL's host; "*" allows any. SAGE_ALLOWED_HOSTS (comma-separated).
	AllowedHosts []string
	// Stateful keeps MCP sessions (Mcp-Session-Id). SAGE_STATEFUL.
	Stateful bool
	// Metrics says who may read /metrics: loopback, public or token.
	// SAGE_METRICS.
	Metrics string
	// Embed configures the embedder. SAGE_EMBED_*.
	Embed embed.Config
	// LogLevel is debug, info, warn or error. SAGE_LOG_LEVEL.
	LogLevel string
	// LogFormat is text or json. SAGE_LOG_FORMAT.
	LogFormat string
	// ShutdownTimeout bounds draining in-flight requests on SIGTERM.
	// SAGE_SHUTDOWN_TIMEOUT.
	ShutdownTimeout time.Duration
	// ReadTimeout bounds how long a client may take to send a request's
	// headers and body. SAGE_READ_TIMEOUT.
	ReadTimeout time.Duration
	// MaxConnections bounds the open client connections.
	// SAGE_MAX_CONNECTIONS.
	MaxConnections int
	// DBQueryTimeout bounds how long the daemon waits for PostgreSQL to
	// answer. SAGE_DB_QUERY_TIMEOUT.
	DBQueryTimeout time.Duration
	// AuditRetentionDays and AuditMaxRows bound the injection audit.
	// SAGE_AUDIT_RETENTION_DAYS, SAGE_AUDIT_MAX_ROWS.
	AuditRetentionDays int
	AuditMaxRows       int
	// MaxSessions bounds the MCP sessions kept when Stateful.
	// SAGE_MAX_SESSIONS.
	MaxSessions int
}

// EnvVar describes an environment variable the daemon reads.
type EnvVar struct {
	Name        string
	Default     string
	Description string
	// Secret marks a value that must never be logged or committed.
	Secret bool
}

// spec binds a variable to its flag and Config field.
type spec struct {
	EnvVar
	flag   string
	secret bool
	set    func(c *Config, v string) error
}

func specs() []spec {
	return []spec{
		{EnvVar{Name: "SAGE_DATABASE_URL", Description: "PostgreSQL URL (required), e.g. postgres://sage:secret@localhost:5432/sage?sslmode=disable"}, "database-url", true,
			func(c *Config, v string) error { c.DatabaseURL = v; return nil }},
		{EnvVar{Name: "SAGE_LISTEN", Default: DefaultListen, Description: "HTTP listen address"}, "listen", false,
			func(c *Config, v string) error { c.Listen = v; return nil }},
		{EnvVar{Name: "SAGE_CONSOLE_LISTEN", Default: DefaultConsoleListen, Description: "listen address of the web console (/console, sign in with an access key); off disables it"}, "console-listen", false,
			func(c *Config, v string) error {
				if strings.EqualFold(v, "off") {
					v = ""
				}
				c.ConsoleListen = v
				return nil
			}},
		{EnvVar{Name: "SAGE_DATA_DIR", Default: "", Description: "directory for the generated admin token file token (default: the user config dir + /sage-daemon; /data in the container)"}, "data-dir", false,
			func(c *Config, v string) error { c.DataDir = v; return nil }},
		{EnvVar{Name: "SAGE_TOKEN", Default: "", Description: "admin access key for the default namespace (at least 16 characters); empty: one is generated at first start and written to SAGE_DATA_DIR/token"}, "token", true,
			func(c *Config, v string) error { c.Token = v; return nil }},
		{EnvVar{Name: "SAGE_AUTH", Default: "on", Description: "require a bearer token on /mcp and /api/v1 (on|off; off is for local development only)"}, "auth", false,
			func(c *Config, v string) error { b, err := parseBool(v); c.Auth = b; return err }},
		{EnvVar{Name: "SAGE_PUBLIC_URL", Default: "", Description: "external base URL (https://sage.example.com) for OAuth metadata; default: derived from the request's Host"}, "public-url", false,
			func(c *Config, v string) error { c.PublicURL = strings.TrimRight(v, "/"); return nil }},
		{EnvVar{Name: "SAGE_ALLOWED_ORIGINS", Default: "", Description: "comma-separated browser origins allowed besides loopback ones"}, "allowed-origins", false,
			func(c *Config, v string) error { c.AllowedOrigins = splitList(v); return nil }},
		{EnvVar{Name: "SAGE_ALLOWED_HOSTS", Default: "", Description: "comma-separated Host values allowed besides loopback and SAGE_PUBLIC_URL's host (* allows any; needed behind a reverse proxy or in a container reached by name)"}, "allowed-hosts", false,
			func(c *Config, v string) error { c.AllowedHosts = splitList(v); return nil }},
		{EnvVar{Name: "SAGE_STATEFUL", Default: "false", Description: "keep MCP sessions (Mcp-Session-Id); default stateless, which survives daemon restarts"}, "stateful", false,
			func(c *Config, v string) error { b, err := parseBool(v); c.Stateful = b; return err }},
		{EnvVar{Name: "SAGE_MAX_SESSIONS", Default: strconv.Itoa(DefaultMaxSessions), Description: "with SAGE_STATEFUL: most MCP sessions kept at once; a new one closes the longest-idle session, or is refused (503) when all are busy"}, "max-sessions", false,
			func(c *Config, v string) error { n, err := parseInt(v); c.MaxSessions = n; return err }},
		{EnvVar{Name: "SAGE_METRICS", Default: MetricsLoopback, Description: "who may read /metrics without a token: loopback, public, or token (admin token required)"}, "metrics", false,
			func(c *Config, v string) error { c.Metrics = v; return nil }},
		{EnvVar{Name: "SAGE_EMBED_PROVIDER", Default: embed.ProviderBuiltin, Description: "embedder: builtin (offline) or openai (any OpenAI-compatible endpoint)"}, "embed-provider", false,
			func(c *Config, v string) error { c.Embed.Provider = v; return nil }},
		{EnvVar{Name: "SAGE_EMBED_URL", Default: "", Description: "OpenAI-compatible endpoint base URL (default " + embed.DefaultOpenAIURL + ")"}, "embed-url", false,
			func(c *Config, v string) error { c.Embed.URL = v; return nil }},
		{EnvVar{Name: "SAGE_EMBED_MODEL", Default: "", Description: "embedding model (required for openai)"}, "embed-model", false,
			func(c *Config, v string) error { c.Embed.Model = v; return nil }},
		{EnvVar{Name: "SAGE_EMBED_API_KEY", Default: "", Description: "API key of the embedding endpoint"}, "embed-api-key", true,
			func(c *Config, v string) error { c.Embed.APIKey = v; return nil }},
		{EnvVar{Name: "SAGE_EMBED_DIMENSIONS", Default: "", Description: "vector length (default: the provider's or known model's)"}, "embed-dimensions", false,
			func(c *Config, v string) error { n, err := parseInt(v); c.Embed.Dimensions = n; return err }},
		{EnvVar{Name: "SAGE_EMBED_SEND_DIMENSIONS", Default: "false", Description: "send \"dimensions\" in embedding requests (Matryoshka models)"}, "embed-send-dimensions", false,
			func(c *Config, v string) error { b, err := parseBool(v); c.Embed.SendDimensions = b; return err }},
		{EnvVar{Name: "SAGE_EMBED_BATCH_SIZE", Default: strconv.Itoa(embed.DefaultBatchSize), Description: "most texts per embedding request"}, "embed-batch-size", false,
			func(c *Config, v string) error { n, err := parseInt(v); c.Embed.BatchSize = n; return err }},
		{EnvVar{Name: "SAGE_EMBED_TIMEOUT", Default: embed.DefaultTimeout.String(), Description: "timeout of one embedding request"}, "embed-timeout", false,
			func(c *Config, v string) error { d, err := parseDuration(v); c.Embed.Timeout = d; return err }},
		{EnvVar{Name: "SAGE_EMBED_MAX_RETRIES", Default: strconv.Itoa(embed.DefaultMaxRetries), Description: "retries of a failed embedding request (negative: never)"}, "embed-max-retries", false,
			func(c *Config, v string) error { n, err := parseInt(v); c.Embed.MaxRetries = n; return err }},
		{EnvVar{Name: "SAGE_EMBED_QUERY_TIMEOUT", Default: embed.DefaultQueryTimeout.String(), Description: "openai: how long a search waits for its query's embedding before it goes on with keywords only"}, "embed-query-timeout", false,
			func(c *Config, v string) error { d, err := parseDuration(v); c.Embed.QueryTimeout = d; return err }},
		{EnvVar{Name: "SAGE_EMBED_CACHE_SIZE", Default: strconv.Itoa(embed.DefaultCacheSize), Description: "openai: query embeddings kept in memory, by model and text (negative: none)"}, "embed-cache-size", false,
			func(c *Config, v string) error { n, err := parseInt(v); c.Embed.CacheSize = n; return err }},
		{EnvVar{Name: "SAGE_EMBED_PREFIX", Default: "", Description: "openai: text put before every input (default: the known model's, e.g. \"query: \" for multilingual-e5; none: nothing)"}, "embed-prefix", false,
			func(c *Config, v string) error { c.Embed.Prefix = v; return nil }},
		{EnvVar{Name: "SAGE_LOG_LEVEL", Default: "info", Description: "log level: debug, info, warn, error"}, "log-level", false,
			func(c *Config, v string) error { c.LogLevel = strings.ToLower(v); return nil }},
		{EnvVar{Name: "SAGE_LOG_FORMAT", Default: "text", Description: "log format: text or json"}, "log-format", false,
			func(c *Config, v string) error { c.LogFormat = strings.ToLower(v); return nil }},
		{EnvVar{Name: "SAGE_SHUTDOWN_TIMEOUT", Default: DefaultShutdownTimeout.String(), Description: "how long SIGTERM waits for in-flight requests"}, "shutdown-timeout", false,
			func(c *Config, v string) error { d, err := parseDuration(v); c.ShutdownTimeout = d; return err }},
		{EnvVar{Name: "SAGE_READ_TIMEOUT", Default: DefaultReadTimeout.String(), Description: "how long a client may take to send a request body, counting only the time spent waiting for it (a streamed import's work does not count); a slower body is cut and its connection closed. Headers get the lesser of this and 10s"}, "read-timeout", false,
			func(c *Config, v string) error { d, err := parseDuration(v); c.ReadTimeout = d; return err }},
		{EnvVar{Name: "SAGE_MAX_CONNECTIONS", Default: strconv.Itoa(DefaultMaxConnections), Description: "most open client connections; beyond, 16 more may only reach /healthz and /readyz, and further ones are closed at once"}, "max-connections", false,
			func(c *Config, v string) error { n, err := parseInt(v); c.MaxConnections = n; return err }},
		{EnvVar{Name: "SAGE_DB_QUERY_TIMEOUT", Default: DefaultDBQueryTimeout.String(), Description: "how long the daemon waits for PostgreSQL to answer a query before failing it with \"database unavailable\" (creating a vector index and migrating are not bounded)"}, "db-query-timeout", false,
			func(c *Config, v string) error { d, err := parseDuration(v); c.DBQueryTimeout = d; return err }},
		{EnvVar{Name: "SAGE_AUDIT_RETENTION_DAYS", Default: strconv.Itoa(DefaultAuditRetentionDays), Description: "days the injection audit (the context given to prompts; sage_manage injections) is kept"}, "audit-retention-days", false,
			func(c *Config, v string) error { n, err := parseInt(v); c.AuditRetentionDays = n; return err }},
		{EnvVar{Name: "SAGE_AUDIT_MAX_ROWS", Default: strconv.Itoa(DefaultAuditMaxRows), Description: "most injection audit records kept (older ones are pruned every 10 minutes)"}, "audit-max-rows", false,
			func(c *Config, v string) error { n, err := parseInt(v); c.AuditMaxRows = n; return err }},
	}
}

// EnvConfig names the optional configuration file (KEY=VALUE lines, # comments).
const EnvConfig = "SAGE_DAEMON_CONFIG"

// EnvVars lists every environment variable the daemon reads, with its
// default ("" when none) and a description.
func EnvVars() []EnvVar {
	out := []EnvVar{{Name: EnvConfig, Description: "optional file of KEY=VALUE lines (the variables below); the environment wins over it, flags win over both"}}
	for _, s := range specs() {
		ev := s.EnvVar
		ev.Secret = s.secret
		out = append(out, ev)
	}
	return out
}

// Default returns the configuration with every default applied.
func Default() Config {
	var c Config
	for _, s := range specs() {
		if s.Default != "" {
			_ = s.set(&c, s.Default)
		}
	}
	return c
}

// Load fills a Config from defaults, the file named by SAGE_DAEMON_CONFIG or
// --config, the environment (getenv; nil means os.Getenv) and the flags in
// args, in rising precedence. It returns the arguments left after the flags.
// It does not validate.
func Load(fs *flag.FlagSet, args []string, getenv func(string) string) (Config, []string, error) {
	if getenv == nil {
		getenv = os.Getenv
	}
	c := Default()
	all := specs()
	flagVals := make(map[string]*string, len(all))
	for _, s := range all {
		usage := s.Description + " (env " + s.Name + ")"
		flagVals[s.flag] = fs.String(s.flag, "", usage)
	}
	file := fs.String("config", "", "file of KEY=VALUE lines (env "+EnvConfig+")")
	if err := fs.Parse(args); err != nil {
		return c, nil, err
	}
	path := *file
	if path == "" {
		path = getenv(EnvConfig)
	}
	fileVals := map[string]string{}
	if path != "" {
		var err error
		if fileVals, err = ReadFile(path); err != nil {
			return c, nil, err
		}
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	for _, s := range all {
		v, ok := fileVals[s.Name]
		if e := getenv(s.Name); e != "" {
			v, ok = e, true
		}
		if set[s.flag] {
			v, ok = *flagVals[s.flag], true
		}
		if !ok {
			continue
		}
		if err := s.set(&c, strings.TrimSpace(v)); err != nil {
			return c, nil, fmt.Errorf("config: %s: %w", s.Name, err)
		}
	}
	return c, fs.Args(), nil
}

// ReadFile reads a configuration file of KEY=VALUE lines, a .env file as
// Docker Compose reads it (shared/dotenv).
func ReadFile(path string) (map[string]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("config: read file: %w", err)
	}
	defer f.Close()
	return Parse(f, path)
}

// Parse reads KEY=VALUE lines from r (name is used in messages) with
// Docker Compose's .env rules (shared/dotenv: # comments, "export "
// prefixes, quotes and escapes); an unknown key is an error, and a bare KEY
// (which Compose takes from the environment) is left to the environment.
func Parse(r io.Reader, name string) (map[string]string, error) {
	known := map[string]bool{}
	for _, s := range specs() {
		known[s.Name] = true
	}
	b, err := io.ReadAll(io.LimitReader(r, dotenv.MaxSize+1))
	if err != nil {
		return nil, fmt.Errorf("config: read file: %w", err)
	}
	vars, err := dotenv.Parse(b, func(k string) (string, bool) {
		if !known[k] {
			return "", true // reported below
		}
		return "", false
	})
	if err != nil {
		return nil, fmt.Errorf("config: %s: %w", name, err)
	}
	out := map[string]string{}
	for _, v := range vars {
		if !known[v.Key] {
			return nil, fmt.Errorf("config: %s:%d: unknown variable %s", name, v.Line, v.Key)
		}
		out[v.Key] = v.Value
	}
	return out, nil
}

// Validate reports every problem of c, naming the variable to fix.
func (c Config) Validate() error {
	var errs []error
	if c.DatabaseURL == "" {
		errs = append(errs, errors.New("SAGE_DATABASE_URL is required (for example postgres://sage:secret@localhost:5432/sage?sslmode=disable)"))
	} else if u, err := url.Parse(c.DatabaseURL); err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
		errs = append(errs, errors.New("SAGE_DATABASE_URL must be a postgres:// URL"))
	}
	if _, _, err := net.SplitHostPort(c.Listen); err != nil {
		errs = append(errs, fmt.Errorf("SAGE_LISTEN %q: want host:port, like 127.0.0.1:17800 or 0.0.0.0:17800", c.Listen))
	}
	if c.ConsoleListen != "" {
		if _, port, err := net.SplitHostPort(c.ConsoleListen); err != nil {
			errs = append(errs, fmt.Errorf("SAGE_CONSOLE_LISTEN %q: want host:port, like 127.0.0.1:17801, or off", c.ConsoleListen))
		} else if c.ConsoleListen == c.Listen && port != "0" {
			errs = append(errs, fmt.Errorf("SAGE_CONSOLE_LISTEN %q: must differ from SAGE_LISTEN", c.ConsoleListen))
		}
	}
	if c.Token != "" && len(c.Token) < 16 {
		errs = append(errs, errors.New("SAGE_TOKEN must be at least 16 characters"))
	}
	if strings.ContainsAny(c.Token, " \t\r\n") {
		errs = append(errs, errors.New("SAGE_TOKEN must not contain white space"))
	}
	if c.PublicURL != "" {
		if u, err := url.Parse(c.PublicURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			errs = append(errs, fmt.Errorf("SAGE_PUBLIC_URL %q: want an absolute http(s) URL", c.PublicURL))
		}
	}
	for _, o := range c.AllowedOrigins {
		if u, err := url.Parse(o); err != nil || u.Scheme == "" || u.Host == "" || (u.Path != "" && u.Path != "/") {
			errs = append(errs, fmt.Errorf("SAGE_ALLOWED_ORIGINS: %q is not an origin (scheme://host[:port])", o))
		}
	}
	switch c.Metrics {
	case MetricsLoopback, MetricsPublic, MetricsToken:
	default:
		errs = append(errs, fmt.Errorf("SAGE_METRICS %q: want loopback, public or token", c.Metrics))
	}
	if _, err := c.Level(); err != nil {
		errs = append(errs, err)
	}
	if c.LogFormat != "text" && c.LogFormat != "json" {
		errs = append(errs, fmt.Errorf("SAGE_LOG_FORMAT %q: want text or json", c.LogFormat))
	}
	if c.ShutdownTimeout <= 0 {
		errs = append(errs, errors.New("SAGE_SHUTDOWN_TIMEOUT must be positive"))
	}
	if c.ReadTimeout <= 0 {
		errs = append(errs, errors.New("SAGE_READ_TIMEOUT must be positive"))
	}
	if c.MaxConnections < 1 {
		errs = append(errs, errors.New("SAGE_MAX_CONNECTIONS must be at least 1"))
	}
	if c.DBQueryTimeout <= 0 {
		errs = append(errs, errors.New("SAGE_DB_QUERY_TIMEOUT must be positive"))
	}
	if c.AuditRetentionDays < 1 {
		errs = append(errs, errors.New("SAGE_AUDIT_RETENTION_DAYS must be at least 1"))
	}
	if c.AuditMaxRows < 1 {
		errs = append(errs, errors.New("SAGE_AUDIT_MAX_ROWS must be at least 1"))
	}
	if c.MaxSessions < 1 {
		errs = append(errs, errors.New("SAGE_MAX_SESSIONS must be at least 1"))
	}
	if err := c.Embed.Validate(); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// Level returns the slog level of LogLevel.
func (c Config) Level() (slog.Level, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(c.LogLevel)); err != nil {
		return 0, fmt.Errorf("SAGE_LOG_LEVEL %q: want debug, info, warn or error", c.LogLevel)
	}
	return l, nil
}

// ResolvedDataDir returns DataDir, or the default: the user config
// directory + /sage-daemon.
func (c Config) ResolvedDataDir() (string, error) {
	if c.DataDir != "" {
		return c.DataDir, nil
	}
	dir, err := os.UserConfigDir()
	if err != nil {
		return "", fmt.Errorf("data dir: set SAGE_DATA_DIR: %w", err)
	}
	return filepath.Join(dir, "sage-daemon"), nil
}

// LocalURL returns the URL at which this host reaches Listen, for the
// healthcheck: a wildcard host becomes 127.0.0.1.
func (c Config) LocalURL() string {
	host, port, err := net.SplitHostPort(c.Listen)
	if err != nil {
		return "http://" + c.Listen
	}
	if host == "" || host == "0.0.0.0" || host == "::" {
		host = "127.0.0.1"
	}
	return "http://" + net.JoinHostPort(host, port)
}

// Secrets returns the configured secret values, to be kept out of logs.
func (c Config) Secrets() []string {
	var out []string
	for _, v := range []string{c.Token, c.Embed.APIKey} {
		if v != "" {
			out = append(out, v)
		}
	}
	if u, err := url.Parse(c.DatabaseURL); err == nil {
		if p, ok := u.User.Password(); ok && p != "" {
			out = append(out, p)
		}
	}
	return out
}

func splitList(v string) []string {
	var out []string
	for _, p := range strings.Split(v, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

func parseBool(v string) (bool, error) {
	switch strings.ToLower(v) {
	case "1", "true", "on", "yes":
		return true, nil
	case "0", "false", "off", "no":
		return false, nil
	}
	return false, fmt.Errorf("%q: want on or off", v)
}

func parseInt(v string) (int, error) {
	return parseOptional(v, strconv.Atoi, "a whole number")
}

func parseDuration(v string) (time.Duration, error) {
	return parseOptional(v, time.ParseDuration, "a duration like 30s")
}

// parseOptional parses v with parse; empty is T's zero value, and a value
// parse refuses is an error that says what it wants.
func parseOptional[T any](v string, parse func(string) (T, error), want string) (T, error) {
	var zero T
	if v == "" {
		return zero, nil
	}
	x, err := parse(v)
	if err != nil {
		return zero, fmt.Errorf("%q: want %s", v, want)
	}
	return x, nil
}
