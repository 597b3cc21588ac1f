package mcpserver

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"

	sage "github.com/sage-mcp/sage/daemon"
	"github.com/sage-mcp/sage/daemon/wire"
	"github.com/sage-mcp/sage/shared/api"
)

func sessionJSON(s sage.Session, ms []sage.Memory) (string, error) {
	e := api.SessionExport{Session: wire.Session(s), Memories: wire.Memories(ms)}
	b, err := json.MarshalIndent(e, "", "  ")
	if err != nil {
		return "", fmt.Errorf("encode session: %w", err)
	}
	return string(b), nil
}

// sessionMarkdown renders a session as a readable transcript.
func sessionMarkdown(s sage.Session, ms []sage.Memory) string {
	var b strings.Builder
	title := s.Title
	if title == "" {
		title = "Session " + s.ID
	}
	fmt.Fprintf(&b, "# %s\n\n", oneLine(title))
	fmt.Fprintf(&b, "- session: `%s`\n", oneLine(s.ID))
	if s.Project != "" {
		fmt.Fprintf(&b, "- project: `%s`\n", oneLine(s.Project))
	}
	fmt.Fprintf(&b, "- memories: %d\n", len(ms))
	if !s.FirstAt.IsZero() {
		fmt.Fprintf(&b, "- from %s to %s\n", s.FirstAt.UTC().Format(time.RFC3339), s.LastAt.UTC().Format(time.RFC3339))
	}
	for _, m := range ms {
		fmt.Fprintf(&b, "\n## %s · %s · #%d\n\n", m.OccurredAt.UTC().Format(time.RFC3339), m.Kind, m.ID)
		if len(m.Tags) > 0 {
			fmt.Fprintf(&b, "tags: %s\n\n", oneLine(strings.Join(m.Tags, ", ")))
		}
		b.WriteString(strings.TrimRight(m.Text, "\n"))
		b.WriteString("\n")
	}
	return b.String()
}

// oneLine keeps a value on one line of Markdown.
func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}
