package claude_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/sage-mcp/sage/installer/claude"
	"github.com/sage-mcp/sage/shared/claudehooks"
	"github.com/sage-mcp/sage/testkit/claudetest"
	"github.com/sage-mcp/sage/testkit/daemontest"
)

// The Claude Code plugin of this repository: the marketplace at the root
// and the plugin it lists. Installing it must give what the installer's
// Claude step gives: Sage's MCP server through sage-bridge and the hooks
// of shared/claudehooks. The plugin runs sage-bridge from PATH.
const (
	marketplaceName = "sage-mcp"
	pluginName      = "sage"
	pluginDir       = "plugin"
	// pluginBridge is the command the plugin runs: sage-bridge from PATH.
	pluginBridge = "sage-bridge"
)

// MustRepoRoot returns the checkout's top directory.
func MustRepoRoot(t *testing.T) string {
	t.Helper()
	root, err := daemontest.RepoRoot()
	if err != nil {
		t.Fatalf("repository root: %v", err)
	}
	return root
}

// MustReadJSON decodes the JSON file at path into v.
func MustReadJSON(t *testing.T, path string, v any) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	dec := json.NewDecoder(strings.NewReader(string(b)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}

// pluginHooks is plugin/hooks/hooks.json.
type pluginHooks struct {
	Description string                           `json:"description"`
	Hooks       map[string][]claudehooks.Matcher `json:"hooks"`
}

// wantPluginHooks is the hooks file made from the canonical list: the
// entries the installer writes, with sage-bridge from PATH (unquoted, so
// the same file serves every shell).
func wantPluginHooks() pluginHooks {
	hooks := claudehooks.Entries(pluginBridge)
	for ev, ms := range hooks {
		for _, m := range ms {
			for i := range m.Hooks {
				m.Hooks[i].Command = pluginBridge + " hook " + ev
			}
		}
	}
	return pluginHooks{
		Description: "Sage's automatic memory: the hooks sage-installer writes to settings.json (shared/claudehooks), running sage-bridge from PATH.",
		Hooks:       hooks,
	}
}

// TestPluginHooks keeps plugin/hooks/hooks.json equal to the hooks of
// shared/claudehooks. UPDATE_PLUGIN=true go test rewrites the file.
func TestPluginHooks(t *testing.T) {
	path := filepath.Join(MustRepoRoot(t), pluginDir, "hooks", "hooks.json")
	want := wantPluginHooks()
	if os.Getenv("UPDATE_PLUGIN") == "true" {
		b, err := json.MarshalIndent(want, "", "  ")
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, append(b, '\n'), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	var got pluginHooks
	MustReadJSON(t, path, &got)
	if !reflect.DeepEqual(got, want) {
		w, _ := json.MarshalIndent(want, "", "  ")
		t.Errorf("%s differs from shared/claudehooks (UPDATE_PLUGIN=true go test to rewrite it); want:\n%s", path, w)
	}
	for ev, ms := range got.Hooks {
		for _, m := range ms {
			for _, h := range m.Hooks {
				if !claudehooks.IsSage(h.Command) || h.Command != pluginBridge+" hook "+ev {
					t.Errorf("%s: command %q is not sage-bridge's hook %s", ev, h.Command, ev)
				}
			}
		}
	}
}

// TestPluginManifests checks the marketplace and plugin manifests and the
// MCP server entry against what the installer registers.
func TestPluginManifests(t *testing.T) {
	root := MustRepoRoot(t)
	var market struct {
		Name  string `json:"name"`
		Owner struct {
			Name string `json:"name"`
			URL  string `json:"url"`
		} `json:"owner"`
		Metadata struct {
			Description string `json:"description"`
		} `json:"metadata"`
		Plugins []struct {
			Name        string `json:"name"`
			Source      string `json:"source"`
			Description string `json:"description"`
			Category    string `json:"category"`
			Homepage    string `json:"homepage"`
		} `json:"plugins"`
	}
	MustReadJSON(t, filepath.Join(root, ".claude-plugin", "marketplace.json"), &market)
	if market.Name != marketplaceName || market.Owner.Name == "" || len(market.Plugins) != 1 {
		t.Fatalf("marketplace.json: %+v", market)
	}
	entry := market.Plugins[0]
	if entry.Name != pluginName || entry.Source != "./"+pluginDir || entry.Description == "" {
		t.Errorf("marketplace.json plugin entry: %+v", entry)
	}

	var manifest struct {
		Name        string `json:"name"`
		Description string `json:"description"`
		Author      struct {
			Name string `json:"name"`
			URL  string `json:"url"`
		} `json:"author"`
		Homepage   string   `json:"homepage"`
		Repository string   `json:"repository"`
		Keywords   []string `json:"keywords"`
	}
	MustReadJSON(t, filepath.Join(root, pluginDir, ".claude-plugin", "plugin.json"), &manifest)
	if manifest.Name != pluginName || manifest.Description != entry.Description {
		t.Errorf("plugin.json: %+v (name and description as in the marketplace: %q)", manifest, entry.Description)
	}

	// The MCP server: what the installer registers in stdio mode, with
	// sage-bridge from PATH.
	var mcp struct {
		MCPServers map[string]struct {
			Command string   `json:"command"`
			Args    []string `json:"args"`
		} `json:"mcpServers"`
	}
	MustReadJSON(t, filepath.Join(root, pluginDir, ".mcp.json"), &mcp)
	raw, err := claude.Entry(claude.ModeStdio, pluginBridge, "", "")
	if err != nil {
		t.Fatal(err)
	}
	var installer claude.StdioServer
	if err := json.Unmarshal(raw, &installer); err != nil {
		t.Fatal(err)
	}
	s, ok := mcp.MCPServers[claude.ServerName]
	if len(mcp.MCPServers) != 1 || !ok || s.Command != installer.Command || !reflect.DeepEqual(s.Args, installer.Args) {
		t.Errorf(".mcp.json servers %+v, want one %q running %q %v", mcp.MCPServers, claude.ServerName, installer.Command, installer.Args)
	}
}

// TestPluginWithClaudeCLI adds the repository as a marketplace and
// installs the plugin with the real claude CLI (offline, in an empty
// HOME), then checks what Claude Code sees: the plugin enabled, its five
// hooks, and Sage's MCP server connected through sage-bridge from PATH
// to a real daemon.
func TestPluginWithClaudeCLI(t *testing.T) {
	cli := claudetest.MustCLI(t)
	root := MustRepoRoot(t)
	// sage-bridge of this checkout, on PATH under its own name.
	bin := t.TempDir()
	exe, err := os.ReadFile(daemontest.MustBuildCommand(t, "bridge/cmd/sage-bridge"))
	if err != nil {
		t.Fatal(err)
	}
	name := pluginBridge
	if runtime.GOOS == "windows" {
		name += ".exe"
	}
	if err := os.WriteFile(filepath.Join(bin, name), exe, 0o755); err != nil {
		t.Fatal(err)
	}
	d := daemontest.Start(t)
	home := t.TempDir()
	env := []string{"HOME=" + home, "USERPROFILE=" + home, "PATH=" + bin + string(os.PathListSeparator) + os.Getenv("PATH"),
		"XDG_CONFIG_HOME=" + filepath.Join(home, ".config"), "XDG_CACHE_HOME=" + filepath.Join(home, ".cache"),
		"SAGE_URL=" + d.MCPURL, "SAGE_TOKEN=" + d.Token,
		"DISABLE_TELEMETRY=1", "DISABLE_AUTOUPDATER=1", "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC=1"}
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		switch {
		case k == "HOME" || k == "USERPROFILE" || k == "PATH" || strings.HasPrefix(k, "XDG_") ||
			strings.HasPrefix(k, "SAGE_") || strings.HasPrefix(k, "CLAUDE_") || strings.HasPrefix(k, "ANTHROPIC_"):
		default:
			env = append(env, kv)
		}
	}
	c := claude.CLI{Path: cli, Env: env, Timeout: time.Minute}
	run := func(args ...string) string {
		t.Helper()
		out, err := c.Run(context.Background(), args...)
		if err != nil {
			t.Fatalf("%v\n%s", err, out)
		}
		return out
	}
	id := pluginName + "@" + marketplaceName

	if out := run("plugin", "validate", root); !strings.Contains(out, "Validation passed") {
		t.Errorf("claude plugin validate:\n%s", out)
	}
	run("plugin", "marketplace", "add", root)
	run("plugin", "install", id)

	var settings struct {
		EnabledPlugins map[string]bool `json:"enabledPlugins"`
	}
	b, err := os.ReadFile(filepath.Join(home, ".claude", "settings.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &settings); err != nil || !settings.EnabledPlugins[id] {
		t.Errorf("settings.json does not enable %s: %v\n%s", id, err, b)
	}

	details := run("plugin", "details", id)
	wants := append([]string{"Hooks (5)", "MCP servers (1)  " + claude.ServerName}, claudehooks.Events...)
	for _, want := range wants {
		if !strings.Contains(details, want) {
			t.Errorf("claude plugin details lacks %q:\n%s", want, details)
		}
	}

	// The server is the plugin's (Claude Code names it plugin:sage:sage)
	// and connects through sage-bridge from PATH.
	list := run("mcp", "list")
	line := ""
	for _, l := range strings.Split(list, "\n") {
		if strings.HasPrefix(l, "plugin:"+pluginName+":"+claude.ServerName+":") {
			line = l
		}
	}
	if !strings.Contains(line, pluginBridge) || !strings.Contains(line, "✔ Connected") {
		t.Errorf("claude mcp list does not show the plugin's sage connected:\n%s\ndaemon log:\n%s", list, d.Log())
	}
}
