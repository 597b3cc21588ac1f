// Package claude knows Claude Code's files and CLI as far as Sage needs them:
// where ~/.claude.json and settings.json live, the "sage" MCP server entry
// (stdio through sage-bridge, or direct HTTP to the daemon), registering it
// with the claude CLI or by editing ~/.claude.json, and merging Sage's hooks
// (shared/claudehooks) into settings.json and out again.
//
// Edits are pure functions from the old file's bytes to the new ones; the
// caller writes them (atomically, with a backup). Keys the edit does not
// concern keep their order and their exact values.
package claude

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/sage-mcp/sage/installer/jsonfile"
)

// ServerName is the MCP server name Sage registers.
const ServerName = "sage"

// EnvConfigDir is Claude Code's variable that moves its configuration
// directory (and with it .claude.json and settings.json).
const EnvConfigDir = "CLAUDE_CONFIG_DIR"

// Paths are Claude Code's user-level files.
type Paths struct {
	// ConfigJSON is ~/.claude.json (or $CLAUDE_CONFIG_DIR/.claude.json): user
	// scope MCP servers live under "mcpServers".
	ConfigJSON string
	// Settings is ~/.claude/settings.json (or $CLAUDE_CONFIG_DIR/settings.json):
	// hooks live under "hooks".
	Settings string
}

// DefaultPaths returns the paths for home and the environment.
func DefaultPaths(home string, getenv func(string) string) Paths {
	if d := getenv(EnvConfigDir); d != "" {
		return Paths{ConfigJSON: filepath.Join(d, ".claude.json"), Settings: filepath.Join(d, "settings.json")}
	}
	return Paths{
		ConfigJSON: filepath.Join(home, ".claude.json"),
		Settings:   filepath.Join(home, ".claude", "settings.json"),
	}
}

// Modes of registration.
const (
	ModeStdio = "stdio" // Claude Code launches sage-bridge
	ModeHTTP  = "http"  // Claude Code talks to the daemon's /mcp directly
)

// StdioServer is the "mcpServers" entry that launches sage-bridge, in the
// key order the claude CLI writes.
type StdioServer struct {
	Type    string            `json:"type"`
	Command string            `json:"command"`
	Args    []string          `json:"args"`
	Env     map[string]string `json:"env"`
}

// HTTPServer is the "mcpServers" entry for the daemon's MCP endpoint.
type HTTPServer struct {
	Type    string            `json:"type"`
	URL     string            `json:"url"`
	Headers map[string]string `json:"headers,omitempty"`
}

// Entry returns the "mcpServers.sage" value for mode: bridgePath for stdio,
// mcpURL and token (may be empty) for http.
func Entry(mode, bridgePath, mcpURL, token string) (json.RawMessage, error) {
	switch mode {
	case ModeStdio:
		return jsonfile.Marshal(StdioServer{Type: "stdio", Command: bridgePath, Args: []string{}, Env: map[string]string{}})
	case ModeHTTP:
		s := HTTPServer{Type: "http", URL: mcpURL}
		if token != "" {
			s.Headers = map[string]string{"Authorization": "Bearer " + token}
		}
		return jsonfile.Marshal(s)
	}
	return nil, fmt.Errorf("unknown mode %q (want %s or %s)", mode, ModeStdio, ModeHTTP)
}

// Doc is a parsed JSON document and the style to write it back in. A file
// that does not exist is an empty Doc with Exists false.
type Doc struct {
	Root   *jsonfile.Object
	Style  jsonfile.Style
	Exists bool
	Raw    []byte
}

// ReadDoc reads and parses path. A missing file gives an empty Doc; a file
// that is not a JSON object is an error that names it and matches
// jsonfile.ErrMalformed.
func ReadDoc(path string) (*Doc, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return &Doc{Root: jsonfile.NewObject(), Style: jsonfile.DefaultStyle}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	return ParseDoc(path, b)
}

// ParseDoc parses the content b of path.
func ParseDoc(path string, b []byte) (*Doc, error) {
	if len(bytes.TrimSpace(b)) == 0 {
		return &Doc{Root: jsonfile.NewObject(), Style: jsonfile.DefaultStyle, Exists: true, Raw: b}, nil
	}
	root, err := jsonfile.ParseObject(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w; fix or move the file, then run again (nothing was changed)", path, err)
	}
	return &Doc{Root: root, Style: jsonfile.DetectStyle(b), Exists: true, Raw: b}, nil
}

