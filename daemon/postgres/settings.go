package postgres

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	sage "github.com/sage-mcp/sage/daemon"
)

// Settings returns the namespace's recall settings (table settings of
// migration 006), or sage.DefaultSettings with a zero UpdatedAt when none
// were saved.
func (s *MemoryService) Settings(ctx context.Context) (sage.Settings, error) {
	var st sage.Settings
	var at pgtype.Timestamptz
	err := s.db.pool.QueryRow(ctx, `SELECT max_results, max_chars, min_score, inject, off_projects, updated_at
		FROM settings WHERE namespace = $1`, sage.NamespaceFrom(ctx)).
		Scan(&st.MaxResults, &st.MaxChars, &st.MinScore, &st.Inject, &st.OffProjects, &at)
	if errors.Is(err, pgx.ErrNoRows) {
		return sage.DefaultSettings(), nil
	}
	if err != nil {
		return sage.Settings{}, fmt.Errorf("settings: %w", unavailable(err))
	}
	if st.OffProjects == nil {
		st.OffProjects = []string{}
	}
	st.UpdatedAt = timeOf(at)
	return st, nil
}

// SaveSettings validates and stores the namespace's recall settings and
// returns them as stored.
func (s *MemoryService) SaveSettings(ctx context.Context, st sage.Settings) (sage.Settings, error) {
	st = st.Normalize()
	if err := st.Validate(); err != nil {
		return sage.Settings{}, err
	}
	var at pgtype.Timestamptz
	err := s.db.pool.QueryRow(ctx, `INSERT INTO settings (namespace, max_results, max_chars, min_score, inject, off_projects, updated_at)
		VALUES ($1, $2, $3, $4, $5, $6, now())
		ON CONFLICT (namespace) DO UPDATE SET max_results = excluded.max_results, max_chars = excluded.max_chars,
			min_score = excluded.min_score, inject = excluded.inject, off_projects = excluded.off_projects,
			updated_at = excluded.updated_at
		RETURNING updated_at`, sage.NamespaceFrom(ctx), st.MaxResults, st.MaxChars, st.MinScore, st.Inject, st.OffProjects).Scan(&at)
	if err != nil {
		return sage.Settings{}, fmt.Errorf("save settings: %w", unavailable(err))
	}
	st.UpdatedAt = timeOf(at)
	return st, nil
}
