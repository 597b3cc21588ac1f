package main

import (
	"context"
	"fmt"
	"time"

	"github.com/sage-mcp/sage/bridge"
	"github.com/sage-mcp/sage/bridge/client"
	"github.com/sage-mcp/sage/bridge/outbox"
	"github.com/sage-mcp/sage/shared/api"
)

// statusCommand prints the daemon's status and the local outbox's.
var statusCommand = manageCommand{
	help: "Show the daemon's version, store and embedder, and the local outbox.",
	run:  manageStatus,
}

// statusReport is what status prints (--json: as it is).
type statusReport struct {
	Daemon            api.Status `json:"daemon"`
	URL               string     `json:"url"`
	OutboxPending     int        `json:"outbox_pending"`
	OutboxQuarantined int        `json:"outbox_quarantined"`
}

func manageStatus(ctx context.Context, m *manageCtx, _ []string) error {
	return manageCall(ctx, m, func(ctx context.Context, c *client.Client) (statusReport, error) {
		st, err := c.Status(ctx)
		pending, quarantined := outboxCounts()
		if err != nil {
			if pending > 0 {
				fmt.Fprintf(m.stderr, "%s in the local outbox, not yet delivered.\n", bridge.Plural(pending, "turn", "turns"))
			}
			return statusReport{}, err
		}
		return statusReport{st, c.BaseURL(), pending, quarantined}, nil
	}, func(r statusReport) {
		w, st := m.stdout, r.Daemon
		fmt.Fprintf(w, "daemon      %s (sage %s, up %s)\n", r.URL, st.Version, (time.Duration(st.UptimeSeconds) * time.Second).String())
		fmt.Fprintf(w, "namespace   %s\n", st.Namespace)
		fmt.Fprintf(w, "memories    %d in %s", st.Memories, bridge.Plural(st.Sessions, "session", "sessions"))
		if st.PendingEmbeddings > 0 {
			fmt.Fprintf(w, " (%d waiting for an embedding)", st.PendingEmbeddings)
		}
		fmt.Fprintln(w)
		fmt.Fprintf(w, "embedder    %s, model %s, %d dimensions", st.Embedder, st.EmbeddingModel, st.Dimensions)
		if st.EmbedderState != "" && st.EmbedderState != "ready" {
			// Saves still work (pending) and search falls back to keywords.
			fmt.Fprintf(w, "\n            %s, %d pending, keyword search only: %s", st.EmbedderState, st.PendingEmbeddings, st.EmbedderDetail)
		}
		fmt.Fprintln(w)
		fmt.Fprintf(w, "postgres    %s, pgvector %s\n", st.PostgresVersion, st.PgvectorVersion)
		fmt.Fprintf(w, "outbox      %d pending", r.OutboxPending)
		if r.OutboxQuarantined > 0 {
			fmt.Fprintf(w, ", %d quarantined", r.OutboxQuarantined)
		}
		if r.OutboxPending > 0 {
			fmt.Fprint(w, " (run \"sage_manage sync\")")
		}
		fmt.Fprintln(w)
	})
}

// outboxCounts counts the local outbox's entries; errors count as zero.
func outboxCounts() (pending, quarantined int) {
	dir, err := outbox.DefaultDir()
	if err != nil {
		return 0, 0
	}
	o, err := outbox.Open(dir, nil)
	if err != nil {
		return 0, 0
	}
	p, _ := o.Pending()
	q, _ := o.Quarantined()
	return len(p), len(q)
}
