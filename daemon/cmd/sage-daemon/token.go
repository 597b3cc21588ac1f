package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	iofs "io/fs"
	"strings"
	"text/tabwriter"
	"time"

	sage "github.com/sage-mcp/sage/daemon"
	"github.com/sage-mcp/sage/daemon/admintoken"
	"github.com/sage-mcp/sage/daemon/config"
	"github.com/sage-mcp/sage/daemon/postgres"
)

// runToken manages access keys directly in the database:
//
//	sage-daemon token issue [--name N] [--namespace NS] [--scope memories|admin]... [--ttl 720h]
//	sage-daemon token list
//	sage-daemon token revoke ID
//	sage-daemon token show      (the generated key in SAGE_DATA_DIR/token)
//
// issue prints the secret alone on stdout: it is shown only once. show
// reads the token file, for containers without a shell or cat.
func runToken(ctx context.Context, e *env, args []string) int {
	if len(args) == 0 {
		fmt.Fprintln(e.stderr, "usage: sage-daemon token issue|list|revoke|show [flags]")
		return 2
	}
	sub, args := args[0], args[1:]
	fs := flag.NewFlagSet("token "+sub, flag.ContinueOnError)
	var spec sage.TokenSpec
	if sub == "issue" {
		issueFlags(fs, &spec)
	}
	if sub == "show" {
		return showToken(e, fs, args)
	}
	db, rest, err := openDatabase(ctx, e, fs, args)
	if err != nil {
		return fail(e, err)
	}
	defer db.Close()
	tokens := postgres.NewTokenStore(db.Pool())
	switch sub {
	case "issue":
		return issueToken(ctx, e, tokens, spec)
	case "list":
		return listTokens(ctx, e, tokens)
	case "revoke":
		return revokeToken(ctx, e, tokens, rest)
	}
	fmt.Fprintf(e.stderr, "sage-daemon token: unknown subcommand %q (want issue, list, revoke or show)\n", sub)
	return 2
}

// issueFlags defines the flags of token issue on fs, filling spec.
func issueFlags(fs *flag.FlagSet, spec *sage.TokenSpec) {
	fs.StringVar(&spec.Name, "name", "", "a name to recognise the token by")
	fs.StringVar(&spec.Namespace, "namespace", sage.DefaultNamespace, "the namespace its memories live in")
	fs.DurationVar(&spec.TTL, "ttl", 0, "lifetime, like 720h (0: never expires)")
	fs.Func("scope", "memories (default) or admin (may manage tokens); repeatable", func(v string) error {
		spec.Scopes = append(spec.Scopes, strings.Split(v, ",")...)
		return nil
	})
}

// issueToken is token issue: the secret alone on stdout.
func issueToken(ctx context.Context, e *env, tokens *postgres.TokenStore, spec sage.TokenSpec) int {
	t, secret, err := tokens.IssueToken(ctx, spec)
	if err != nil {
		return fail(e, err)
	}
	fmt.Fprintf(e.stderr, "issued %s (namespace %s, scopes %s); the secret below is shown only once:\n",
		t.ID, t.Namespace, strings.Join(t.Scopes, ","))
	fmt.Fprintln(e.stdout, secret)
	return 0
}

// listTokens is token list: a table on stdout.
func listTokens(ctx context.Context, e *env, tokens *postgres.TokenStore) int {
	list, err := tokens.Tokens(ctx)
	if err != nil {
		return fail(e, err)
	}
	tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tNAME\tNAMESPACE\tSCOPES\tCREATED\tEXPIRES\tSTATE\tLAST USED")
	for _, t := range list {
		state := "active"
		switch {
		case !t.RevokedAt.IsZero():
			state = "revoked"
		case !t.ExpiresAt.IsZero() && time.Now().After(t.ExpiresAt):
			state = "expired"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", t.ID, t.Name, t.Namespace, strings.Join(t.Scopes, ","),
			day(t.CreatedAt), day(t.ExpiresAt), state, day(t.LastUsedAt))
	}
	tw.Flush()
	return 0
}

// revokeToken is token revoke ID.
func revokeToken(ctx context.Context, e *env, tokens *postgres.TokenStore, args []string) int {
	if len(args) != 1 {
		fmt.Fprintln(e.stderr, "usage: sage-daemon token revoke ID")
		return 2
	}
	if err := tokens.RevokeToken(ctx, args[0]); err != nil {
		return fail(e, fmt.Errorf("revoke %s: %w", args[0], err))
	}
	fmt.Fprintf(e.stderr, "revoked %s and the OAuth tokens issued from it\n", args[0])
	return 0
}

func day(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.Local().Format("2006-01-02 15:04")
}

// showToken prints the key of SAGE_DATA_DIR/token alone on stdout.
func showToken(e *env, fs *flag.FlagSet, args []string) int {
	cfg, _, err := loadConfig(e, fs, args, false)
	if err != nil {
		return fail(e, err)
	}
	dir, err := cfg.ResolvedDataDir()
	if err != nil {
		return fail(e, err)
	}
	path := admintoken.Path(dir)
	secret, err := admintoken.Read(dir)
	if errors.Is(err, iofs.ErrNotExist) {
		return fail(e, fmt.Errorf("no token file at %s.\n"+
			"The daemon writes it at its first start when SAGE_TOKEN is unset, in its data directory (SAGE_DATA_DIR or --data-dir; default: %s).\n"+
			"If the daemon runs with another data directory, give this command the same one: SAGE_DATA_DIR=<dir> sage-daemon token show.\n"+
			"With Docker Compose, run it in the container: docker compose exec sage sage-daemon token show.\n"+
			"Or issue a new key: sage-daemon token issue --scope admin", path, defaultDataDir()))
	}
	if err != nil {
		return fail(e, fmt.Errorf("read the token file (SAGE_DATA_DIR or --data-dir: %s): %w", dir, err))
	}
	fmt.Fprintln(e.stdout, secret)
	return 0
}

// defaultDataDir names the data directory used when SAGE_DATA_DIR is unset.
func defaultDataDir() string {
	dir, err := (config.Config{}).ResolvedDataDir()
	if err != nil {
		return "the user config directory + /sage-daemon"
	}
	return dir
}
