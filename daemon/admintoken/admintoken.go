// Package admintoken makes sure an admin can get into a fresh sage-daemon:
// it registers SAGE_TOKEN or the key of the token file in the data
// directory as an admin key, or generates one and writes it to that file.
package admintoken

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"

	sage "github.com/sage-mcp/sage/daemon"
	"github.com/sage-mcp/sage/shared/atomicfile"
)

// FileName is the name of the generated admin token in SAGE_DATA_DIR.
const FileName = "token"

// Path returns the token file of the data directory dir.
func Path(dir string) string { return filepath.Join(dir, FileName) }

// Read returns the key in the token file of dir, without surrounding
// blanks. A missing file is an error that matches os.ErrNotExist.
func Read(dir string) (string, error) {
	b, err := os.ReadFile(Path(dir))
	if err != nil {
		return "", err
	}
	return strings.TrimSpace(string(b)), nil
}

// Store is what Bootstrap needs of the token store (postgres.TokenStore).
type Store interface {
	EnsureToken(ctx context.Context, spec sage.TokenSpec, secret string) (t sage.Token, created bool, err error)
	CountActiveKeys(ctx context.Context) (int, error)
	IssueToken(ctx context.Context, spec sage.TokenSpec) (sage.Token, string, error)
	RevokeToken(ctx context.Context, id string) error
}

// Options say where the admin key comes from.
type Options struct {
	// Secret is SAGE_TOKEN: when set, it is the admin key.
	Secret string
	// DataDir holds the token file; used only when Secret is empty.
	DataDir string
}

// spec is the spec of the bootstrap admin key.
func spec(name string) sage.TokenSpec {
	return sage.TokenSpec{Name: name, Namespace: sage.DefaultNamespace, Scopes: []string{sage.ScopeAdmin}}
}

// Bootstrap makes sure an admin can get in:
//   - opts.Secret set: that secret is an admin key (stored hashed, once);
//   - else a token file in opts.DataDir: its secret is an admin key
//     (so a fresh database accepts the key the user already has);
//   - else, when the database has no usable key at all, a new admin key is
//     generated and written to the token file with mode 0600.
//
// The log names the file, never the secret.
func Bootstrap(ctx context.Context, tokens Store, opts Options, log *slog.Logger) error {
	if opts.Secret != "" {
		t, created, err := tokens.EnsureToken(ctx, spec("SAGE_TOKEN"), opts.Secret)
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
	path := Path(opts.DataDir)
	if secret, err := Read(opts.DataDir); err == nil {
		t, created, err := tokens.EnsureToken(ctx, spec("generated"), secret)
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
	t, secret, err := tokens.IssueToken(ctx, spec("generated"))
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
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return fmt.Errorf("create data dir: %w", err)
	}
	if err := atomicfile.Write(path, []byte(secret+"\n"), 0o600); err != nil {
		return fmt.Errorf("write token file: %w", err)
	}
	return nil
}
