package main

import (
	"context"
	"flag"
	"fmt"
	"strings"
	"time"

	"github.com/sage-mcp/sage/bridge/client"
	"github.com/sage-mcp/sage/shared/api"
)

// tokenCommand issues, lists and revokes access tokens: it picks one of
// tokenActions.
var tokenCommand = manageCommand{dispatch: manageToken}

// tokenActions maps each action of "sage_manage token" to its command.
var tokenActions = map[string]manageCommand{
	"issue": {
		usage:   "<name> [flags]",
		help:    "Issue a token. Its secret is printed once: store it (e.g. in a token file).",
		minArgs: 1, maxArgs: 1, want: "give the token a name, like: sage_manage token issue laptop",
		flags: manageTokenIssue,
	},
	"list": {
		usage: "[flags]",
		help:  "List tokens (never their secrets).",
		run:   manageTokenList,
	},
	"revoke": {
		usage:   "<id> [flags]",
		help:    "Revoke a token by id (see \"sage_manage token list\").",
		minArgs: 1, maxArgs: 1, want: "give one token id",
		run: manageTokenRevoke,
	},
}

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
	if cmd, ok := tokenActions[action]; ok {
		return m.run(ctx, cmd, args)
	}
	m.flags("issue|list|revoke …", "Manage access tokens.")
	return m.usageErr("unknown action %q: want issue, list or revoke", action)
}

func manageTokenIssue(fs *flag.FlagSet) manageAction {
	scopes := fs.String("scopes", "", "comma-separated scopes (default: the daemon's default, memories)")
	ttl := fs.String("ttl", "", "lifetime, a Go duration like 720h (default: no expiry)")
	ns := fs.String("namespace", "", "namespace of the token (default: the caller's)")
	return func(ctx context.Context, m *manageCtx, pos []string) error {
		if *ttl != "" {
			if _, err := time.ParseDuration(*ttl); err != nil {
				return m.usageErr("--ttl %q: %v", *ttl, err)
			}
		}
		req := api.IssueTokenRequest{Name: pos[0], Namespace: *ns, TTL: *ttl}
		if *scopes != "" {
			req.Scopes = strings.Split(*scopes, ",")
		}
		return manageCall(ctx, m, func(ctx context.Context, c *client.Client) (api.IssuedToken, error) {
			return c.IssueToken(ctx, req)
		}, func(t api.IssuedToken) {
			fmt.Fprintf(m.stdout, "%s\n", t.Secret)
			fmt.Fprintf(m.stderr, "Issued token %s (%q, namespace %s, scopes %s). The secret above is shown only once.\n",
				t.ID, t.Name, t.Namespace, strings.Join(t.Scopes, ","))
		})
	}
}

func manageTokenList(ctx context.Context, m *manageCtx, _ []string) error {
	return manageCall(ctx, m, func(ctx context.Context, c *client.Client) ([]api.Token, error) {
		return c.Tokens(ctx)
	}, func(ts []api.Token) {
		if len(ts) == 0 {
			fmt.Fprintln(m.stdout, "No tokens.")
			return
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
	})
}

// revoked is what token revoke prints with --json.
type revoked struct {
	Revoked string `json:"revoked"`
}

func manageTokenRevoke(ctx context.Context, m *manageCtx, pos []string) error {
	return manageCall(ctx, m, func(ctx context.Context, c *client.Client) (revoked, error) {
		return revoked{pos[0]}, c.RevokeToken(ctx, pos[0])
	}, func(r revoked) {
		fmt.Fprintf(m.stdout, "Revoked token %s.\n", r.Revoked)
	})
}
