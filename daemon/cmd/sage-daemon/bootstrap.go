package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"

	sage "github.com/sage-mcp/sage/daemon"
	"github.com/sage-mcp/sage/daemon/config"
	"github.com/sage-mcp/sage/daemon/postgres"
)

// TokenFile is the name of the generated admin token in SAGE_DATA_DIR.
const TokenFile = "token"

// adminSpec is the spec of the bootstrap admin key.
func adminSpec(name string) sage.TokenSpec {
	return sage.TokenSpec{Name: name, Namespace: sage.DefaultNamespace, Scopes: []string{sage.ScopeAdmin}}
}

// bootstrapToken makes sure an admin can get in:
//   - SAGE_TOKEN set: that secret is an admin key (stored hashed, once);
//   - else a token file in SAGE_DATA_DIR: its secret is an admin key
//     (so a fresh database accepts the key the user already has);
//   - else, when the database has no usable key at all, a new admin key is
//     generated and written to SAGE_DATA_DIR/token with mode 0600.
//
// The log names the file, never the secret.
func bootstrapToken(ctx context.Context, cfg config.Config, log *slog.Logger, tokens *postgres.TokenStore) error {
	if cfg.Token != "" {
		t, created, err := tokens.EnsureToken(ctx, adminSpec("SAGE_TOKEN"), cfg.Token)
		if err != nil {
			return err
		}
		if created {
			log.Info("registered SAGE_TOKEN as an admin key", "id", t.ID)
		} else if !t.RevokedAt.IsZero() {
			log.Warn("SAGE_TOKEN is a revoked key: requests with it are refused", "id", t.ID)
		}
		return nil
	}
	dir, err := cfg.ResolvedDataDir()
	if err != nil {
		return err
	}
	path := filepath.Join(dir, TokenFile)
	if b, err := os.ReadFile(path); err == nil {
		secret := strings.TrimSpace(string(b))
		t, created, err := tokens.EnsureToken(ctx, adminSpec("generated"), secret)
		if err != nil {
			return fmt.Errorf("token file %s: %w", path, err)
		}
		if created {
			log.Info("registered the admin key of the token file", "file", path, "id", t.ID)
		}
		return nil
	} else if !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("read token file: %w", err)
	}
	n, err := tokens.CountActiveKeys(ctx)
	if err != nil {
		return err
	}
	if n > 0 {
		log.Info("no token file; access keys exist in the database", "keys", n,
			"hint", "sage-daemon token issue --scope admin")
		return nil
	}
	t, secret, err := tokens.IssueToken(ctx, adminSpec("generated"))
	if err != nil {
		return err
	}
	if err := writeSecretFile(path, secret); err != nil {
		_ = tokens.RevokeToken(context.WithoutCancel(ctx), t.ID)
		return err
	}
	log.Info("generated an admin access key; it is in the token file (mode 0600)", "file", path, "id", t.ID)
	return nil
}

// writeSecretFile writes secret to path with mode 0600 (directory 0700),
// atomically.
func writeSecretFile(path, secret string) error {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("create data dir: %w", err)
	}
	f, err := os.CreateTemp(dir, ".token-*")
	if err != nil {
		return fmt.Errorf("write token file: %w", err)
	}
	defer os.Remove(f.Name())
	if err := f.Chmod(0o600); err != nil {
		f.Close()
		return fmt.Errorf("write token file: %w", err)
	}
	if _, err := f.WriteString(secret + "\n"); err != nil {
		f.Close()
		return fmt.Errorf("write token file: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("write token file: %w", err)
	}
	if err := os.Rename(f.Name(), path); err != nil {
		return fmt.Errorf("write token file: %w", err)
	}
	return nil
}
