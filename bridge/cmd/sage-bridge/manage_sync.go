package main

import (
	"context"
	"errors"
	"fmt"

	"github.com/sage-mcp/sage/bridge"
	"github.com/sage-mcp/sage/bridge/outbox"
)

// syncCommand drains the local outbox.
var syncCommand = manageCommand{
	usage: "[flags]",
	help:  "Deliver the turns queued in the local outbox (saved while the daemon was\nunreachable) in order. Replays are harmless: every turn has an idempotency key.",
	run:   manageSync,
}

func manageSync(ctx context.Context, m *manageCtx, _ []string) error {
	c, err := m.client()
	if err != nil {
		return err
	}
	dir, err := outbox.DefaultDir()
	if err != nil {
		return err
	}
	o, err := outbox.Open(dir, nil)
	if err != nil {
		return err
	}
	ctx, cancel := m.withTimeout(ctx)
	defer cancel()
	res, err := o.Drain(ctx, c)
	if m.json {
		out := struct {
			Dir         string              `json:"dir"`
			Sent        int                 `json:"sent"`
			Remaining   int                 `json:"remaining"`
			Quarantined []outbox.Quarantine `json:"quarantined"`
			Error       string              `json:"error,omitempty"`
		}{Dir: dir, Sent: res.Sent, Remaining: res.Remaining, Quarantined: res.Quarantined}
		if err != nil {
			out.Error = m.explain(err)
		}
		if perr := m.printJSON(out); perr != nil {
			return perr
		}
		if err != nil {
			return fmt.Errorf("%s left in %s", bridge.Plural(res.Remaining, "turn", "turns"), dir)
		}
		return nil
	}
	for _, q := range res.Quarantined {
		fmt.Fprintf(m.stderr, "quarantined %s: %s\n", q.Name, q.Reason)
	}
	if len(res.Quarantined) > 0 {
		fmt.Fprintf(m.stderr, "(moved to %s; the rest was still delivered)\n", dir+"/"+outbox.QuarantineDir)
	}
	if err != nil {
		if errors.Is(err, outbox.ErrBusy) {
			return fmt.Errorf("another process is delivering the outbox right now; try again: %w", err)
		}
		return fmt.Errorf("delivered %s, %d left in %s: %w", bridge.Plural(res.Sent, "turn", "turns"), res.Remaining, dir, err)
	}
	fmt.Fprintf(m.stdout, "Delivered %s; the outbox is empty.\n", bridge.Plural(res.Sent, "turn", "turns"))
	return nil
}
