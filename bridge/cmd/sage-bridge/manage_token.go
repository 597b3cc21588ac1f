package main

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/sage-mcp/sage/shared/api"
)

// manageToken issues, lists and revokes access tokens.
func manageToken(ctx context.Context, m *manageCtx, args []string) error {
	if len(args) == 0 || strings.HasPrefix(args[0], "-") {
		m.flags("issue|list|revoke …", "Manage access tokens (needs an admin token).\n  token issue <name> [--scopes memories,admin] [--ttl 720h] [--namespace ns]\n  token list\n  token revoke <id>")
		if len(args) > 0 && (args[0] == "-h" || args[0] == "--help") {
			m.fs.Usage()
			return nil
		}
		return m.usageErr("give an action: issue, list or revoke")
	}
	action, args := args[0], args[1:]
	m.name = "token " + action
	switch action {
	case "issue":
		return manageTokenIssue(ctx, m, args)
	case "list":
		return manageTokenList(ctx, m, args)
	case "revoke":
		return manageTokenRevoke(ctx, m, args)
	}
	m.flags("issue|list|revoke …", "Manage access tokens.")
	return m.usageErr("unknown action %q: want issue, list or revoke", action)
}

func manageTokenIssue(ctx context.Context, m *manageCtx, args []string) error {
	fs := m.flags("<name> [flags]", "Issue a token. Its secret is printed once: store it (e.g. in a token file).")
	scopes := fs.String("scopes", "", "comma-separated scopes (default: the daemon's default, memories)")
	ttl := fs.String("ttl", "", "lifetime, a Go duration like 720h (default: no expiry)")
	ns := fs.String("namespace", "", "namespace of the token (default: the caller's)")
	pos, err := m.parseN(args, 1, 1, "give the token a name, like: sage_manage token issue laptop")
	if err != nil {
		return err
	}
	if *ttl != "" {
		if _, err := time.ParseDuration(*ttl); err != nil {
			return m.usageErr("--ttl %q: %v", *ttl, err)
		}
	}
	c, ctx, cancel, err := m.connect(ctx)
	defer cancel()
	if err != nil {
		return err
	}
	req := api.IssueTokenRequest{Name: pos[0], Namespace: *ns, TTL: *ttl}
	if *scopes != "" {
		req.Scopes = strings.Split(*scopes, ",")
	}
	t, err := c.IssueToken(ctx, req)
	if err != nil {
		return err
	}
	if m.json {
		return m.printJSON(t)
	}
	fmt.Fprintf(m.stdout, "%s\n", t.Secret)
	fmt.Fprintf(m.stderr, "Issued token %s (%q, namespace %s, scopes %s). The secret above is shown only once.\n",
		t.ID, t.Name, t.Namespace, strings.Join(t.Scopes, ","))
	return nil
}

func manageTokenList(ctx context.Context, m *manageCtx, args []string) error {
	m.flags("[flags]", "List tokens (never their secrets).")
	if _, err := m.parseN(args, 0, 0, "takes no arguments"); err != nil {
		return err
	}
	c, ctx, cancel, err := m.connect(ctx)
	defer cancel()
	if err != nil {
		return err
	}
	ts, err := c.Tokens(ctx)
	if err != nil {
		return err
	}
	if m.json {
		return m.printJSON(ts)
	}
	if len(ts) == 0 {
		fmt.Fprintln(m.stdout, "No tokens.")
		return nil
	}
	for _, t := range ts {
		state := "active"
		switch {
		case t.RevokedAt != nil:
			state = "revoked " + t.RevokedAt.Local().Format("2006-01-02")
		case t.ExpiresAt != nil && t.ExpiresAt.Before(time.Now()):
			state = "expired"
		case t.ExpiresAt != nil:
			state = "expires " + t.ExpiresAt.Local().Format("2006-01-02")
		}
		used := "never used"
		if t.LastUsed != nil {
			used = "used " + t.LastUsed.Local().Format("2006-01-02 15:04")
		}
		fmt.Fprintf(m.stdout, "%-24s %-20s %-10s %-18s %-20s %s\n", t.ID, oneLine(t.Name, 20), t.Namespace, strings.Join(t.Scopes, ","), state, used)
	}
	return nil
}

func manageTokenRevoke(ctx context.Context, m *manageCtx, args []string) error {
	m.flags("<id> [flags]", "Revoke a token by id (see \"sage_manage token list\").")
	pos, err := m.parseN(args, 1, 1, "give one token id")
	if err != nil {
		return err
	}
	c, ctx, cancel, err := m.connect(ctx)
	defer cancel()
	if err != nil {
		return err
	}
	if err := c.RevokeToken(ctx, pos[0]); err != nil {
		return err
	}
	if m.json {
		return m.printJSON(map[string]string{"revoked": pos[0]})
	}
	fmt.Fprintf(m.stdout, "Revoked token %s.\n", pos[0])
	return nil
}
