package postgres

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	sage "github.com/sage-mcp/sage/daemon"
)

func nullable(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

const insertSQL = `INSERT INTO memories
	(namespace, project, session_id, kind, text, content_hash, idempotency_key, metadata, tags, tsv, occurred_at, embedding, embedding_model)
	VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, to_tsvector('simple', $10), $11, $12::halfvec, $13)
	ON CONFLICT DO NOTHING
	RETURNING id`

const lookupSQL = `SELECT id FROM memories
	WHERE namespace = $1 AND ((idempotency_key = $2) OR (session_id = $3 AND kind = $4 AND content_hash = $5))
	ORDER BY (idempotency_key IS NOT DISTINCT FROM $2) DESC, id
	LIMIT 1`

// insert stores recs in one transaction, in order, and returns where each
// went. A record that is already stored (same idempotency key, or same
// session, kind and content) is not stored again.
func (s *MemoryService) insert(ctx context.Context, recs []*record) ([]sage.SaveResult, error) {
	if err := s.Start(ctx); err != nil {
		return nil, err
	}
	if len(recs) == 1 {
		r, err := s.insertOne(ctx, recs[0])
		if err != nil {
			return nil, fmt.Errorf("save: %w", err)
		}
		res := []sage.SaveResult{r}
		s.noteInserted(res)
		return res, nil
	}
	// Insert in one global order (by content key), so that concurrent
	// batches saving the same turns wait for each other instead of
	// deadlocking.
	order := make([]int, len(recs))
	for i := range order {
		order[i] = i
	}
	sort.SliceStable(order, func(a, b int) bool {
		x, y := recs[order[a]].m, recs[order[b]].m
		if x.SessionID != y.SessionID {
			return x.SessionID < y.SessionID
		}
		if x.Kind != y.Kind {
			return x.Kind < y.Kind
		}
		return x.ContentHash < y.ContentHash
	})
	sorted := make([]*record, len(recs))
	for i, j := range order {
		sorted[i] = recs[j]
	}
	res, err := s.insertOrdered(ctx, sorted)
	if err != nil {
		return nil, err
	}
	out := make([]sage.SaveResult, len(recs))
	for i, j := range order {
		out[j] = res[i]
	}
	s.noteInserted(out)
	return out, nil
}

func (s *MemoryService) insertOrdered(ctx context.Context, recs []*record) ([]sage.SaveResult, error) {
	var out []sage.SaveResult
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		out = make([]sage.SaveResult, len(recs))
		b := &pgx.Batch{}
		for _, r := range recs {
			m := r.m
			b.Queue(insertSQL, m.Namespace, m.Project, m.SessionID, string(m.Kind), m.Text, m.ContentHash,
				nullable(m.IdempotencyKey), []byte(m.Metadata), m.Tags, r.tokens, m.OccurredAt,
				halfvec(r.vec), s.modelFor(r))
		}
		br := tx.SendBatch(ctx, b)
		var missing []int
		for i := range recs {
			err := br.QueryRow().Scan(&out[i].ID)
			if errors.Is(err, pgx.ErrNoRows) {
				missing = append(missing, i)
				continue
			}
			if err != nil {
				br.Close()
				return err
			}
		}
		if err := br.Close(); err != nil {
			return err
		}
		// Conflicts: find the memory already stored. A separate statement
		// sees rows that concurrent transactions committed meanwhile.
		for _, i := range missing {
			m := recs[i].m
			err := tx.QueryRow(ctx, lookupSQL, m.Namespace, nullable(m.IdempotencyKey), m.SessionID, string(m.Kind), m.ContentHash).Scan(&out[i].ID)
			if err != nil {
				if errors.Is(err, pgx.ErrNoRows) {
					return errRetry // the conflicting row went away: try again
				}
				return err
			}
			out[i].Deduplicated = true
		}
		return s.touchSessions(ctx, tx, recs, out)
	})
	if err != nil {
		return nil, fmt.Errorf("save: %w", err)
	}
	return out, nil
}

