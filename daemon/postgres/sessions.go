package postgres

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"

	sage "github.com/sage-mcp/sage/daemon"
)

// Forget deletes memories by id, or a whole session, and returns how many
// memories went. Sessions left without memories go too. Forgetting a session
// that does not exist is ErrNotFound; unknown ids are ignored.
func (s *MemoryService) Forget(ctx context.Context, r sage.ForgetRequest) (int64, error) {
	if err := r.Validate(); err != nil {
		return 0, err
	}
	ns := sage.NamespaceFrom(ctx)
	var n int64
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		if r.SessionID != "" {
			tag, err := tx.Exec(ctx, `DELETE FROM memories WHERE namespace = $1 AND session_id = $2`, ns, r.SessionID)
			if err != nil {
				return err
			}
			n = tag.RowsAffected()
			stag, err := tx.Exec(ctx, `DELETE FROM sessions WHERE namespace = $1 AND id = $2`, ns, r.SessionID)
			if err != nil {
				return err
			}
			if n == 0 && stag.RowsAffected() == 0 {
				return fmt.Errorf("session %q: %w", r.SessionID, sage.ErrNotFound)
			}
			return nil
		}
		rows, err := tx.Query(ctx, `DELETE FROM memories WHERE namespace = $1 AND id = ANY($2) RETURNING session_id`, ns, r.IDs)
		if err != nil {
			return err
		}
		sessions, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			return err
		}
		n = int64(len(sessions))
		_, err = tx.Exec(ctx, `DELETE FROM sessions s WHERE s.namespace = $1 AND s.id = ANY($2)
			AND NOT EXISTS (SELECT 1 FROM memories m WHERE m.namespace = s.namespace AND m.session_id = s.id)`, ns, sessions)
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("forget: %w", err)
	}
	return n, nil
}

const sessionColumns = `s.id, s.namespace, s.project, s.title, s.first_at, s.last_at,
	(SELECT count(*) FROM memories m WHERE m.namespace = s.namespace AND m.session_id = s.id)`

func scanSession(row pgx.Row) (sage.Session, error) {
	var x sage.Session
	err := row.Scan(&x.ID, &x.Namespace, &x.Project, &x.Title, &x.FirstAt, &x.LastAt, &x.Memories)
	return x, err
}

// Sessions lists sessions, most recent first; project "" means all.
// limit 0 means sage.DefaultLimit; at most sage.MaxLimit.
func (s *MemoryService) Sessions(ctx context.Context, project string, limit int) ([]sage.Session, error) {
	if limit < 0 || limit > sage.MaxLimit {
		return nil, sage.Invalidf("limit", "must be between 1 and %d (0 means %d), got %d", sage.MaxLimit, sage.DefaultLimit, limit)
	}
	if len(project) > sage.MaxIDBytes {
		return nil, sage.Invalidf("project", "is longer than %d bytes", sage.MaxIDBytes)
	}
	if limit == 0 {
		limit = sage.DefaultLimit
	}
	rows, err := s.db.pool.Query(ctx, `SELECT `+sessionColumns+` FROM sessions s
		WHERE s.namespace = $1 AND ($2 = '' OR s.project = $2)
		ORDER BY s.last_at DESC, s.id LIMIT $3`, sage.NamespaceFrom(ctx), project, limit)
	if err != nil {
		return nil, fmt.Errorf("sessions: %w", unavailable(err))
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (sage.Session, error) { return scanSession(r) })
	if err != nil {
		return nil, fmt.Errorf("sessions: %w", unavailable(err))
	}
	return out, nil
}

// Session returns one session, or an error wrapping sage.ErrNotFound.
func (s *MemoryService) Session(ctx context.Context, id string) (sage.Session, error) {
	if err := checkSessionID(id); err != nil {
		return sage.Session{}, err
	}
	x, err := scanSession(s.db.pool.QueryRow(ctx, `SELECT `+sessionColumns+` FROM sessions s WHERE s.namespace = $1 AND s.id = $2`,
		sage.NamespaceFrom(ctx), id))
	if errors.Is(err, pgx.ErrNoRows) {
		return sage.Session{}, fmt.Errorf("session %q: %w", id, sage.ErrNotFound)
	}
	if err != nil {
		return sage.Session{}, fmt.Errorf("session: %w", unavailable(err))
	}
	return x, nil
}

func checkSessionID(id string) error {
	if id == "" {
		return sage.Invalidf("session_id", "is required")
	}
	if len(id) > sage.MaxIDBytes {
		return sage.Invalidf("session_id", "is longer than %d bytes", sage.MaxIDBytes)
	}
	return nil
}

