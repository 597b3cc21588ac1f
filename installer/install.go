package installer

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/sage-mcp/sage/installer/claude"
	"github.com/sage-mcp/sage/installer/files"
	"github.com/sage-mcp/sage/installer/jsonfile"
	"github.com/sage-mcp/sage/shared/config"
)

// PlanInstall reads everything install needs, refuses bad input, and
// returns the changes to make. It changes nothing itself.
func PlanInstall(ctx context.Context, o *Options) (*Plan, error) {
	p := &Plan{}
	m, err := LoadManifest(o)
	if err != nil {
		return nil, err
	}

	// The token: from --token, --token-file or --env-file, else what the
	// config already has.
	src, err := bridgeSource(o)
	if err != nil {
		return nil, err
	}
	cfgFile, cfgRaw, cfgExists, err := loadClientConfig(o.ConfigPath)
	if err != nil {
		return nil, err
	}
	token, tokenSrc := "", "the client config "+o.ConfigPath
	switch {
	case o.Token != "":
		token, tokenSrc = o.Token, "--token (or "+config.EnvToken+")"
		cfgFile.Token, cfgFile.TokenFile = token, ""
	case o.TokenFile != "":
		if token, err = config.ReadTokenFile(o.TokenFile); err != nil {
			return nil, err
		}
		tokenSrc = "--token-file " + o.TokenFile
		cfgFile.Token, cfgFile.TokenFile = "", o.TokenFile
	case o.EnvFile != "":
		if token, err = ReadEnvToken(o.EnvFile); err != nil {
			return nil, err
		}
		tokenSrc = "--env-file " + o.EnvFile
		cfgFile.Token, cfgFile.TokenFile = token, ""
	default:
		cur, err := config.Resolve(config.Flags{}, nil, cfgFile)
		if err == nil {
			token = cur.Token
		}
	}
	if err := (config.Config{URL: o.URL, URLSource: "--url", Token: token, TokenSource: "the token source"}).Validate(); err != nil {
		return nil, err
	}
	cfgFile.URL = o.URL
	if err := checkInstallToken(ctx, p, o.URL, token, tokenSrc); err != nil {
		return nil, err
	}

	// Claude Code's files, parsed up front: a malformed one stops
	// everything before anything is changed.
	claudeDoc, err := claude.ReadDoc(o.ClaudePaths.ConfigJSON)
	if err != nil {
		return nil, err
	}
	var settings *claude.Doc
	if !o.NoHooks {
		if settings, err = claude.ReadDoc(o.ClaudePaths.Settings); err != nil {
			return nil, err
		}
	}
	cli := ""
	if o.Claude != ClaudeNone {
		if cli, err = claude.FindCLI(o.Claude); err != nil {
			return nil, err
		}
	}

	// 1. The binaries.
	addDirs(p, m, o.BinDir, 0o755)
	bridge := o.BridgePath()
	if same, err := files.SameContent(src, bridge); err != nil {
		return nil, err
	} else if !same {
		if !files.Exists(bridge) {
			m.AddCreated(bridge)
		}
		p.Add("install "+bridge+" (from "+src+")", func(context.Context) error {
			return files.CopyExecutable(src, bridge)
		})
	}
	manage := o.ManagePath()
	if o.GOOS == "windows" {
		if same, _ := files.SameContent(src, manage); !same {
			if !files.Exists(manage) {
				m.AddCreated(manage)
			}
			p.Add("install "+manage+" (a copy of sage-bridge)", func(context.Context) error {
				return files.CopyExecutable(src, manage)
			})
		}
	} else if target, _ := os.Readlink(manage); target != filepath.Base(bridge) {
		if !files.Exists(manage) {
			m.AddCreated(manage)
		}
		p.Add("link "+manage+" -> "+filepath.Base(bridge), func(context.Context) error {
			if err := files.RemoveIfExists(manage); err != nil {
				return err
			}
			return os.Symlink(filepath.Base(bridge), manage)
		})
	}

	// 2. The client config.
	newCfg, err := cfgFile.Marshal()
	if err != nil {
		return nil, err
	}
	if !bytes.Equal(newCfg, cfgRaw) {
		if !cfgExists {
			addDirs(p, m, filepath.Dir(o.ConfigPath), 0o700)
			m.AddCreated(o.ConfigPath)
		}
		what := "url " + o.URL
		switch {
		case cfgFile.TokenFile != "":
			what += ", token file " + cfgFile.TokenFile
		case cfgFile.Token != "":
			what += ", token"
		}
		if cfgExists && !m.WasCreated(o.ConfigPath) && !files.Exists(o.OriginalConfigPath()) {
			orig := o.OriginalConfigPath()
			p.Add("keep the config as it was in "+orig+" (uninstall puts it back)", func(context.Context) error {
				if err := os.MkdirAll(o.StateDir, 0o700); err != nil {
					return err
				}
				return files.WriteAtomic(orig, cfgRaw, 0o600)
			})
		}
		p.Add("write client config "+o.ConfigPath+" (mode 0600; "+what+")", func(context.Context) error {
			return config.Save(o.ConfigPath, cfgFile)
		})
	}

	// 3. The registration with Claude Code.
	entry, err := claude.Entry(o.Mode, bridge, o.URL, token)
	if err != nil {
		return nil, err
	}
	cur, ok, err := claude.Server(claudeDoc, claude.ServerName)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", o.ClaudePaths.ConfigJSON, err)
	}
	registered := ok && jsonfile.Equal(cur, entry)
	m.Mode = o.Mode
	if cli != "" {
		m.Registration = "cli"
		if !registered {
			c := claude.CLI{Path: cli}
			add := claude.AddArgs(o.Mode, bridge, o.URL, token)
			p.Add("register Sage with Claude Code: claude "+strings.Join(claude.Redact(add), " "), func(ctx context.Context) error {
				if ok {
					if _, err := c.Run(ctx, claude.RemoveArgs()...); err != nil {
						return err
					}
				}
				out, err := c.Run(ctx, add...)
				if err != nil {
					return fmt.Errorf("%w: %s", err, strings.TrimSpace(out))
				}
				return nil
			})
		}
	} else {
		m.Registration = "json"
		changed, created, err := claude.SetServer(claudeDoc, claude.ServerName, entry)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", o.ClaudePaths.ConfigJSON, err)
		}
		if changed {
			if created {
				m.AddCreatedJSON(o.ClaudePaths.ConfigJSON, "mcpServers")
			}
			if err := planWriteDoc(p, m, o, claudeDoc, o.ClaudePaths.ConfigJSON,
				"register Sage ("+o.Mode+") in "+o.ClaudePaths.ConfigJSON+" (mcpServers.sage)"); err != nil {
				return nil, err
			}
			p.Note("The claude CLI was not found: Sage was registered by editing %s.", o.ClaudePaths.ConfigJSON)
		}
	}

	// 4. The hooks.
	if settings != nil {
		changed, created, err := claude.AddHooks(settings, bridge)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", o.ClaudePaths.Settings, err)
		}
		if changed {
			m.AddCreatedJSON(o.ClaudePaths.Settings, created...)
			if err := planWriteDoc(p, m, o, settings, o.ClaudePaths.Settings,
				"add Sage's hooks to "+o.ClaudePaths.Settings); err != nil {
				return nil, err
			}
		}
	}

	// 5. The manifest: it records what the steps above created, and that a
	// service is wanted, before the service step, which fails where there is
	// no user service manager.
	if o.NoService {
		// A service an earlier install set up stays recorded, so that
		// uninstall removes it; otherwise status honours the choice.
		m.Service = m.Service && serviceInstalled(ctx, bridge)
	} else {
		m.Service = true
	}
	if err := planManifest(p, m, o); err != nil {
		return nil, err
	}

	// 6. The user service.
	if !o.NoService {
		svcArgs := []string{"service", "install"}
		if o.ComposeDir != "" {
			svcArgs = append(svcArgs, "--compose-dir", o.ComposeDir)
		}
		if !serviceRunning(ctx, bridge) {
			p.Add("install and start the user service: "+bridge+" "+strings.Join(svcArgs, " "), func(ctx context.Context) error {
				if err := runBridge(ctx, bridge, svcArgs...); err != nil {
					if o.GOOS == "windows" {
						return &FixError{Fix: "everything else is installed, but the Windows service manager needs an elevated (Administrator) prompt: rerun there, or skip the service with --no-service", Err: err}
					}
					return &FixError{Fix: "everything else is installed, but the user service could not be: without a user service manager (no systemd --user, e.g. in a container or WSL 1) rerun with --no-service; the hooks and `sage_manage sync` then deliver queued turns", Err: err}
				}
				return runBridge(ctx, bridge, "service", "start")
			})
		}
		if o.GOOS == "windows" {
			p.Note("On Windows the service is a system service: installing it needs an elevated (Administrator) prompt. Pass --no-service to skip it.")
		}
	}

	if hint := PathHint(o.BinDir, os.Getenv("PATH"), os.Getenv("SHELL"), o.GOOS); hint != "" {
		p.Note("%s", hint)
	}
	return p, nil
}