// insertOneSQL stores one memory and creates or extends its session in one
// statement (one round trip, its own transaction).
const insertOneSQL = `WITH ins AS (
	INSERT INTO memories
		(namespace, project, session_id, kind, text, content_hash, idempotency_key, metadata, tags, tsv, occurred_at, embedding, embedding_model)
	VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, to_tsvector('simple', $10), $11, $12::halfvec, $13)
	ON CONFLICT DO NOTHING
	RETURNING id, occurred_at
), sess AS (
	INSERT INTO sessions (namespace, id, project, title, first_at, last_at)
	SELECT $1, $3, $2, $14, occurred_at, occurred_at FROM ins WHERE $3 <> ''
	ON CONFLICT (namespace, id) DO UPDATE SET
		first_at = LEAST(sessions.first_at, EXCLUDED.first_at),
		last_at = GREATEST(sessions.last_at, EXCLUDED.last_at),
		project = CASE WHEN sessions.project = '' THEN EXCLUDED.project ELSE sessions.project END,
		title = CASE WHEN sessions.title = '' THEN EXCLUDED.title ELSE sessions.title END
)
SELECT id FROM ins`

// insertOne is insert for a single memory: the common case of a save.
func (s *MemoryService) insertOne(ctx context.Context, r *record) (sage.SaveResult, error) {
	m := r.m
	var out sage.SaveResult
	for attempt := 0; attempt < 8; attempt++ {
		err := s.db.pool.QueryRow(ctx, insertOneSQL, m.Namespace, m.Project, m.SessionID, string(m.Kind), m.Text, m.ContentHash,
			nullable(m.IdempotencyKey), []byte(m.Metadata), m.Tags, r.tokens, m.OccurredAt,
			halfvec(r.vec), s.modelFor(r), r.title).Scan(&out.ID)
		if err == nil {
			return out, nil
		}
		var pgErr *pgconn.PgError
		if errors.As(err, &pgErr) && (pgErr.Code == "40P01" || pgErr.Code == "40001") {
			continue
		}
		if !errors.Is(err, pgx.ErrNoRows) {
			return out, unavailable(err)
		}
		// Already stored: find the first one.
		err = s.db.pool.QueryRow(ctx, lookupSQL, m.Namespace, nullable(m.IdempotencyKey), m.SessionID, string(m.Kind), m.ContentHash).Scan(&out.ID)
		if errors.Is(err, pgx.ErrNoRows) {
			continue // the conflicting row went away meanwhile: try again
		}
		if err != nil {
			return out, unavailable(err)
		}
		out.Deduplicated = true
		return out, nil
	}
	return out, errors.New("save kept conflicting with concurrent changes")
}

// touchSessions creates or extends the sessions of newly stored records.
func (s *MemoryService) touchSessions(ctx context.Context, tx pgx.Tx, recs []*record, res []sage.SaveResult) error {
	type span struct {
		ns, project, title string
		first, last        time.Time
	}
	spans := map[string]*span{}
	for i, r := range recs {
		if res[i].Deduplicated || r.m.SessionID == "" {
			continue
		}
		sp := spans[r.m.SessionID]
		if sp == nil {
			sp = &span{ns: r.m.Namespace, project: r.m.Project, title: r.title, first: r.m.OccurredAt, last: r.m.OccurredAt}
			spans[r.m.SessionID] = sp
			continue
		}
		if r.m.OccurredAt.Before(sp.first) {
			sp.first = r.m.OccurredAt
			if r.title != "" {
				sp.title = r.title
			}
		}
		if r.m.OccurredAt.After(sp.last) {
			sp.last = r.m.OccurredAt
		}
		if sp.project == "" {
			sp.project = r.m.Project
		}
	}
	ids := make([]string, 0, len(spans))
	for id := range spans {
		ids = append(ids, id)
	}
	sort.Strings(ids) // one lock order for every transaction
	for _, id := range ids {
		sp := spans[id]
		_, err := tx.Exec(ctx, `INSERT INTO sessions (namespace, id, project, title, first_at, last_at)
			VALUES ($1, $2, $3, $4, $5, $6)
			ON CONFLICT (namespace, id) DO UPDATE SET
				first_at = LEAST(sessions.first_at, EXCLUDED.first_at),
				last_at = GREATEST(sessions.last_at, EXCLUDED.last_at),
				project = CASE WHEN sessions.project = '' THEN EXCLUDED.project ELSE sessions.project END,
				title = CASE WHEN sessions.title = '' THEN EXCLUDED.title ELSE sessions.title END`,
			sp.ns, id, sp.project, sp.title, sp.first, sp.last)
		if err != nil {
			return err
		}
	}
	return nil
}