// RenameSession sets a session's title (at most MaxTitleBytes; empty
// clears it).
func (s *MemoryService) RenameSession(ctx context.Context, id, title string) error {
	if err := checkSessionID(id); err != nil {
		return err
	}
	title = strings.Join(strings.Fields(title), " ")
	if len(title) > MaxTitleBytes {
		return sage.Invalidf("title", "is %d bytes, more than the limit of %d", len(title), MaxTitleBytes)
	}
	if strings.IndexByte(title, 0) >= 0 || !validUTF8(title) {
		return sage.Invalidf("title", "is not valid text")
	}
	tag, err := s.db.pool.Exec(ctx, `UPDATE sessions SET title = $3 WHERE namespace = $1 AND id = $2`,
		sage.NamespaceFrom(ctx), id, title)
	if err != nil {
		return fmt.Errorf("rename session: %w", unavailable(err))
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("session %q: %w", id, sage.ErrNotFound)
	}
	return nil
}

// SessionMemories returns a session's memories in time order, or an error
// wrapping sage.ErrNotFound.
func (s *MemoryService) SessionMemories(ctx context.Context, id string) ([]sage.Memory, error) {
	if _, err := s.Session(ctx, id); err != nil {
		return nil, err
	}
	rows, err := s.db.pool.Query(ctx, `SELECT `+memoryColumns+` FROM memories
		WHERE namespace = $1 AND session_id = $2 ORDER BY occurred_at, id`, sage.NamespaceFrom(ctx), id)
	if err != nil {
		return nil, fmt.Errorf("session memories: %w", unavailable(err))
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (sage.Memory, error) { return scanMemory(r) })
	if err != nil {
		return nil, fmt.Errorf("session memories: %w", unavailable(err))
	}
	return out, nil
}

// Export calls fn for every memory matching f, oldest first, reading in
// pages so memory use stays flat. An error from fn stops it and is returned.
func (s *MemoryService) Export(ctx context.Context, f sage.Filter, fn func(sage.Memory) error) error {
	if err := f.Validate(); err != nil {
		return err
	}
	const page = 500
	ns := sage.NamespaceFrom(ctx)
	var lastAt any
	var lastID int64
	for {
		w := filterWhere(ns, f)
		if lastAt != nil {
			w.args = append(w.args, lastAt, lastID)
			w.conds = append(w.conds, fmt.Sprintf("(occurred_at, id) > ($%d, $%d)", len(w.args)-1, len(w.args)))
		}
		rows, err := s.db.pool.Query(ctx, fmt.Sprintf(`SELECT %s FROM memories WHERE %s ORDER BY occurred_at, id LIMIT %d`,
			memoryColumns, w.sql(), page), w.args...)
		if err != nil {
			return fmt.Errorf("export: %w", unavailable(err))
		}
		ms, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (sage.Memory, error) { return scanMemory(r) })
		if err != nil {
			return fmt.Errorf("export: %w", unavailable(err))
		}
		for _, m := range ms {
			if err := fn(m); err != nil {
				return err
			}
		}
		if len(ms) < page {
			return nil
		}
		lastAt, lastID = ms[len(ms)-1].OccurredAt, ms[len(ms)-1].ID
	}
}

// Import stores memories (at most sage.MaxBatch) in one transaction,
// idempotently: by idempotency key, or by session, kind and content. Every
// memory is checked first; one bad memory stores none. Namespace, ID,
// ContentHash, CreatedAt and EmbeddingModel of the input are ignored.
func (s *MemoryService) Import(ctx context.Context, ms []sage.Memory) (sage.ImportResult, error) {
	if len(ms) > sage.MaxBatch {
		return sage.ImportResult{}, sage.Invalidf("memories", "at most %d memories at once, got %d", sage.MaxBatch, len(ms))
	}
	if len(ms) == 0 {
		return sage.ImportResult{}, nil
	}
	ns := sage.NamespaceFrom(ctx)
	recs := make([]*record, len(ms))
	for i, m := range ms {
		if m.Kind == "" {
			m.Kind = sage.KindNote
		}
		n := sage.Note{IdempotencyKey: m.IdempotencyKey, Content: m.Text, Kind: m.Kind, Tags: m.Tags,
			Project: m.Project, SessionID: m.SessionID, Metadata: m.Metadata, OccurredAt: m.OccurredAt}
		if err := n.Validate(); err != nil {
			var ie *sage.InputError
			if errors.As(err, &ie) {
				field := ie.Field
				if field == "content" {
					field = "text"
				}
				return sage.ImportResult{}, &sage.InputError{Field: fmt.Sprintf("memories[%d].%s", i, field), Message: ie.Message}
			}
			return sage.ImportResult{}, err
		}
		recs[i] = s.newRecord(ns, sage.Memory{
			Project: m.Project, SessionID: m.SessionID, Kind: m.Kind, Text: m.Text,
			IdempotencyKey: m.IdempotencyKey, Metadata: m.Metadata, Tags: normalizeTags(m.Tags), OccurredAt: m.OccurredAt,
		})
		recs[i].title = sessionTitle(strings.TrimPrefix(m.Text, "User: "))
	}
	s.embed(ctx, recs)
	res, err := s.insert(ctx, recs)
	if err != nil {
		return sage.ImportResult{}, fmt.Errorf("import: %w", err)
	}
	var out sage.ImportResult
	for _, r := range res {
		if r.Deduplicated {
			out.Deduplicated++
		} else {
			out.Imported++
		}
	}
	return out, nil
}
