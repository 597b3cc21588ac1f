// Package config is the client configuration of Sage: the file the installer
// writes at os.UserConfigDir()/sage/config.json and that sage-bridge (serve,
// hooks, doctor, sage_manage) reads, and the resolution of the effective
// settings with precedence flags > environment > file > defaults.
//
// The file is JSON:
//
//	{
//	  "url": "http://127.0.0.1:17800/mcp",
//	  "token": "…",            // or
//	  "token_file": "/path/to/token",
//	  "hooks": {"inject": true, "max_chars": 8000, "timeout_ms": 2000},
//	  "compose_dir": "/srv/sage"   // the bridge service's docker compose up
//	}
//
// Fields this version does not know are kept when the file is rewritten.
package config

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/sage-mcp/sage/shared/atomicfile"
)

// Environment variables read by Resolve, Path and CacheDir.
const (
	EnvURL       = "SAGE_URL"
	EnvToken     = "SAGE_TOKEN"
	EnvTokenFile = "SAGE_TOKEN_FILE"
	EnvConfig    = "SAGE_CONFIG"
	// EnvCacheDir moves all of the bridge's local files: hook state, the
	// outbox and the hook log.
	EnvCacheDir = "SAGE_CACHE_DIR"
)

// Defaults.
const (
	// DefaultURL is the daemon's MCP endpoint when nothing else is configured.
	DefaultURL = "http://127.0.0.1:17800/mcp"
	// DefaultHooksInject is whether the prompt hook injects recalled context.
	DefaultHooksInject = true
	// DefaultHooksMaxChars bounds the context a hook injects.
	DefaultHooksMaxChars = 8000
	// DefaultHooksTimeout is the time budget of one hook run, the only
	// default of it (the hooks use it as is). 1.5 s keeps all hooks of one
	// prompt with a hung daemon within 2 s: the prompt hook's 1.5 s, then
	// 200 ms for the next ones (see bridge/hook's SuspectBudget).
	DefaultHooksTimeout = 1500 * time.Millisecond
)

// Limits.
const (
	// MaxFileSize is the largest config file Parse accepts.
	MaxFileSize = 1 << 20
	// MaxTokenSize is the largest token (or token file) accepted.
	MaxTokenSize = 16 << 10
)

// ErrInvalid marks a config file or setting that is malformed.
var ErrInvalid = errors.New("invalid config")

// Hooks is the "hooks" object of the file. Nil or zero fields mean "use the
// default".
type Hooks struct {
	// Inject: whether the prompt hook injects recalled context.
	Inject *bool `json:"inject,omitempty"`
	// MaxChars bounds the injected context.
	MaxChars int `json:"max_chars,omitempty"`
	// TimeoutMS bounds one hook's call to the daemon, in milliseconds.
	TimeoutMS int `json:"timeout_ms,omitempty"`

	extra map[string]json.RawMessage
}

// File is the content of config.json. Unknown fields, at the top level and
// inside "hooks", survive a Parse/Marshal round trip.
type File struct {
	// URL is the daemon's MCP endpoint.
	URL string `json:"url,omitempty"`
	// Token is the bearer token, inline.
	Token string `json:"token,omitempty"`
	// TokenFile names a file holding the token (used when Token is empty).
	TokenFile string `json:"token_file,omitempty"`
	// Hooks configures the Claude Code hooks.
	Hooks Hooks `json:"hooks,omitzero"`
	// ComposeDir is where the bridge service runs "docker compose up -d"
	// at start (an absolute path; "" for none).
	ComposeDir string `json:"compose_dir,omitempty"`

	extra map[string]json.RawMessage
}

var (
	fileKeys  = []string{"url", "token", "token_file", "hooks", "compose_dir"}
	hooksKeys = []string{"inject", "max_chars", "timeout_ms"}
)

// plainHooks and plainFile are Hooks and File without their JSON methods.
type (
	plainHooks Hooks
	plainFile  File
)

