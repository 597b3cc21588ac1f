package postgres

import (
	"context"
	"fmt"
	"math"

	"github.com/jackc/pgx/v5"

	sage "github.com/sage-mcp/sage/daemon"
	"github.com/sage-mcp/sage/daemon/ranking"
)

// semantic returns the nearest memories of the current model by cosine
// distance, through the model's HNSW index. Filters are applied during the
// index scan; pgvector >= 0.8 keeps scanning (iterative scan) until enough
// rows pass them.
func (s *MemoryService) semantic(ctx context.Context, tx pgx.Tx, ns string, vec []float32, f filter, pool int) ([]ranking.Candidate, error) {
	settings, sql, args := s.semanticSQL(ns, vec, f, pool)
	if f.Project != "" && f.SessionID == "" {
		st, err := s.stats(ctx, tx)
		if err != nil {
			return nil, err
		}
		n := st.projectRows(f.Project)
		if f.IncludeGlobal {
			n += st.projectRows("")
		}
		if exactProject(n, st.total, pool) {
			settings, sql, args = s.exactSemanticSQL(ns, vec, f, pool)
		}
	}
	if _, err := tx.Exec(ctx, settings); err != nil {
		return nil, err
	}
	var d float64
	return queryCandidates(ctx, tx, sql, args,
		func(c *ranking.Candidate) []any { return []any{&c.ID, &d, &c.Hash, (*timestamptz)(&c.At)} },
		func(c *ranking.Candidate, rank int) bool {
			if math.IsNaN(d) {
				return false // zero vector: no direction, no similarity
			}
			c.Score = 1 - d
			c.Vector = sage.Hit{Rank: rank, Score: c.Score}
			return true
		})
}

// semanticSQL returns the settings to run first (in the same transaction)
// and the query of semantic candidates.
func (s *MemoryService) semanticSQL(ns string, vec []float32, f filter, pool int) (settings, sql string, args []any) {
	ef := max(pool, 40)
	if unfiltered(f) {
		// Unfiltered: the beam that makes up for the coarser graph. (With a
		// filter, the iterative scan widens the search anyway, and a wider
		// beam makes the planner shy away from the index.)
		ef = max(pool, minEfSearch)
	}
	settings = fmt.Sprintf("SET LOCAL hnsw.ef_search = %d", min(ef, 1000))
	if s.iterative {
		settings += "; SET LOCAL hnsw.iterative_scan = relaxed_order"
	} else {
		settings = fmt.Sprintf("SET LOCAL hnsw.ef_search = %d", max(pool, efSearchNoIterative))
	}
	if f.SessionID == "" && s.dims <= MaxIndexedDimensions {
		// The planner, seeing a filter, may guess that sorting every
		// matching row beats the index; with many rows it does not. A
		// session filter is the exception: a session is small, and reading
		// it whole (through its btree index) is exact and fast.
		settings += "; SET LOCAL enable_seqscan = off"
	}
	// A project filter is not to be read through the project's btree index:
	// a small project goes to exactSemanticSQL, a big one is best found
	// walking the HNSW index. "IS TRUE" hides the condition from the index
	// (project is never NULL), not from the planner's estimates.
	w := filterWhereProject(ns, f, "(%s) IS TRUE", halfvec(vec))
	// The model is a literal, not a parameter, so the planner can match the
	// partial index of that model.
	dist := fmt.Sprintf("(embedding::halfvec(%d) <=> $1::halfvec)", s.dims)
	sql = fmt.Sprintf(`SELECT id, %s AS dist, content_hash, occurred_at FROM memories
		WHERE embedding_model = %s AND %s ORDER BY %s LIMIT %d`,
		dist, quoteLiteral(s.model), w.sql(), dist, pool)
	if s.iterative {
		// relaxed_order may return rows slightly out of order: sort them.
		sql = `SELECT * FROM (` + sql + `) c ORDER BY dist`
	}
	return settings, sql, w.args
}

// exactProject reports whether the pool nearest memories of a project of n
// memories out of total are found faster by reading all n than through the
// HNSW index (see exactCostRatio).
func exactProject(n, total float64, pool int) bool {
	return n <= minExactRows || n*n <= exactCostRatio*float64(pool)*total
}

// exactSemanticSQL is semanticSQL for a filter that matches few memories
// (a small project): it reads them all through the filter's btree index and
// sorts them by exact distance, where the HNSW index would walk far to find
// enough of them.
func (s *MemoryService) exactSemanticSQL(ns string, vec []float32, f filter, pool int) (settings, sql string, args []any) {
	w := filterWhere(ns, f, halfvec(vec))
	dist := fmt.Sprintf("(embedding::halfvec(%d) <=> $1::halfvec)", s.dims)
	// OFFSET 0 keeps the ORDER BY from reaching for the HNSW index.
	sql = fmt.Sprintf(`SELECT id, dist, content_hash, occurred_at FROM (
		SELECT id, %s AS dist, content_hash, occurred_at FROM memories
		WHERE embedding_model = %s AND %s OFFSET 0) c
		ORDER BY dist LIMIT %d`, dist, quoteLiteral(s.model), w.sql(), pool)
	return "SET LOCAL enable_seqscan = off", sql, w.args
}