// TokenCheckTimeout bounds install's and status's question to the daemon.
const TokenCheckTimeout = 5 * time.Second

// checkInstallToken asks the daemon whether it accepts token (from source).
// No token, or one the daemon refuses, is an error: without it every hook
// and the bridge would fail quietly. An unreachable daemon only gets a
// warning on p, so that Sage can be installed before the daemon runs.
func checkInstallToken(ctx context.Context, p *Plan, url, token, source string) error {
	cctx, cancel := context.WithTimeout(ctx, TokenCheckTimeout)
	defer cancel()
	state, err := CheckToken(cctx, nil, url, token)
	switch {
	case state == TokenAccepted:
		return nil
	case state == TokenNotNeeded:
		p.Note("The daemon at %s accepts requests without a token (SAGE_AUTH=off): fine for local development only.", config.BaseURL(url))
		return nil
	case token == "":
		return fmt.Errorf("no token: none given and none in %s (%v). %s Nothing was changed.", source, err, TokenHelp)
	case state == TokenUnverified:
		p.Warn("%v. The token (from %s) was NOT checked: until the daemon runs and accepts it, the bridge and the hooks fail "+
			"(turns wait in the outbox). Start the daemon, then check with `sage-installer status`.", err, source)
		return nil
	}
	return fmt.Errorf("%v; the token came from %s. %s Nothing was changed.", err, source, TokenHelp)
}

