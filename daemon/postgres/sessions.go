package postgres

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

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
	var first, last pgtype.Timestamptz
	err := row.Scan(&x.ID, &x.Namespace, &x.Project, &x.Title, &first, &last, &x.Memories)
	x.FirstAt, x.LastAt = timeOf(first), timeOf(last)
	return x, err
}

// clampSession brings a session's times into the range of sage.ClampTime,
// logging when it has to (see clampMemory).
func (s *MemoryService) clampSession(x *sage.Session) {
	first, m1 := sage.ClampTime(x.FirstAt)
	last, m2 := sage.ClampTime(x.LastAt)
	if m1 || m2 {
		s.logger.Warn("session has a time out of range: shown clamped", "namespace", x.Namespace, "session", x.ID,
			"first_at", timeText(x.FirstAt), "last_at", timeText(x.LastAt))
		x.FirstAt, x.LastAt = first, last
	}
}

// Sessions lists sessions, most recent first; project "" means all.
// limit 0 means sage.DefaultLimit; at most sage.MaxLimit.
func (s *MemoryService) Sessions(ctx context.Context, project string, limit int) ([]sage.Session, error) {
	if limit < 0 || limit > sage.MaxLimit {
		return nil, sage.Invalidf("limit", "must be between 1 and %d (0 means %d), got %d", sage.MaxLimit, sage.DefaultLimit, limit)
	}
	if err := sage.ValidateProject(project); err != nil {
		return nil, err
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
	for i := range out {
		s.clampSession(&out[i])
	}
	return out, nil
}

// Session returns one session, or an error wrapping sage.ErrNotFound.
func (s *MemoryService) Session(ctx context.Context, id string) (sage.Session, error) {
	if err := sage.ValidateSessionID(id); err != nil {
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
	s.clampSession(&x)
	return x, nil
}

// RenameSession sets a session's title, its words separated by single
// spaces (sage.ValidateTitle: required, at most sage.MaxTitleBytes).
func (s *MemoryService) RenameSession(ctx context.Context, id, title string) error {
	if err := sage.ValidateSessionID(id); err != nil {
		return err
	}
	if err := sage.ValidateTitle(title); err != nil {
		return err
	}
	title = sage.NormalizeTitle(title)
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
	for i := range out {
		s.clampMemory(&out[i])
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
	var lastAt pgtype.Timestamptz // as stored: a clamped time would skip or repeat rows
	var lastID int64
	for {
		w := filterWhere(ns, filter{Filter: f})
		if lastAt.Valid {
			w.args = append(w.args, lastAt, lastID)
			w.conds = append(w.conds, fmt.Sprintf("(occurred_at, id) > ($%d, $%d)", len(w.args)-1, len(w.args)))
		}
		rows, err := s.db.pool.Query(ctx, fmt.Sprintf(`SELECT %s FROM memories WHERE %s ORDER BY occurred_at, id LIMIT %d`,
			memoryColumns, w.sql(), page), w.args...)
		if err != nil {
			return fmt.Errorf("export: %w", unavailable(err))
		}
		var at pgtype.Timestamptz
		ms, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (sage.Memory, error) {
			m, a, err := scanMemoryAt(r)
			at = a
			return m, err
		})
		if err != nil {
			return fmt.Errorf("export: %w", unavailable(err))
		}
		for _, m := range ms {
			s.clampMemory(&m)
			if err := fn(m); err != nil {
				return err
			}
		}
		if len(ms) < page {
			return nil
		}
		lastAt, lastID = at, ms[len(ms)-1].ID
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
