package main

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/sage-mcp/sage/bridge"
)

// manageForget deletes memories by id or a whole session.
func manageForget(ctx context.Context, m *manageCtx, args []string) error {
	fs := m.flags("<memory id>… | --session <id>", "Delete memories (ids as shown by search, with or without #) or a whole session.")
	session := fs.String("session", "", "delete this whole session")
	pos, err := m.parse(args)
	if err != nil {
		return err
	}
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
	c, ctx, cancel, err := m.connect(ctx)
	defer cancel()
	if err != nil {
		return err
	}
	n, err := c.Forget(ctx, ids, *session)
	if err != nil {
		return err
	}
	if m.json {
		return m.printJSON(map[string]int64{"deleted": n})
	}
	fmt.Fprintf(m.stdout, "Deleted %s.\n", bridge.Plural(n, "memory", "memories"))
	if want := len(ids); *session == "" && int(n) < want {
		fmt.Fprintf(m.stderr, "%d of the ids did not exist.\n", want-int(n))
	}
	return nil
}
