package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/pgvector/pgvector-go"

	sage "github.com/sage-mcp/sage/daemon"
)

// Status describes the daemon and the namespace's store. The memories
// are counted from the counts of migration 008 (see Overview).
func (s *MemoryService) Status(ctx context.Context) (sage.Status, error) {
	st := sage.Status{
		Version:        sage.Version,
		Embedder:       s.emb.Name(),
		EmbeddingModel: s.model,
		Dimensions:     s.dims,
		Uptime:         time.Since(s.started),
		Namespace:      sage.NamespaceFrom(ctx),
	}
	h := sage.HealthOf(s.emb)
	st.EmbedderState, st.EmbedderDetail = h.State, h.Detail
	err := s.db.pool.QueryRow(ctx, `SELECT
			current_setting('server_version'),
			coalesce((SELECT extversion FROM pg_extension WHERE extname = 'vector'), ''),
			(SELECT count(*) FROM sessions WHERE namespace = $1),
			coalesce(sum(n), 0), coalesce(sum(n) FILTER (WHERE model = '' OR model <> $2), 0)
		FROM `+memoryCountsSQL+` c`, st.Namespace, s.model).
		Scan(&st.PostgresVersion, &st.PgvectorVersion, &st.Sessions, &st.Memories, &st.PendingEmbeddings)
	if err != nil {
		return sage.Status{}, fmt.Errorf("status: %w", unavailable(err))
	}
	return st, nil
}

// Batch size of backfill and reindex.
const embedBatch = 64

// Backfill embeds pending memories (of every namespace) until none is left,
// then re-embeds those whose vector is from another model (after a switch of
// provider or model: a background reindex), and returns how many it
// embedded. It stops at the first embedder failure, returning an error
// wrapping sage.ErrEmbedder; the rest stay pending.
func (s *MemoryService) Backfill(ctx context.Context) (int, error) {
	if err := s.Start(ctx); err != nil {
		return 0, err
	}
	done := 0
	for {
		n, err := s.backfillBatch(ctx)
		done += n
		if err != nil {
			return done, fmt.Errorf("backfill: %w", err)
		}
		if n == 0 {
			return done, nil
		}
	}
}

func (s *MemoryService) backfillBatch(ctx context.Context) (int, error) {
	n := 0
	err := pgx.BeginFunc(ctx, s.db.pool, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `SELECT id, text FROM memories WHERE embedding IS NULL
			ORDER BY id LIMIT $1 FOR UPDATE SKIP LOCKED`, embedBatch)
		if err != nil {
			return unavailable(err)
		}
		ids, texts, err := collectTexts(rows)
		if err != nil {
			return err
		}
		if len(ids) == 0 {
			// Then vectors of another model (memories_model serves both
			// ranges; IS DISTINCT FROM could not use it).
			rows, err = tx.Query(ctx, `SELECT id, text FROM memories WHERE embedding_model < $2 OR embedding_model > $2
				ORDER BY id LIMIT $1 FOR UPDATE SKIP LOCKED`, embedBatch, s.model)
			if err != nil {
				return unavailable(err)
			}
			if ids, texts, err = collectTexts(rows); err != nil {
				return err
			}
		}
		if len(ids) == 0 {
			return nil
		}
		if err := s.storeVectors(ctx, tx, ids, texts, ""); err != nil {
			return err
		}
		n = len(ids)
		return nil
	})
	return n, err
}

// collectTexts reads (id, text) rows.
func collectTexts(rows pgx.Rows) ([]int64, []string, error) {
	defer rows.Close()
	var ids []int64
	var texts []string
	for rows.Next() {
		var id int64
		var text string
		if err := rows.Scan(&id, &text); err != nil {
			return nil, nil, err
		}
		ids, texts = append(ids, id), append(texts, text)
	}
	if err := rows.Err(); err != nil {
		return nil, nil, unavailable(err)
	}
	return ids, texts, nil
}

// storeVectors embeds texts and stores the vectors of ids (in namespace ns,
// or any namespace when ns is "").
func (s *MemoryService) storeVectors(ctx context.Context, tx pgx.Tx, ids []int64, texts []string, ns string) error {
	vecs, err := s.embedTexts(ctx, texts)
	if err != nil {
		return err
	}
	hs := make([]pgvector.HalfVector, len(vecs))
	for i, v := range vecs {
		hs[i] = pgvector.NewHalfVector(v)
	}
	_, err = tx.Exec(ctx, `UPDATE memories m SET embedding = v.e, embedding_model = $3
		FROM unnest($1::bigint[], $2::halfvec[]) AS v(id, e)
		WHERE m.id = v.id AND ($4 = '' OR m.namespace = $4)`, ids, hs, s.model, ns)
	if err != nil {
		return unavailable(err)
	}
	return nil
}

// RunBackfill runs Retokenize and Backfill every interval until ctx ends.
// Failures are logged and retried at the next tick.
func (s *MemoryService) RunBackfill(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		if n, err := s.Retokenize(ctx); n > 0 || err != nil {
			s.logger.Info("rebuilt search terms of memories stored by an older tokenizer", "count", n, "err", err)
		}
		n, err := s.Backfill(ctx)
		if n > 0 {
			s.logger.Info("backfilled pending embeddings", "count", n)
		}
		if err != nil && ctx.Err() == nil {
			s.logger.Warn("backfill failed, will retry", "err", err, "interval", interval)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// Reindex re-embeds, in batches, every memory of the namespace whose vector
// is missing or from another model than the current embedder's, calling
// progress after each batch. Search keeps working meanwhile: memories not
// yet re-embedded are still found by keyword.
func (s *MemoryService) Reindex(ctx context.Context, progress func(sage.ReindexProgress)) error {
	if err := s.Start(ctx); err != nil {
		return err
	}
	ns := sage.NamespaceFrom(ctx)
	var p sage.ReindexProgress
	if err := s.db.pool.QueryRow(ctx, `SELECT count(*) FROM memories
		WHERE namespace = $1 AND embedding_model IS DISTINCT FROM $2`, ns, s.model).Scan(&p.Total); err != nil {
		return fmt.Errorf("reindex: %w", unavailable(err))
	}
	if progress != nil {
		progress(p)
	}
	var last int64
	for {
		var ids []int64
		var texts []string
		rows, err := s.db.pool.Query(ctx, `SELECT id, text FROM memories
			WHERE namespace = $1 AND embedding_model IS DISTINCT FROM $2 AND id > $3
			ORDER BY id LIMIT $4`, ns, s.model, last, embedBatch)
		if err != nil {
			return fmt.Errorf("reindex: %w", unavailable(err))
		}
		for rows.Next() {
			var id int64
			var text string
			if err := rows.Scan(&id, &text); err != nil {
				rows.Close()
				return fmt.Errorf("reindex: %w", err)
			}
			ids, texts = append(ids, id), append(texts, text)
		}
		if err := rows.Err(); err != nil {
			return fmt.Errorf("reindex: %w", unavailable(err))
		}
		if len(ids) == 0 {
			return nil
		}
		if err := pgx.BeginFunc(ctx, s.db.pool, func(tx pgx.Tx) error {
			return s.storeVectors(ctx, tx, ids, texts, ns)
		}); err != nil {
			return fmt.Errorf("reindex: %w", err)
		}
		last = ids[len(ids)-1]
		p.Done += int64(len(ids))
		if p.Done > p.Total {
			p.Total = p.Done // memories saved meanwhile
		}
		if progress != nil {
			progress(p)
		}
	}
}
