package installer

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/sage-mcp/sage/installer/claude"
	"github.com/sage-mcp/sage/installer/files"
)

// PlanUninstall returns the changes that undo an install: what the
// manifest says install created goes, files it edited lose only Sage's
// entries. Without a manifest it removes Sage's entries and binaries and
// keeps every file it cannot prove it created.
func PlanUninstall(ctx context.Context, o *Options) (*Plan, error) {
	p := &Plan{}
	m, haveManifest, err := readManifest(o)
	if err != nil {
		return nil, err
	}
	if haveManifest {
		if m.BinDir != "" && o.BinDir != m.BinDir && os.Getenv(EnvBinDir) == "" {
			o.BinDir = m.BinDir
		}
	} else {
		m = &Manifest{}
		p.Note("No install manifest (%s): removed Sage's entries and binaries, kept every file that may have existed before.", o.ManifestPath())
	}
	bridge := o.BridgePath()

	// Parse Claude Code's files first: a malformed one stops everything.
	claudeDoc, err := claude.ReadDoc(o.ClaudePaths.ConfigJSON)
	if err != nil {
		return nil, err
	}
	settings, err := claude.ReadDoc(o.ClaudePaths.Settings)
	if err != nil {
		return nil, err
	}
	cli := ""
	if o.Claude != ClaudeNone && m.Registration != "json" {
		if cli, err = claude.FindCLI(o.Claude); err != nil {
			return nil, err
		}
	}

	// 0. Turns not yet delivered: with --purge, which deletes the outbox,
	// try to deliver them first, while the bridge and its config are there.
	pending, quarantined, err := CountOutbox(o.OutboxDir)
	if err != nil {
		return nil, err
	}
	if o.Purge && pending > 0 {
		if files.Exists(bridge) {
			p.Warn("the outbox %s holds %s not yet delivered to the daemon. uninstall --purge first tries to deliver them "+
				"(sage-bridge manage sync, which needs the daemon), then deletes the outbox with whatever is left in it. "+
				"To keep them, stop now and run uninstall without --purge.", o.OutboxDir, Plural(pending, "turn", "turns"))
			p.AddOptional("deliver the outbox's "+Plural(pending, "turn", "turns")+" to the daemon: "+bridge+" manage sync", func(ctx context.Context) error {
				return runBridge(ctx, bridge, "manage", "sync")
			})
		} else {
			p.Warn("the outbox %s holds %s not yet delivered to the daemon, and uninstall --purge deletes them "+
				"(sage-bridge is not installed, so they cannot be delivered first). To keep them, stop now and run uninstall without --purge.",
				o.OutboxDir, Plural(pending, "turn", "turns"))
		}
	}

	// 1. The service, while the bridge that controls it is still there.
	if !o.NoService && (m.Service || !haveManifest) && files.Exists(bridge) {
		p.AddOptional("stop and uninstall the user service: "+bridge+" service uninstall", func(ctx context.Context) error {
			return runBridge(ctx, bridge, "service", "uninstall")
		})
	}

	// 2. The hooks.
	dropper := func(file string) func(string) bool {
		if !haveManifest {
			return nil // no record: drop what Sage's removal left empty
		}
		return func(c string) bool { return slices.Contains(m.CreatedJSON[file], c) }
	}
	changed, err := claude.RemoveHooks(settings, dropper(o.ClaudePaths.Settings))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", o.ClaudePaths.Settings, err)
	}
	backs := false // some step makes a backup
	if changed {
		backs = planRestoreDoc(p, m, o, settings, o.ClaudePaths.Settings, "remove Sage's hooks from "+o.ClaudePaths.Settings) || backs
	}

	// 3. The registration.
	_, registered, err := claude.Server(claudeDoc, claude.ServerName)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", o.ClaudePaths.ConfigJSON, err)
	}
	if registered {
		if cli != "" {
			c := claude.CLI{Path: cli}
			p.Add("unregister Sage from Claude Code: claude "+strings.Join(claude.RemoveArgs(), " "), func(ctx context.Context) error {
				out, err := c.Run(ctx, claude.RemoveArgs()...)
				if err != nil {
					return fmt.Errorf("%w: %s", err, strings.TrimSpace(out))
				}
				return nil
			})
		} else {
			if _, err := claude.RemoveServer(claudeDoc, claude.ServerName, slices.Contains(m.CreatedJSON[o.ClaudePaths.ConfigJSON], "mcpServers")); err != nil {
				return nil, err
			}
			backs = planRestoreDoc(p, m, o, claudeDoc, o.ClaudePaths.ConfigJSON, "remove mcpServers.sage from "+o.ClaudePaths.ConfigJSON) || backs
		}
	}

	// 4. The client config, when install created it.
	if m.WasCreated(o.ConfigPath) && files.Exists(o.ConfigPath) {
		p.Add("remove client config "+o.ConfigPath, func(context.Context) error { return files.RemoveIfExists(o.ConfigPath) })
	} else if orig := o.OriginalConfigPath(); files.Exists(orig) {
		backs = backs || files.Exists(o.ConfigPath)
		p.Add("put back the client config "+o.ConfigPath+" as it was before install", func(context.Context) error {
			b, err := os.ReadFile(orig)
			if err != nil {
				return err
			}
			if _, err := files.Backup(o.ConfigPath, o.BackupDir()); err != nil {
				return err
			}
			if err := files.WriteAtomic(o.ConfigPath, b, 0o600); err != nil {
				return err
			}
			return os.Remove(orig)
		})
	} else if files.Exists(o.ConfigPath) {
		p.Note("Kept the client config %s: it existed before the install.", o.ConfigPath)
	}

	// 5. The binaries.
	for _, b := range []string{o.ManagePath(), bridge} {
		if files.Exists(b) {
			p.Add("remove "+b, func(context.Context) error { return files.RemoveIfExists(b) })
		}
	}

	// 6. The manifest, the backups on --purge, and the directories install
	// created once they are empty.
	var dirs []string
	for _, c := range m.Created {
		if fi, err := os.Lstat(c); err == nil && fi.IsDir() {
			dirs = append(dirs, c)
		}
	}
	keepBackups := !o.Purge && (files.Exists(o.BackupDir()) || backs)
	if o.Purge {
		p.Add("remove the backups in "+o.BackupDir(), func(context.Context) error { return os.RemoveAll(o.BackupDir()) })
	} else if keepBackups {
		p.Note("Backups of the files Sage edited are kept in %s, and with them a reduced install record %s (uninstall --purge removes both).", o.BackupDir(), o.ManifestPath())
	}
	if haveManifest && keepBackups {
		// While backups are kept, a reduced record remembers the directories
		// install created, so that a later uninstall --purge removes them.
		p.Add("reduce the install record "+o.ManifestPath()+" to the directories install created (kept with the backups)", func(context.Context) error {
			rest := &Manifest{BinDir: m.BinDir}
			rest.AddCreated(dirs...)
			b, err := rest.Marshal()
			if err != nil {
				return err
			}
			return files.WriteAtomic(o.ManifestPath(), b, 0o600)
		})
	} else if haveManifest {
		p.Add("remove the install record "+o.ManifestPath(), func(context.Context) error {
			return files.RemoveIfExists(o.ManifestPath())
		})
	}

	// 7. Sage's local cache: the outbox, hook.log, the bridge's state.
	cacheDirs := []string{o.CacheDir}
	if !within(o.OutboxDir, o.CacheDir) {
		cacheDirs = append(cacheDirs, o.OutboxDir)
	}
	for _, dir := range cacheDirs {
		switch {
		case !files.Exists(dir):
		case within(o.Home, dir):
			p.Note("Kept %s: it holds your home directory.", dir)
		case o.Purge:
			p.Add("remove Sage's cache "+dir+" (outbox, hook log, bridge state)", func(context.Context) error { return os.RemoveAll(dir) })
		default:
			what := "the outbox is empty"
			if pending+quarantined > 0 {
				what = fmt.Sprintf("the outbox holds %s not yet delivered and %d quarantined", Plural(pending, "turn", "turns"), quarantined)
			}
			p.Note("Kept Sage's cache %s (outbox, hook log; %s): uninstall --purge deletes it.", dir, what)
		}
	}
	// Deepest first.
	slices.SortFunc(dirs, func(a, b string) int {
		return strings.Count(b, string(filepath.Separator)) - strings.Count(a, string(filepath.Separator))
	})
	for _, d := range dirs {
		p.Add("remove directory "+d+" if empty", func(context.Context) error {
			_, err := files.RemoveDirIfEmpty(d)
			return err
		})
	}
	return p, nil
}

// within reports whether path is dir or inside it.
func within(path, dir string) bool {
	rel, err := filepath.Rel(dir, path)
	return err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator))
}

// planRestoreDoc adds the step that writes an edited document back, or
// removes the file when install created it and nothing is left in it. It
// reports whether the step backs the file up.
func planRestoreDoc(p *Plan, m *Manifest, o *Options, doc *claude.Doc, path, desc string) bool {
	if m.WasCreated(path) && doc.Root.Len() == 0 {
		p.Add(desc+" (removing the file, which install created)", func(context.Context) error {
			return files.RemoveIfExists(path)
		})
		return false
	}
	b, err := doc.Bytes()
	p.Add(desc, func(context.Context) error {
		if err != nil {
			return err
		}
		if _, err := files.Backup(path, o.BackupDir()); err != nil {
			return err
		}
		return files.WriteAtomic(path, b, 0o600)
	})
	return true
}