var errRetry = errors.New("retry transaction")

// inTx runs fn in a transaction, retrying on deadlocks and serialization
// failures (concurrent saves of the same content may meet in either order).
func (s *MemoryService) inTx(ctx context.Context, fn func(pgx.Tx) error) error {
	var err error
	for attempt := 0; attempt < 8; attempt++ {
		if attempt > 0 {
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(time.Duration(attempt*attempt) * 5 * time.Millisecond):
			}
		}
		err = pgx.BeginFunc(ctx, s.db.pool, fn)
		if err == nil {
			return nil
		}
		var pgErr *pgconn.PgError
		if errors.Is(err, errRetry) || (errors.As(err, &pgErr) && (pgErr.Code == "40P01" || pgErr.Code == "40001")) {
			continue
		}
		return unavailable(err)
	}
	return unavailable(err)
}

// SaveTurn stores a turn once (see sage.Service).
func (s *MemoryService) SaveTurn(ctx context.Context, t sage.Turn) (sage.SaveResult, error) {
	if err := t.Validate(); err != nil {
		return sage.SaveResult{}, err
	}
	r := s.turnRecord(sage.NamespaceFrom(ctx), t)
	s.embed(ctx, []*record{r})
	res, err := s.insert(ctx, []*record{r})
	if err != nil {
		return sage.SaveResult{}, err
	}
	return res[0], nil
}

// SaveTurns stores a batch of turns atomically: every turn is checked first,
// and all are stored in one transaction.
func (s *MemoryService) SaveTurns(ctx context.Context, ts []sage.Turn) ([]sage.SaveResult, error) {
	if len(ts) == 0 {
		return nil, sage.Invalidf("turns", "is empty")
	}
	if len(ts) > sage.MaxBatch {
		return nil, sage.Invalidf("turns", "at most %d turns at once, got %d", sage.MaxBatch, len(ts))
	}
	ns := sage.NamespaceFrom(ctx)
	recs := make([]*record, len(ts))
	for i, t := range ts {
		if err := t.Validate(); err != nil {
			var ie *sage.InputError
			if errors.As(err, &ie) {
				return nil, &sage.InputError{Field: fmt.Sprintf("turns[%d].%s", i, ie.Field), Message: ie.Message}
			}
			return nil, err
		}
		recs[i] = s.turnRecord(ns, t)
	}
	s.embed(ctx, recs)
	return s.insert(ctx, recs)
}

// Remember stores a note once (see sage.Service).
func (s *MemoryService) Remember(ctx context.Context, n sage.Note) (sage.SaveResult, error) {
	if err := n.Validate(); err != nil {
		return sage.SaveResult{}, err
	}
	if n.Kind == "" {
		n.Kind = sage.KindNote
	}
	r := s.newRecord(sage.NamespaceFrom(ctx), sage.Memory{
		Project: n.Project, SessionID: n.SessionID, Kind: n.Kind,
		Text: strings.TrimSpace(n.Content), IdempotencyKey: n.IdempotencyKey,
		Metadata: n.Metadata, Tags: normalizeTags(n.Tags), OccurredAt: n.OccurredAt,
	})
	r.title = sessionTitle(n.Content)
	s.embed(ctx, []*record{r})
	res, err := s.insert(ctx, []*record{r})
	if err != nil {
		return sage.SaveResult{}, err
	}
	return res[0], nil
}
