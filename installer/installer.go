package installer

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"

	"github.com/sage-mcp/sage/installer/claude"
	"github.com/sage-mcp/sage/shared/config"
)

// Environment variables Options reads (flags win over them).
const (
	EnvBinDir     = "SAGE_BIN_DIR"
	EnvClaude     = "SAGE_CLAUDE"
	EnvComposeDir = "SAGE_COMPOSE_DIR"
	EnvEnvFile    = "SAGE_ENV_FILE"
	// EnvCacheDir and EnvOutboxDir are the bridge's: uninstall --purge
	// removes what they point at.
	EnvCacheDir  = "SAGE_CACHE_DIR"
	EnvOutboxDir = "SAGE_OUTBOX_DIR"
)

// ClaudeNone as --claude means: do not use the claude CLI, edit
// ~/.claude.json directly.
const ClaudeNone = "none"

// Binary names.
const (
	BridgeName = "sage-bridge"
	ManageName = "sage_manage"
)

// Options are sage-installer's settings. Defaults fills the empty ones.
type Options struct {
	// Home is the user's home directory.
	Home string
	// GOOS is the target operating system (runtime.GOOS).
	GOOS string
	// BinDir receives sage-bridge and sage_manage.
	BinDir string
	// Bridge is the sage-bridge binary to install; default: beside the
	// installer.
	Bridge string
	// URL is the daemon's MCP endpoint (a base URL gets "/mcp").
	URL string
	// Token, TokenFile and EnvFile (key SAGE_TOKEN) are the token sources,
	// at most one of them. TokenFile is written into the config as a path;
	// the others as the token.
	Token, TokenFile, EnvFile string
	// Mode is claude.ModeStdio or claude.ModeHTTP.
	Mode string
	// Claude is the claude CLI ("" = look on PATH, ClaudeNone = edit
	// ~/.claude.json).
	Claude string
	// NoService skips the user service; NoHooks skips settings.json.
	NoService, NoHooks bool
	// ComposeDir, when set, makes the service run "docker compose up -d" there.
	ComposeDir string
	// DryRun prints the plan and changes nothing.
	DryRun bool
	// Purge (uninstall) also deletes the backups.
	Purge bool
	// ConfigPath is the client config file (shared/config.Path()).
	ConfigPath string
	// StateDir holds the manifest and the backups.
	StateDir string
	// ClaudePaths are Claude Code's files.
	ClaudePaths claude.Paths
	// CacheDir is Sage's local cache, where the bridge and its hooks keep
	// the outbox, hook.log and their state: $SAGE_CACHE_DIR, else the user
	// cache directory's "sage" (~/.cache/sage on Linux).
	CacheDir string
	// OutboxDir is the outbox of undelivered turns: $SAGE_OUTBOX_DIR, else
	// CacheDir/outbox.
	OutboxDir string
}

// Defaults fills empty fields from the environment (getenv) and the
// platform's conventions. home is the user's home directory.
func (o *Options) Defaults(home string, getenv func(string) string) error {
	if o.GOOS == "" {
		o.GOOS = runtime.GOOS
	}
	if o.Home == "" {
		o.Home = home
	}
	set := func(p *string, env string) {
		if *p == "" {
			*p = getenv(env)
		}
	}
	set(&o.BinDir, EnvBinDir)
	set(&o.URL, config.EnvURL)
	set(&o.Claude, EnvClaude)
	set(&o.ComposeDir, EnvComposeDir)
	if o.Token == "" && o.TokenFile == "" && o.EnvFile == "" {
		set(&o.Token, config.EnvToken)
		set(&o.TokenFile, config.EnvTokenFile)
		if o.Token == "" && o.TokenFile == "" {
			set(&o.EnvFile, EnvEnvFile)
		}
	}
	if o.BinDir == "" {
		if o.GOOS == "windows" {
			local := getenv("LOCALAPPDATA")
			if local == "" {
				local = filepath.Join(o.Home, "AppData", "Local")
			}
			o.BinDir = filepath.Join(local, "Programs", "Sage")
		} else {
			o.BinDir = filepath.Join(o.Home, ".local", "bin")
		}
	}
	if o.URL == "" {
		o.URL = config.DefaultURL
	}
	o.URL = MCPURL(o.URL)
	if o.Mode == "" {
		o.Mode = claude.ModeStdio
	}
	if o.ConfigPath == "" {
		p, err := config.PathFrom(getenv)
		if err != nil {
			return err
		}
		o.ConfigPath = p
	}
	if o.StateDir == "" {
		o.StateDir = filepath.Join(filepath.Dir(o.ConfigPath), "installer")
	}
	if o.ClaudePaths == (claude.Paths{}) {
		o.ClaudePaths = claude.DefaultPaths(o.Home, getenv)
	}
	if o.CacheDir == "" {
		o.CacheDir = getenv(EnvCacheDir)
	}
	if o.CacheDir == "" {
		o.CacheDir = filepath.Join(userCacheDir(o.GOOS, o.Home, getenv), "sage")
	}
	if o.OutboxDir == "" {
		o.OutboxDir = getenv(EnvOutboxDir)
	}
	if o.OutboxDir == "" {
		o.OutboxDir = filepath.Join(o.CacheDir, "outbox")
	}
	for _, p := range []*string{&o.BinDir, &o.Bridge, &o.TokenFile, &o.EnvFile, &o.ComposeDir, &o.CacheDir, &o.OutboxDir} {
		if *p != "" && *p != ClaudeNone {
			abs, err := filepath.Abs(*p)
			if err != nil {
				return err
			}
			*p = abs
		}
	}
	return nil
}