// bridgeSource finds the sage-bridge binary to install.
func bridgeSource(o *Options) (string, error) {
	src := o.Bridge
	if src == "" {
		exe, err := os.Executable()
		if err != nil {
			return "", fmt.Errorf("find sage-bridge: %w", err)
		}
		if r, err := filepath.EvalSymlinks(exe); err == nil {
			exe = r
		}
		name := BridgeName
		if o.GOOS == "windows" {
			name += ".exe"
		}
		src = filepath.Join(filepath.Dir(exe), name)
	}
	fi, err := os.Stat(src)
	if err != nil {
		return "", fmt.Errorf("no sage-bridge at %s (pass --bridge PATH): %w", src, err)
	}
	if fi.IsDir() {
		return "", fmt.Errorf("--bridge %s is a directory", src)
	}
	return src, nil
}

// loadClientConfig reads the client config; a malformed one is an error.
func loadClientConfig(path string) (*config.File, []byte, bool, error) {
	raw, ok, err := files.ReadOptional(path)
	if err != nil {
		return nil, nil, false, fmt.Errorf("read client config: %w", err)
	}
	if !ok {
		return &config.File{}, nil, false, nil
	}
	f, err := config.Parse(raw)
	if err != nil {
		return nil, nil, false, fmt.Errorf("%s: %w; fix or move the file, then run again (nothing was changed)", path, err)
	}
	return f, raw, true, nil
}

// loadManifest reads the install manifest; none gives an empty one.
func LoadManifest(o *Options) (*Manifest, error) {
	m, found, err := readManifest(o)
	if err != nil {
		return nil, err
	}
	if !found {
		m = &Manifest{}
	}
	m.BinDir = o.BinDir
	return m, nil
}

// readManifest reads and parses the install manifest; found is false when
// there is none.
func readManifest(o *Options) (m *Manifest, found bool, err error) {
	raw, found, err := files.ReadOptional(o.ManifestPath())
	if err != nil {
		return nil, false, fmt.Errorf("read install manifest: %w", err)
	}
	if !found {
		return nil, false, nil
	}
	if m, err = ParseManifest(raw); err != nil {
		return nil, false, fmt.Errorf("%s: %w", o.ManifestPath(), err)
	}
	return m, true, nil
}

// planManifest adds the step that writes the manifest when it changed.
func planManifest(p *Plan, m *Manifest, o *Options) error {
	path := o.ManifestPath()
	old, existed, err := files.ReadOptional(path)
	if err != nil {
		return err
	}
	if !existed {
		for _, d := range files.MissingDirs(o.StateDir) {
			m.AddCreated(d)
		}
		m.AddCreated(path)
	}
	b, err := m.Marshal()
	if err != nil {
		return err
	}
	if bytes.Equal(b, old) {
		return nil
	}
	p.Add("record the install in "+path, func(context.Context) error {
		if err := os.MkdirAll(o.StateDir, 0o700); err != nil {
			return err
		}
		return files.WriteAtomic(path, b, 0o600)
	})
	return nil
}

