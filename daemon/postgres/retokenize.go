package postgres

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	sage "github.com/sage-mcp/sage/daemon"
)

// retokenizeBatch is how many memories one step of Retokenize rewrites.
const retokenizeBatch = 500

// Retokenize rebuilds the search terms (tsv) of the memories stored before
// the tokenizer last changed: the id ranges a migration recorded in
// tsv_rebuild (see migrations/005_retokenize.sql), in batches of
// retokenizeBatch, each in its own transaction. Several daemons share the
// work (a range is locked while a batch runs, others skip it). Until a
// memory is rewritten it is found by its old terms. It returns how many
// memories were rewritten.
func (s *MemoryService) Retokenize(ctx context.Context) (int, error) {
	total := 0
	for {
		n, done, err := s.retokenizeStep(ctx)
		total += n
		if err != nil {
			return total, fmt.Errorf("retokenize: %w", err)
		}
		if done {
			if total > 0 {
				s.dropStats()
			}
			return total, nil
		}
	}
}

// retokenizeStep rewrites one batch; done reports that nothing is left
// (or that every range left is being rewritten by another daemon).
func (s *MemoryService) retokenizeStep(ctx context.Context) (n int, done bool, err error) {
	err = pgx.BeginFunc(ctx, s.db.pool, func(tx pgx.Tx) error {
		var version int
		var next, maxID int64
		err := tx.QueryRow(ctx, `SELECT version, next_id, max_id FROM tsv_rebuild
			ORDER BY version LIMIT 1 FOR UPDATE SKIP LOCKED`).Scan(&version, &next, &maxID)
		if errors.Is(err, pgx.ErrNoRows) {
			done = true
			return nil
		}
		if err != nil {
			return unavailable(err)
		}
		rows, err := tx.Query(ctx, `SELECT id, text, tags FROM memories WHERE id > $1 AND id <= $2
			ORDER BY id LIMIT $3`, next, maxID, retokenizeBatch)
		if err != nil {
			return unavailable(err)
		}
		var ids []int64
		var terms []string
		for rows.Next() {
			var m sage.Memory
			if err := rows.Scan(&m.ID, &m.Text, &m.Tags); err != nil {
				rows.Close()
				return err
			}
			ids, terms = append(ids, m.ID), append(terms, indexTokens(m))
		}
		if err := rows.Err(); err != nil {
			return unavailable(err)
		}
		if len(ids) == 0 {
			_, err := tx.Exec(ctx, `DELETE FROM tsv_rebuild WHERE version = $1`, version)
			return unavailable(err)
		}
		if _, err := tx.Exec(ctx, `UPDATE memories m SET tsv = to_tsvector('simple', v.t)
			FROM unnest($1::bigint[], $2::text[]) AS v(id, t) WHERE m.id = v.id`, ids, terms); err != nil {
			return unavailable(err)
		}
		if _, err := tx.Exec(ctx, `UPDATE tsv_rebuild SET next_id = $2 WHERE version = $1`, version, ids[len(ids)-1]); err != nil {
			return unavailable(err)
		}
		n = len(ids)
		return nil
	})
	return n, done, err
}