// UnmarshalJSON decodes the known fields and keeps the others.
func (h *Hooks) UnmarshalJSON(data []byte) error {
	return unmarshalKeeping(data, hooksKeys, (*plainHooks)(h), &h.extra)
}

// MarshalJSON encodes the known fields followed by the kept unknown ones.
func (h Hooks) MarshalJSON() ([]byte, error) { return mergeJSON(plainHooks(h), h.extra) }

// UnmarshalJSON decodes the known fields and keeps the others.
func (f *File) UnmarshalJSON(data []byte) error {
	return unmarshalKeeping(data, fileKeys, (*plainFile)(f), &f.extra)
}

// MarshalJSON encodes the known fields followed by the kept unknown ones.
func (f File) MarshalJSON() ([]byte, error) { return mergeJSON(plainFile(f), f.extra) }

// unmarshalKeeping decodes data into *v, replacing it whole, and sets *extra
// to the members that are not among the known keys. On error *v and *extra
// are left as they were.
func unmarshalKeeping[P any](data []byte, known []string, v *P, extra *map[string]json.RawMessage) error {
	var p P
	if err := json.Unmarshal(data, &p); err != nil {
		return err
	}
	unknown, err := unknownFields(data, known)
	if err != nil {
		return err
	}
	*v, *extra = p, unknown
	return nil
}

func unknownFields(data []byte, known []string) (map[string]json.RawMessage, error) {
	var all map[string]json.RawMessage
	if err := json.Unmarshal(data, &all); err != nil {
		return nil, err
	}
	for _, k := range known {
		delete(all, k)
	}
	if len(all) == 0 {
		return nil, nil
	}
	return all, nil
}

func mergeJSON(v any, extra map[string]json.RawMessage) ([]byte, error) {
	b, err := json.Marshal(v)
	if err != nil || len(extra) == 0 {
		return b, err
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, err
	}
	for k, raw := range extra {
		if _, ok := m[k]; !ok {
			m[k] = raw
		}
	}
	return json.Marshal(m)
}

