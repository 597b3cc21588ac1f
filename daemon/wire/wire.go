// Package wire converts the daemon's domain types (package sage) to their
// JSON wire form (shared/api) and back. The MCP tools and the REST API both
// convert through it, so they answer alike for the same memory: metadata
// that is empty or JSON null is absent on the wire, lists are [] rather
// than null, and a status names its version and namespace.
package wire

import (
	"bytes"
	"context"
	"encoding/json"
	"time"

	sage "github.com/sage-mcp/sage/daemon"
	"github.com/sage-mcp/sage/shared/api"
)

// Memory is the wire form of m, with its relevance score (0: none).
func Memory(m sage.Memory, score float64) api.Memory {
	return api.Memory{
		ID:             m.ID,
		Score:          score,
		Kind:           string(m.Kind),
		Text:           m.Text,
		SessionID:      m.SessionID,
		Project:        m.Project,
		Tags:           m.Tags,
		Metadata:       Metadata(m.Metadata),
		IdempotencyKey: m.IdempotencyKey,
		OccurredAt:     m.OccurredAt,
		CreatedAt:      m.CreatedAt,
	}
}

// Metadata drops empty and null metadata, so that it is either absent or
// an object on the wire.
func Metadata(m json.RawMessage) json.RawMessage {
	t := bytes.TrimSpace(m)
	if len(t) == 0 || bytes.Equal(t, []byte("null")) {
		return nil
	}
	return m
}

// Results is the wire form of ranked results, best first; never nil.
func Results(rs []sage.Result) []api.Memory {
	out := make([]api.Memory, len(rs))
	for i, r := range rs {
		out[i] = Memory(r.Memory, r.Score)
	}
	return out
}

// Memories is the wire form of memories without scores; never nil.
func Memories(ms []sage.Memory) []api.Memory {
	out := make([]api.Memory, len(ms))
	for i, m := range ms {
		out[i] = Memory(m, 0)
	}
	return out
}

// Session is the wire form of s.
func Session(s sage.Session) api.Session {
	return api.Session{
		ID:       s.ID,
		Project:  s.Project,
		Title:    s.Title,
		Memories: s.Memories,
		FirstAt:  s.FirstAt,
		LastAt:   s.LastAt,
	}
}

// Sessions is the wire form of a list of sessions; never nil.
func Sessions(ss []sage.Session) []api.Session {
	out := make([]api.Session, len(ss))
	for i, s := range ss {
		out[i] = Session(s)
	}
	return out
}

// SaveResult is the wire form of r.
func SaveResult(r sage.SaveResult) api.SaveResult {
	return api.SaveResult{ID: r.ID, Deduplicated: r.Deduplicated}
}

// SaveResults is the wire form of a batch's results, in order; never nil.
func SaveResults(rs []sage.SaveResult) []api.SaveResult {
	out := make([]api.SaveResult, len(rs))
	for i, r := range rs {
		out[i] = SaveResult(r)
	}
	return out
}

// Status is the wire form of st. An empty version is sage.Version, an
// empty namespace the one of ctx.
func Status(ctx context.Context, st sage.Status) api.Status {
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

// Token is the wire form of t: its zero times are absent.
func Token(t sage.Token) api.Token {
	return api.Token{
		ID: t.ID, Name: t.Name, Namespace: t.Namespace, Scopes: t.Scopes, CreatedAt: t.CreatedAt,
		ExpiresAt: timePtr(t.ExpiresAt), RevokedAt: timePtr(t.RevokedAt), LastUsed: timePtr(t.LastUsedAt),
	}
}

func timePtr(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

func timeOrZero(t *time.Time) time.Time {
	if t == nil {
		return time.Time{}
	}
	return *t
}

// Turn is the domain form of a turn received on the wire.
func Turn(t api.Turn) sage.Turn {
	return sage.Turn{
		IdempotencyKey:    t.IdempotencyKey,
		SessionID:         t.SessionID,
		Project:           t.Project,
		UserPrompt:        t.UserPrompt,
		AssistantResponse: t.AssistantResponse,
		Metadata:          t.Metadata,
		OccurredAt:        timeOrZero(t.OccurredAt),
	}
}

// Note is the domain form of a note received on the wire.
func Note(n api.Note) sage.Note {
	return sage.Note{
		IdempotencyKey: n.IdempotencyKey,
		Content:        n.Content,
		Kind:           sage.Kind(n.Kind),
		Tags:           n.Tags,
		Project:        n.Project,
		SessionID:      n.SessionID,
		Metadata:       n.Metadata,
		OccurredAt:     timeOrZero(n.OccurredAt),
	}
}

// Imported is the domain form of an exported memory read back for import:
// its id and score are not kept (the store assigns ids).
func Imported(m api.Memory) sage.Memory {
	return sage.Memory{
		Kind:           sage.Kind(m.Kind),
		Text:           m.Text,
		SessionID:      m.SessionID,
		Project:        m.Project,
		Tags:           m.Tags,
		Metadata:       m.Metadata,
		IdempotencyKey: m.IdempotencyKey,
		OccurredAt:     m.OccurredAt,
		CreatedAt:      m.CreatedAt,
	}
}

// Progress is the wire form of a reindex's progress report.
func Progress(p sage.ReindexProgress) api.ReindexProgress {
	return api.ReindexProgress{Done: p.Done, Total: p.Total}
}
