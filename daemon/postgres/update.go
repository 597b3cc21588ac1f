package postgres

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	sage "github.com/sage-mcp/sage/daemon"
	"github.com/sage-mcp/sage/shared/textcut"
)

// Memory returns one memory of the namespace, or an error wrapping
// sage.ErrNotFound.
func (s *MemoryService) Memory(ctx context.Context, id int64) (sage.Memory, error) {
	if id <= 0 {
		return sage.Memory{}, sage.Invalidf("id", "must be a positive memory id, got %d", id)
	}
	m, err := scanMemory(s.db.pool.QueryRow(ctx, `SELECT `+memoryColumns+` FROM memories
		WHERE namespace = $1 AND id = $2`, sage.NamespaceFrom(ctx), id))
	if errors.Is(err, pgx.ErrNoRows) {
		return sage.Memory{}, fmt.Errorf("memory %d: %w", id, sage.ErrNotFound)
	}
	if err != nil {
		return sage.Memory{}, fmt.Errorf("memory: %w", unavailable(err))
	}
	s.clampMemory(&m)
	return m, nil
}

// UpdateMemory sets a memory's kind and tags and rebuilds its search terms
// (they hold the tags). Its text, vector and times are kept. A memory of
// the same session with the same text and the new kind already existing is
// refused (sage.ErrInvalid), as a save would have deduplicated it.
func (s *MemoryService) UpdateMemory(ctx context.Context, id int64, kind sage.Kind, tags []string) (sage.Memory, error) {
	if !kind.Valid() {
		return sage.Memory{}, sage.Invalidf("kind", "unknown kind %q", textcut.Bytes(string(kind), 40, textcut.Ellipsis))
	}
	if err := sage.ValidateTags(tags); err != nil {
		return sage.Memory{}, err
	}
	tags = normalizeTags(tags)
	var out sage.Memory
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		m, err := scanMemory(tx.QueryRow(ctx, `SELECT `+memoryColumns+` FROM memories
			WHERE namespace = $1 AND id = $2 FOR UPDATE`, sage.NamespaceFrom(ctx), id))
		if errors.Is(err, pgx.ErrNoRows) {
			return fmt.Errorf("memory %d: %w", id, sage.ErrNotFound)
		}
		if err != nil {
			return err
		}
		m.Kind, m.Tags = kind, tags
		_, err = tx.Exec(ctx, `UPDATE memories SET kind = $3, tags = $4, tsv = to_tsvector('simple', $5)
			WHERE namespace = $1 AND id = $2`, m.Namespace, id, string(kind), tags, indexTokens(m))
		var pe *pgconn.PgError
		if errors.As(err, &pe) && pe.Code == "23505" {
			return sage.Invalidf("kind", "this session already holds the same text as a %s", kind)
		}
		out = m
		return err
	})
	if err != nil {
		return sage.Memory{}, fmt.Errorf("update memory: %w", err)
	}
	s.clampMemory(&out)
	return out, nil
}
