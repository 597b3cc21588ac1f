package mcpserver

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	sage "github.com/sage-mcp/sage/daemon"
	"github.com/sage-mcp/sage/shared/api"
)

// apiMemory is the wire form of a memory.
func apiMemory(m sage.Memory, score float64) api.Memory {
	return api.Memory{
		ID:             m.ID,
		Score:          score,
		Kind:           string(m.Kind),
		Text:           m.Text,
		SessionID:      m.SessionID,
		Project:        m.Project,
		Tags:           m.Tags,
		Metadata:       metadata(m.Metadata),
		IdempotencyKey: m.IdempotencyKey,
		OccurredAt:     m.OccurredAt,
		CreatedAt:      m.CreatedAt,
	}
}

// metadata drops empty and null metadata, so it is either absent or an
// object on the wire.
func metadata(m json.RawMessage) json.RawMessage {
	t := bytes.TrimSpace(m)
	if len(t) == 0 || bytes.Equal(t, []byte("null")) {
		return nil
	}
	return m
}

// apiResults is the wire form of ranked results; never nil, so the JSON is
// [] rather than null.
func apiResults(rs []sage.Result) []api.Memory {
	out := make([]api.Memory, len(rs))
	for i, r := range rs {
		out[i] = apiMemory(r.Memory, r.Score)
	}
	return out
}

func apiSession(s sage.Session) api.Session {
	return api.Session{
		ID:       s.ID,
		Project:  s.Project,
		Title:    s.Title,
		Memories: s.Memories,
		FirstAt:  s.FirstAt,
		LastAt:   s.LastAt,
	}
}

func apiStatus(ctx context.Context, st sage.Status) api.Status {
	ns := st.Namespace
	if ns == "" {
		ns = sage.NamespaceFrom(ctx)
	}
	version := st.Version
	if version == "" {
		version = sage.Version
	}
	return api.Status{
		Version:           version,
		PostgresVersion:   st.PostgresVersion,
		PgvectorVersion:   st.PgvectorVersion,
		Embedder:          st.Embedder,
		EmbeddingModel:    st.EmbeddingModel,
		Dimensions:        st.Dimensions,
		Memories:          st.Memories,
		Sessions:          st.Sessions,
		PendingEmbeddings: st.PendingEmbeddings,
		UptimeSeconds:     st.Uptime.Seconds(),
		Namespace:         ns,
		EmbedderState:     st.EmbedderState,
		EmbedderDetail:    st.EmbedderDetail,
	}
}

// SessionExport is the JSON form of an exported session.
type SessionExport struct {
	Session  api.Session  `json:"session"`
	Memories []api.Memory `json:"memories"`
}

func sessionJSON(s sage.Session, ms []sage.Memory) (string, error) {
	e := SessionExport{Session: apiSession(s), Memories: make([]api.Memory, len(ms))}
	for i, m := range ms {
		e.Memories[i] = apiMemory(m, 0)
	}
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