// Bytes formats the document: an existing file keeps the bytes of every
// top-level member the installer did not change (jsonfile.Splice).
func (d *Doc) Bytes() ([]byte, error) {
	if d.Exists && len(bytes.TrimSpace(d.Raw)) > 0 {
		return jsonfile.Splice(d.Raw, d.Root, d.Style)
	}
	return jsonfile.Format(d.Root, d.Style)
}

// Server returns mcpServers[name].
func Server(d *Doc, name string) (json.RawMessage, bool, error) {
	servers, ok, err := d.Root.Object("mcpServers")
	if err != nil || !ok {
		return nil, false, err
	}
	v, ok := servers.Get(name)
	return v, ok, nil
}

// SetServer sets mcpServers[name] = entry. It reports whether anything
// changed and whether it had to create "mcpServers".
func SetServer(d *Doc, name string, entry json.RawMessage) (changed, createdContainer bool, err error) {
	servers, ok, err := d.Root.Object("mcpServers")
	if err != nil {
		return false, false, err
	}
	if !ok {
		servers, createdContainer = jsonfile.NewObject(), true
	}
	if old, ok := servers.Get(name); ok && jsonfile.Equal(old, entry) {
		return false, false, nil
	}
	servers.Set(name, entry)
	if err := d.Root.SetValue("mcpServers", servers); err != nil {
		return false, false, err
	}
	return true, createdContainer, nil
}

// RemoveServer deletes mcpServers[name]; when "mcpServers" is left empty and
// dropEmpty is true, it goes too. It reports whether anything changed.
func RemoveServer(d *Doc, name string, dropEmpty bool) (bool, error) {
	servers, ok, err := d.Root.Object("mcpServers")
	if err != nil || !ok {
		return false, err
	}
	if !servers.Delete(name) {
		return false, nil
	}
	if servers.Len() == 0 && dropEmpty {
		d.Root.Delete("mcpServers")
		return true, nil
	}
	return true, d.Root.SetValue("mcpServers", servers)
}

// CLI runs the claude command-line tool.
type CLI struct {
	// Path is the claude binary.
	Path string
	// Env is the child's environment; nil means the current one.
	Env []string
	// Timeout bounds one call; 0 means DefaultCLITimeout.
	Timeout time.Duration
}

// DefaultCLITimeout bounds one claude CLI call (mcp list checks the health
// of every server, which can take a while).
const DefaultCLITimeout = 2 * time.Minute

// FindCLI returns the claude binary: explicit when given (it must exist),
// otherwise "claude" on PATH; "" with no error when there is none.
func FindCLI(explicit string) (string, error) {
	if explicit != "" {
		p, err := exec.LookPath(explicit)
		if err != nil {
			return "", fmt.Errorf("claude CLI %s: %w", explicit, err)
		}
		return filepath.Abs(p)
	}
	p, err := exec.LookPath("claude")
	if err != nil {
		return "", nil
	}
	return filepath.Abs(p)
}

// Run runs claude with args and returns its combined output.
func (c CLI) Run(ctx context.Context, args ...string) (string, error) {
	t := c.Timeout
	if t == 0 {
		t = DefaultCLITimeout
	}
	ctx, cancel := context.WithTimeout(ctx, t)
	defer cancel()
	cmd := exec.CommandContext(ctx, c.Path, args...)
	cmd.Env = c.Env
	cmd.Stdin = nil
	out, err := cmd.CombinedOutput()
	if err != nil {
		return string(out), fmt.Errorf("claude %s: %w", strings.Join(Redact(args), " "), err)
	}
	return string(out), nil
}

// AddArgs are the claude CLI arguments that register Sage in user scope.
func AddArgs(mode, bridgePath, mcpURL, token string) []string {
	if mode == ModeHTTP {
		args := []string{"mcp", "add", "--scope", "user", "--transport", "http", ServerName, mcpURL}
		if token != "" {
			args = append(args, "--header", "Authorization: Bearer "+token)
		}
		return args
	}
	return []string{"mcp", "add", "--scope", "user", ServerName, "--", bridgePath}
}

// RemoveArgs are the claude CLI arguments that unregister Sage.
func RemoveArgs() []string { return []string{"mcp", "remove", "--scope", "user", ServerName} }

// Redact hides bearer tokens in a command line for printing.
func Redact(args []string) []string {
	out := make([]string, len(args))
	for i, a := range args {
		if j := strings.Index(a, "Bearer "); j >= 0 {
			a = a[:j] + "Bearer ***"
		}
		out[i] = a
	}
	return out
}
