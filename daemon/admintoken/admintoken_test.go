package admintoken_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	sage "github.com/sage-mcp/sage/daemon"
	"github.com/sage-mcp/sage/daemon/admintoken"
	"github.com/sage-mcp/sage/daemon/postgres"
	"github.com/sage-mcp/sage/daemon/postgres/postgrestest"
)

// MustTokens returns the token store of a fresh, migrated database.
func MustTokens(t testing.TB) *postgres.TokenStore {
	t.Helper()
	return postgres.NewTokenStore(postgrestest.MustOpen(t).Pool())
}

// MustBootstrap runs Bootstrap and fails t on an error; it returns the log.
func MustBootstrap(t testing.TB, tokens admintoken.Store, opts admintoken.Options) string {
	t.Helper()
	log, err := bootstrap(tokens, opts)
	if err != nil {
		t.Fatalf("bootstrap: %v; log:\n%s", err, log)
	}
	return log
}

func bootstrap(tokens admintoken.Store, opts admintoken.Options) (string, error) {
	var buf bytes.Buffer
	err := admintoken.Bootstrap(context.Background(), tokens, opts, slog.New(slog.NewTextHandler(&buf, nil)))
	return buf.String(), err
}

// MustAdmin fails t unless secret authenticates as an admin key.
func MustAdmin(t testing.TB, tokens *postgres.TokenStore, secret string) sage.Token {
	t.Helper()
	tok, err := tokens.Authenticate(context.Background(), secret)
	if err != nil {
		t.Fatalf("authenticate: %v", err)
	}
	if !tok.HasScope(sage.ScopeAdmin) || tok.Namespace != sage.DefaultNamespace {
		t.Fatalf("bootstrap key %+v: want admin of %s", tok, sage.DefaultNamespace)
	}
	return tok
}

// MustActiveKeys fails t unless the store has want active keys.
func MustActiveKeys(t testing.TB, tokens *postgres.TokenStore, want int) {
	t.Helper()
	n, err := tokens.CountActiveKeys(context.Background())
	if err != nil || n != want {
		t.Fatalf("active keys: %d, %v; want %d", n, err, want)
	}
}

// MustTokenFile returns a new data directory whose token file holds
// content.
func MustTokenFile(t testing.TB, content string) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(admintoken.Path(dir), []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return dir
}

// MustNoTokenFile fails t if dir has a token file.
func MustNoTokenFile(t testing.TB, dir string) {
	t.Helper()
	if _, err := os.Stat(admintoken.Path(dir)); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("a token file in %s: %v", dir, err)
	}
}

// TestSecretIdempotent: SAGE_TOKEN is registered once, as an admin key,
// and never logged; once revoked, a start warns.
func TestSecretIdempotent(t *testing.T) {
	t.Parallel()
	tokens := MustTokens(t)
	secret := "configured-admin-token-0123456789"
	opts := admintoken.Options{Secret: secret, DataDir: t.TempDir()}
	for i, want := range []string{"registered SAGE_TOKEN", ""} {
		log := MustBootstrap(t, tokens, opts)
		if !strings.Contains(log, want) || (want == "" && log != "") || strings.Contains(log, secret) {
			t.Fatalf("start %d: log %q, want %q", i, log, want)
		}
	}
	tok := MustAdmin(t, tokens, secret)
	MustActiveKeys(t, tokens, 1)
	MustNoTokenFile(t, opts.DataDir)
	if err := tokens.RevokeToken(context.Background(), tok.ID); err != nil {
		t.Fatal(err)
	}
	if log := MustBootstrap(t, tokens, opts); !strings.Contains(log, "revoked key") || strings.Contains(log, secret) {
		t.Fatalf("revoked SAGE_TOKEN: log %q", log)
	}
	MustActiveKeys(t, tokens, 0)
}