// addDirs adds a step creating dir (and missing parents) when needed.
func addDirs(p *Plan, m *Manifest, dir string, perm os.FileMode) {
	missing := files.MissingDirs(dir)
	if len(missing) == 0 {
		return
	}
	m.AddCreated(missing...)
	p.Add("create directory "+dir, func(context.Context) error { return os.MkdirAll(dir, perm) })
}

// planWriteDoc adds the step that writes doc to path: missing directories
// first, a backup of the old file, then an atomic write.
func planWriteDoc(p *Plan, m *Manifest, o *Options, doc *claude.Doc, path, desc string) error {
	b, err := doc.Bytes()
	if err != nil {
		return err
	}
	if !doc.Exists {
		addDirs(p, m, filepath.Dir(path), 0o700)
		m.AddCreated(path)
	}
	p.Add(desc, func(context.Context) error {
		if _, err := files.Backup(path, o.BackupDir()); err != nil {
			return err
		}
		return files.WriteAtomic(path, b, 0o600)
	})
	return nil
}

// serviceInstalled reports whether the installed bridge says its service is
// installed (running or stopped).
func serviceInstalled(ctx context.Context, bridge string) bool {
	if !files.Exists(bridge) {
		return false
	}
	out, _ := exec.CommandContext(ctx, bridge, "service", "status").Output()
	return bytes.HasPrefix(out, []byte("running")) || bytes.HasPrefix(out, []byte("stopped"))
}

// serviceRunning reports whether the installed bridge says its service runs.
func serviceRunning(ctx context.Context, bridge string) bool {
	if !files.Exists(bridge) {
		return false
	}
	return exec.CommandContext(ctx, bridge, "service", "status").Run() == nil
}

// runBridge runs the installed sage-bridge with args.
func runBridge(ctx context.Context, bridge string, args ...string) error {
	out, err := exec.CommandContext(ctx, bridge, args...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("%s %s: %w: %s", filepath.Base(bridge), strings.Join(args, " "), err, strings.TrimSpace(string(out)))
	}
	return nil
}

// pathHint returns how to put dir on PATH for the user's shell, or "" when
// it is already there.
func PathHint(dir, path, shell, goos string) string {
	sep := string(os.PathListSeparator)
	if goos == "windows" {
		sep = ";"
	}
	for _, p := range strings.Split(path, sep) {
		if p != "" && filepath.Clean(p) == filepath.Clean(dir) {
			return ""
		}
	}
	if goos == "windows" {
		return fmt.Sprintf("%s is not on PATH. In PowerShell run:\n"+
			"  [Environment]::SetEnvironmentVariable('Path', '%s;' + [Environment]::GetEnvironmentVariable('Path', 'User'), 'User')\n"+
			"then open a new terminal.", dir, dir)
	}
	switch filepath.Base(shell) {
	case "fish":
		return fmt.Sprintf("%s is not on PATH. Run:\n  fish_add_path %s", dir, shellQuote(dir))
	case "zsh":
		return fmt.Sprintf("%s is not on PATH. Run:\n  echo 'export PATH=%s:$PATH' >> ~/.zshrc && . ~/.zshrc", dir, shellQuoteInner(dir))
	default:
		return fmt.Sprintf("%s is not on PATH. Run:\n  echo 'export PATH=%s:$PATH' >> ~/.bashrc && . ~/.bashrc", dir, shellQuoteInner(dir))
	}
}

// shellQuote quotes s for a POSIX shell or fish.
func shellQuote(s string) string {
	if s != "" && !strings.ContainsAny(s, " \t'\"\\$`!*?[]{}();&|<>~#") {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// shellQuoteInner quotes s for use inside the single-quoted echo argument:
// double quotes keep spaces together once the line runs from the rc file.
func shellQuoteInner(s string) string {
	if !strings.ContainsAny(s, " \t\"\\$`'") {
		return s
	}
	s = strings.NewReplacer(`\`, `\\`, `"`, `\"`, "$", `\$`, "`", "\\`", "'", `'\''`).Replace(s)
	return `"` + s + `"`
}