// userCacheDir is os.UserCacheDir for goos, home and getenv.
func userCacheDir(goos, home string, getenv func(string) string) string {
	switch goos {
	case "windows":
		if d := getenv("LocalAppData"); d != "" {
			return d
		}
		return filepath.Join(home, "AppData", "Local")
	case "darwin", "ios":
		return filepath.Join(home, "Library", "Caches")
	}
	if d := getenv("XDG_CACHE_HOME"); filepath.IsAbs(d) {
		return d
	}
	return filepath.Join(home, ".cache")
}

// CountOutbox counts the turns waiting in the outbox dir (pending) and those
// set aside in its quarantine subdirectory. A missing outbox holds none.
func CountOutbox(dir string) (pending, quarantined int, err error) {
	count := func(d string) (int, error) {
		des, err := os.ReadDir(d)
		if errors.Is(err, fs.ErrNotExist) {
			return 0, nil
		}
		if err != nil {
			return 0, fmt.Errorf("read outbox: %w", err)
		}
		n := 0
		for _, de := range des {
			if name := de.Name(); de.Type().IsRegular() && strings.HasSuffix(name, ".json") && !strings.HasPrefix(name, ".") {
				n++
			}
		}
		return n, nil
	}
	if pending, err = count(dir); err != nil {
		return 0, 0, err
	}
	quarantined, err = count(filepath.Join(dir, "quarantine"))
	return pending, quarantined, err
}

// Validate checks the options.
func (o *Options) Validate() error {
	var errs []error
	if o.Home == "" {
		errs = append(errs, errors.New("no home directory"))
	}
	n := 0
	for _, s := range []string{o.Token, o.TokenFile, o.EnvFile} {
		if s != "" {
			n++
		}
	}
	if n > 1 {
		errs = append(errs, errors.New("give at most one of --token, --token-file and --env-file"))
	}
	if o.Mode != claude.ModeStdio && o.Mode != claude.ModeHTTP {
		errs = append(errs, fmt.Errorf("--mode %q: want %s or %s", o.Mode, claude.ModeStdio, claude.ModeHTTP))
	}
	if err := (config.Config{URL: o.URL, URLSource: "--url", Token: o.Token, TokenSource: "--token"}).Validate(); err != nil {
		errs = append(errs, err)
	}
	if o.ComposeDir != "" && strings.Contains(o.ComposeDir, "{{") {
		errs = append(errs, errors.New(`--compose-dir must not contain "{{"`))
	}
	return errors.Join(errs...)
}

// MCPURL turns a daemon URL into its MCP endpoint: a base URL gets "/mcp".
func MCPURL(s string) string {
	s = strings.TrimSpace(s)
	u, err := url.Parse(s)
	if err != nil || u.Host == "" {
		return s
	}
	return config.BaseURL(s) + "/mcp"
}

// BridgePath is the installed sage-bridge.
func (o *Options) BridgePath() string { return filepath.Join(o.BinDir, o.exe(BridgeName)) }

// ManagePath is the installed sage_manage.
func (o *Options) ManagePath() string { return filepath.Join(o.BinDir, o.exe(ManageName)) }

// ManifestPath is the install manifest.
func (o *Options) ManifestPath() string { return filepath.Join(o.StateDir, "state.json") }

// OriginalConfigPath keeps the client config as it was before the first
// install changed it, for uninstall to put back (mode 0600: it may hold a
// token).
func (o *Options) OriginalConfigPath() string { return filepath.Join(o.StateDir, "config.json.orig") }

// BackupDir is where edited files are copied before each change.
func (o *Options) BackupDir() string { return filepath.Join(o.StateDir, "backups") }

func (o *Options) exe(name string) string {
	if o.GOOS == "windows" {
		return name + ".exe"
	}
	return name
}

