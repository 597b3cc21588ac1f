package main

import (
	"context"
	"flag"
	"fmt"
	"strconv"
	"strings"

	"github.com/sage-mcp/sage/bridge"
	"github.com/sage-mcp/sage/bridge/client"
)

// forgetCommand deletes memories by id or a whole session.
var forgetCommand = manageCommand{
	usage:   "<memory id>… | --session <id>",
	help:    "Delete memories (ids as shown by search, with or without #) or a whole session.",
	maxArgs: -1,
	flags:   manageForget,
}

// forgotten is what forget prints with --json.
type forgotten struct {
	Deleted int64 `json:"deleted"`
}

func manageForget(fs *flag.FlagSet) manageAction {
	session := fs.String("session", "", "delete this whole session")
	return func(ctx context.Context, m *manageCtx, pos []string) error {
		if len(pos) == 0 && *session == "" {
			return m.usageErr("give memory ids or --session")
		}
		var ids []int64
		for _, a := range pos {
			for _, f := range strings.Split(a, ",") {
				f = strings.TrimPrefix(strings.TrimSpace(f), "#")
				if f == "" {
					continue
				}
				id, err := strconv.ParseInt(f, 10, 64)
				if err != nil || id <= 0 {
					return m.usageErr("%q is not a memory id (a positive number)", f)
				}
				ids = append(ids, id)
			}
		}
		return manageCall(ctx, m, func(ctx context.Context, c *client.Client) (forgotten, error) {
			n, err := c.Forget(ctx, ids, *session)
			return forgotten{n}, err
		}, func(r forgotten) {
			fmt.Fprintf(m.stdout, "Deleted %s.\n", bridge.Plural(r.Deleted, "memory", "memories"))
			if want := len(ids); *session == "" && int(r.Deleted) < want {
				fmt.Fprintf(m.stderr, "%d of the ids did not exist.\n", want-int(r.Deleted))
			}
		})
	}
}