// TestGeneratedFile: with no key anywhere, a key is generated into the
// token file (0600); the log names the file, not the secret; a second
// start registers nothing new and keeps the file.
func TestGeneratedFile(t *testing.T) {
	t.Parallel()
	tokens := MustTokens(t)
	dir := filepath.Join(t.TempDir(), "data")
	opts := admintoken.Options{DataDir: dir}
	log := MustBootstrap(t, tokens, opts)
	fi, err := os.Stat(admintoken.Path(dir))
	if err != nil {
		t.Fatalf("token file: %v", err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Fatalf("token file mode %v, want 0600", fi.Mode().Perm())
	}
	secret, err := admintoken.Read(dir)
	if err != nil {
		t.Fatal(err)
	}
	MustAdmin(t, tokens, secret)
	if strings.Contains(log, secret) || !strings.Contains(log, admintoken.Path(dir)) {
		t.Fatalf("log %q: want the file, not the secret", log)
	}
	log = MustBootstrap(t, tokens, opts)
	if again, _ := admintoken.Read(dir); again != secret || strings.Contains(log, secret) {
		t.Fatalf("second start changed the file or logged it: log %q", log)
	}
	MustActiveKeys(t, tokens, 1)
}

// TestTokenFileRegistered: the key of an existing token file becomes an
// admin key of a fresh database.
func TestTokenFileRegistered(t *testing.T) {
	t.Parallel()
	tokens := MustTokens(t)
	secret := "sage_existing-file-key-0123456789"
	dir := MustTokenFile(t, secret+"\n")
	log := MustBootstrap(t, tokens, admintoken.Options{DataDir: dir})
	MustAdmin(t, tokens, secret)
	if !strings.Contains(log, "registered the admin key of the token file") || strings.Contains(log, secret) {
		t.Fatalf("log %q", log)
	}
}

// TestKeysExistNoFile: without a token file but with keys in the
// database, nothing is generated and the log hints at token issue.
func TestKeysExistNoFile(t *testing.T) {
	t.Parallel()
	tokens := MustTokens(t)
	if _, _, err := tokens.IssueToken(context.Background(), sage.TokenSpec{Name: "ci"}); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	log := MustBootstrap(t, tokens, admintoken.Options{DataDir: dir})
	if !strings.Contains(log, "token issue --scope admin") {
		t.Fatalf("log %q lacks the hint", log)
	}
	MustNoTokenFile(t, dir)
	MustActiveKeys(t, tokens, 1)
}

// TestBootstrapErrors: a bad secret or token file is sage.ErrInvalid
// (retrying cannot fix it) and never logged; a token file that cannot be
// written leaves no usable generated key behind.
func TestBootstrapErrors(t *testing.T) {
	t.Parallel()
	tokens := MustTokens(t)
	shortFile := MustTokenFile(t, "short\n")
	unreadable := t.TempDir()
	if err := os.Mkdir(admintoken.Path(unreadable), 0o700); err != nil {
		t.Fatal(err)
	}
	// Nothing can be created under /proc, not even by root.
	unwritable := "/proc/self/sage-data"
	tests := []struct {
		name    string
		opts    admintoken.Options
		want    []string
		invalid bool
	}{
		{"short SAGE_TOKEN", admintoken.Options{Secret: "short"}, []string{"at least 16 characters"}, true},
		{"short token file", admintoken.Options{DataDir: shortFile}, []string{admintoken.Path(shortFile), "at least 16 characters"}, true},
		{"token file is a directory", admintoken.Options{DataDir: unreadable}, []string{"read token file"}, false},
		{"data dir cannot be created", admintoken.Options{DataDir: unwritable}, []string{"create data dir"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			log, err := bootstrap(tokens, tt.opts)
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
			if errors.Is(err, sage.ErrInvalid) != tt.invalid {
				t.Errorf("errors.Is(%v, ErrInvalid) = %v, want %v", err, !tt.invalid, tt.invalid)
			}
			if strings.Contains(log+err.Error(), "short\n") || strings.Contains(log, "short") {
				t.Errorf("the secret leaked: log %q, error %q", log, err)
			}
		})
	}
	// The key generated for the unwritable file was revoked.
	MustActiveKeys(t, tokens, 0)
}