// Manifest records what install did, so that uninstall undoes exactly that.
// It holds no secret.
type Manifest struct {
	// BinDir is where the binaries went.
	BinDir string `json:"bin_dir"`
	// Created lists the files and directories install created (they did
	// not exist before), sorted.
	Created []string `json:"created"`
	// CreatedJSON lists, per JSON file, the containers install added
	// ("mcpServers", "hooks", "hooks.Stop").
	CreatedJSON map[string][]string `json:"created_json,omitempty"`
	// Registration is how Sage was registered with Claude Code: "cli" or
	// "json", and Mode the server's mode.
	Registration string `json:"registration,omitempty"`
	Mode         string `json:"mode,omitempty"`
	// Service is true when install installed the user service.
	Service bool `json:"service"`
}

// WasCreated reports whether path is in Created.
func (m *Manifest) WasCreated(path string) bool { return slices.Contains(m.Created, path) }

// AddCreated adds paths to Created, keeping it sorted and unique.
func (m *Manifest) AddCreated(paths ...string) {
	for _, p := range paths {
		if !m.WasCreated(p) {
			m.Created = append(m.Created, p)
		}
	}
	slices.Sort(m.Created)
}

// AddCreatedJSON records containers created in file.
func (m *Manifest) AddCreatedJSON(file string, containers ...string) {
	if len(containers) == 0 {
		return
	}
	if m.CreatedJSON == nil {
		m.CreatedJSON = map[string][]string{}
	}
	for _, c := range containers {
		if !slices.Contains(m.CreatedJSON[file], c) {
			m.CreatedJSON[file] = append(m.CreatedJSON[file], c)
		}
	}
	slices.Sort(m.CreatedJSON[file])
}

// Marshal encodes the manifest, indented, with a final newline.
func (m *Manifest) Marshal() ([]byte, error) {
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(b, '\n'), nil
}

// ParseManifest decodes a manifest.
func ParseManifest(b []byte) (*Manifest, error) {
	var m Manifest
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("parse install manifest: %w", err)
	}
	return &m, nil
}

// Step is one change of a plan.
type Step struct {
	// Desc says what the step changes, for the user.
	Desc string
	// Do makes the change.
	Do func(ctx context.Context) error
	// Optional steps may fail without stopping the plan: the failure is
	// reported and the next step runs.
	Optional bool
}

// Plan is the list of changes a command will make, built before any of
// them is made so that bad input changes nothing.
type Plan struct {
	Steps []Step
	// Notes are things to tell the user that are not changes.
	Notes []string
	// Warnings are things the user must know before the changes are made
	// (printed first, on stderr).
	Warnings []string
}

// Add appends a step.
func (p *Plan) Add(desc string, do func(ctx context.Context) error) {
	p.Steps = append(p.Steps, Step{Desc: desc, Do: do})
}

// AddOptional appends a step whose failure does not stop the plan.
func (p *Plan) AddOptional(desc string, do func(ctx context.Context) error) {
	p.Steps = append(p.Steps, Step{Desc: desc, Do: do, Optional: true})
}

// Note appends a note.
func (p *Plan) Note(format string, args ...any) {
	p.Notes = append(p.Notes, fmt.Sprintf(format, args...))
}

// Warn appends a warning.
func (p *Plan) Warn(format string, args ...any) {
	p.Warnings = append(p.Warnings, fmt.Sprintf(format, args...))
}

// Print writes the plan without applying it.
func (p *Plan) Print(w io.Writer) {
	if len(p.Steps) == 0 {
		fmt.Fprintln(w, "nothing to change")
	}
	for _, s := range p.Steps {
		fmt.Fprintf(w, "would: %s\n", s.Desc)
	}
}

// FixError is a step failure whose message leads with what the user should
// do about it.
type FixError struct {
	// Fix says what to do.
	Fix string
	// Err is the failure.
	Err error
}

func (e *FixError) Error() string { return e.Fix + "\n  cause: " + e.Err.Error() }

// Unwrap returns Err.
func (e *FixError) Unwrap() error { return e.Err }

// Apply makes the changes in order, printing each, and stops at the first
// failure.
func (p *Plan) Apply(ctx context.Context, w io.Writer) error {
	if len(p.Steps) == 0 {
		fmt.Fprintln(w, "nothing to change")
	}
	for _, s := range p.Steps {
		if err := s.Do(ctx); err != nil {
			if s.Optional && ctx.Err() == nil {
				fmt.Fprintf(w, "failed (continuing): %s: %v\n", s.Desc, err)
				continue
			}
			var fe *FixError
			if errors.As(err, &fe) {
				return &FixError{Fix: fe.Fix, Err: fmt.Errorf("%s: %w", s.Desc, fe.Err)}
			}
			return fmt.Errorf("%s: %w", s.Desc, err)
		}
		fmt.Fprintf(w, "done: %s\n", s.Desc)
	}
	return nil
}

// Plural returns "1 turn", "2 turns", "0 turns".
func Plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmt.Sprintf("%d %s", n, many)
}