// Parse decodes a config file. It rejects input over MaxFileSize, anything
// but one JSON object, and wrongly typed known fields.
func Parse(data []byte) (*File, error) {
	if len(data) > MaxFileSize {
		return nil, fmt.Errorf("parse config: %w: file is %d bytes, limit %d", ErrInvalid, len(data), MaxFileSize)
	}
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf")) // editors on Windows add a BOM
	if len(bytes.TrimSpace(data)) == 0 {
		return &File{}, nil
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	var f File
	if err := dec.Decode(&f); err != nil {
		return nil, fmt.Errorf("parse config: %w: %v", ErrInvalid, err)
	}
	if dec.More() {
		return nil, fmt.Errorf("parse config: %w: trailing data after the JSON object", ErrInvalid)
	}
	if f.Hooks.MaxChars < 0 {
		return nil, fmt.Errorf("parse config: %w: hooks.max_chars must not be negative", ErrInvalid)
	}
	if f.Hooks.TimeoutMS < 0 {
		return nil, fmt.Errorf("parse config: %w: hooks.timeout_ms must not be negative", ErrInvalid)
	}
	return &f, nil
}

// Marshal encodes f as indented JSON with a trailing newline.
func (f *File) Marshal() ([]byte, error) {
	b, err := json.MarshalIndent(f, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("marshal config: %w", err)
	}
	return append(b, '\n'), nil
}

// Path is the config file's location: $SAGE_CONFIG when set, otherwise
// os.UserConfigDir()/sage/config.json.
func Path() (string, error) {
	return PathFrom(os.Getenv)
}

// PathFrom is Path with the environment given by getenv.
func PathFrom(getenv func(string) string) (string, error) {
	return userPath(getenv, EnvConfig, os.UserConfigDir, "config path", "config.json")
}

// CacheDir is the root of the bridge's local files (hook state, outbox,
// hook log): $SAGE_CACHE_DIR when set, otherwise os.UserCacheDir()/sage.
func CacheDir(getenv func(string) string) (string, error) {
	return userPath(getenv, EnvCacheDir, os.UserCacheDir, "cache dir")
}

// userPath is the value of the environment variable env when set, otherwise
// elem under the "sage" directory in the user directory base gives; what
// names it in an error.
func userPath(getenv func(string) string, env string, base func() (string, error), what string, elem ...string) (string, error) {
	if p := getenv(env); p != "" {
		return p, nil
	}
	dir, err := base()
	if err != nil {
		return "", fmt.Errorf("%s: %w", what, err)
	}
	return filepath.Join(append([]string{dir, "sage"}, elem...)...), nil
}

// Load reads and parses the file at path. A missing file is an error that
// matches fs.ErrNotExist; LoadOptional treats it as empty.
func Load(path string) (*File, error) {
	b, err := readLimited(path, MaxFileSize)
	if err != nil {
		return nil, fmt.Errorf("load config: %w", err)
	}
	f, err := Parse(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return f, nil
}

// LoadOptional is Load that returns an empty File when path does not exist.
func LoadOptional(path string) (*File, error) {
	f, err := Load(path)
	if errors.Is(err, fs.ErrNotExist) {
		return &File{}, nil
	}
	return f, err
}

// Save writes f to path atomically (temporary file, fsync, rename) with mode
// 0600, creating the directory with mode 0700 when needed.
func Save(path string, f *File) error {
	b, err := f.Marshal()
	if err != nil {
		return err
	}
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("save config: %w", err)
	}
	if err := atomicfile.Write(path, b, 0o600); err != nil {
		return fmt.Errorf("save config: %w", err)
	}
	return nil
}

func readLimited(path string, limit int64) ([]byte, error) {
	fh, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer fh.Close()
	b, err := io.ReadAll(io.LimitReader(fh, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > limit {
		return nil, fmt.Errorf("%s: %w: larger than %d bytes", path, ErrInvalid, limit)
	}
	return b, nil
}

// Flags are the command-line settings; empty means "not given".
type Flags struct {
	URL       string
	Token     string
	TokenFile string
}

// Config is the effective client configuration.
type Config struct {
	// URL is the daemon's MCP endpoint.
	URL string
	// URLSource tells where URL came from ("flag --url", "env SAGE_URL",
	// "config file", "default").
	URLSource string
	// Token is the bearer token; empty means none. Never log it.
	Token string
	// TokenSource tells where the token came from, without its value.
	TokenSource string
	// FilePath is the config file consulted (it may not exist).
	FilePath string

	// HooksInject, HooksMaxChars and HooksTimeout are the hooks settings
	// with defaults applied.
	HooksInject   bool
	HooksMaxChars int
	HooksTimeout  time.Duration
	// ComposeDir is the file's compose_dir, as written.
	ComposeDir string
}

// Resolve merges flags, the environment (getenv; nil means none) and the
// file (nil means none) with precedence flags > env > file > defaults, reads
// a token file when that is the winning token source, and validates the
// result.
func Resolve(flags Flags, getenv func(string) string, file *File) (Config, error) {
	if getenv == nil {
		getenv = func(string) string { return "" }
	}
	if file == nil {
		file = &File{}
	}
	c := Config{
		URL: DefaultURL, URLSource: "default",
		TokenSource:   "none",
		HooksInject:   DefaultHooksInject,
		HooksMaxChars: DefaultHooksMaxChars,
		HooksTimeout:  DefaultHooksTimeout,
	}
	switch {
	case flags.URL != "":
		c.URL, c.URLSource = flags.URL, "flag --url"
	case getenv(EnvURL) != "":
		c.URL, c.URLSource = getenv(EnvURL), "env "+EnvURL
	case file.URL != "":
		c.URL, c.URLSource = file.URL, "config file"
	}
	c.URL = strings.TrimSpace(c.URL)

	type src struct{ token, tokenFile, name string }
	for _, s := range []src{
		{flags.Token, flags.TokenFile, "flag"},
		{getenv(EnvToken), getenv(EnvTokenFile), "env"},
		{file.Token, file.TokenFile, "config file"},
	} {
		if s.token != "" {
			c.Token = strings.TrimSpace(s.token)
			switch s.name {
			case "flag":
				c.TokenSource = "flag --token"
			case "env":
				c.TokenSource = "env " + EnvToken
			default:
				c.TokenSource = "config file (token)"
			}
			break
		}
		if s.tokenFile != "" {
			tok, err := ReadTokenFile(s.tokenFile)
			if err != nil {
				return c, err
			}
			c.Token = tok
			switch s.name {
			case "flag":
				c.TokenSource = "flag --token-file " + s.tokenFile
			case "env":
				c.TokenSource = "env " + EnvTokenFile + "=" + s.tokenFile
			default:
				c.TokenSource = "config file (token_file " + s.tokenFile + ")"
			}
			break
		}
	}

	if file.Hooks.Inject != nil {
		c.HooksInject = *file.Hooks.Inject
	}
	if file.Hooks.MaxChars > 0 {
		c.HooksMaxChars = file.Hooks.MaxChars
	}
	if file.Hooks.TimeoutMS > 0 {
		c.HooksTimeout = time.Duration(file.Hooks.TimeoutMS) * time.Millisecond
	}
	c.ComposeDir = file.ComposeDir
	return c, c.Validate()
}

// ReadTokenFile reads a token from path, trimming surrounding whitespace.
// Errors never contain the file's content.
func ReadTokenFile(path string) (string, error) {
	b, err := readLimited(path, MaxTokenSize)
	if err != nil {
		return "", fmt.Errorf("read token file: %w", err)
	}
	tok := strings.TrimSpace(string(b))
	if tok == "" {
		return "", fmt.Errorf("read token file %s: %w: file is empty", path, ErrInvalid)
	}
	return tok, nil
}

// Validate checks that the URL is an absolute http(s) URL without embedded
// credentials and that the token is a single printable line.
func (c Config) Validate() error {
	u, err := url.Parse(c.URL)
	if err != nil {
		return fmt.Errorf("%w: url (from %s): %v", ErrInvalid, c.URLSource, err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return fmt.Errorf("%w: url %q (from %s) must start with http:// or https://", ErrInvalid, c.URL, c.URLSource)
	}
	if u.Host == "" {
		return fmt.Errorf("%w: url %q (from %s) has no host", ErrInvalid, c.URL, c.URLSource)
	}
	if u.User != nil {
		return fmt.Errorf("%w: url (from %s) must not contain credentials; use a token", ErrInvalid, c.URLSource)
	}
	if len(c.Token) > MaxTokenSize {
		return fmt.Errorf("%w: token (from %s) is longer than %d bytes", ErrInvalid, c.TokenSource, MaxTokenSize)
	}
	for _, r := range c.Token {
		if r < 0x21 || r > 0x7e {
			return fmt.Errorf("%w: token (from %s) contains whitespace or non-printable characters", ErrInvalid, c.TokenSource)
		}
	}
	return nil
}

// BaseURL is the daemon's base URL for REST calls: the MCP URL without a
// trailing "/mcp" path element (and without query or fragment).
func (c Config) BaseURL() string { return BaseURL(c.URL) }

// BaseURL strips a trailing "/mcp" (or "/mcp/") path element, the query and
// the fragment from an MCP endpoint URL: "http://h:17800/mcp" gives
// "http://h:17800".
func BaseURL(mcpURL string) string {
	u, err := url.Parse(mcpURL)
	if err != nil {
		return strings.TrimSuffix(strings.TrimSuffix(mcpURL, "/"), "/mcp")
	}
	u.RawQuery, u.Fragment, u.RawFragment = "", "", ""
	p := strings.TrimSuffix(u.Path, "/")
	p = strings.TrimSuffix(p, "/mcp")
	u.Path, u.RawPath = p, ""
	return strings.TrimSuffix(u.String(), "/")
}
