package postgres

import (
	"context"
	"fmt"
	"math"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	sage "github.com/sage-mcp/sage/daemon"
	"github.com/sage-mcp/sage/daemon/tokenize"
)

// Retrieval tuning.
const (
	// rrfK is the constant of reciprocal rank fusion: 1/(rrfK + rank).
	rrfK = 60
	// minPool is the fewest candidates each retriever brings to fusion.
	minPool = 50
	// poolFactor times the limit is the candidate pool of each retriever.
	poolFactor = 5
	// maxPool caps the candidate pool (and hnsw.ef_search).
	maxPool = 500
	// A semantic search filtered to a project either reads the project's
	// memories exactly (through its btree index, ≈ 0.5–1 µs a memory) or
	// walks the HNSW index until pool of them turned up (≈ 10 µs for each
	// memory visited, pool × total / n of them for a project of n memories
	// out of total), measured on the 100 000-memory benchmark store. Exact
	// wins while n² < exactCostRatio × pool × total, and always below
	// minExactRows (see exactProject).
	exactCostRatio = 16
	minExactRows   = 1000
	// minEfSearch is the narrowest hnsw.ef_search of an unfiltered search
	// (see hnswM).
	minEfSearch = 120
	// efSearchNoIterative is hnsw.ef_search on pgvector 0.7, which has no
	// iterative scans: a wide beam so filtered searches still fill up.
	efSearchNoIterative = 400
	// maxQueryTerms bounds the terms of a keyword query.
	maxQueryTerms = 32
	// maxScored bounds the rows one keyword query scores: each is read
	// from the table (≈ 6 µs). The rarest terms of the query select the
	// candidates while the sum of their document frequencies stays under it
	// (the others only score); when even the rarest term is more common, the
	// candidates must hold the fewest rarest terms together that are
	// expected to match fewer rows.
	maxScored = 500
	// maxScoredTerms bounds the terms that score a keyword candidate: the
	// rarest ones (a long or Chinese query has many terms; the most common
	// ones weigh least).
	maxScoredTerms = 16
	// dfCap bounds the rows counted for a term's document frequency when
	// the planner's statistics do not know the term (so it is rare).
	dfCap = 2000
	// statsTTL is how long the term statistics are reused.
	statsTTL = time.Minute
)

// memoryColumns are the columns scanMemory reads.
const memoryColumns = `id, namespace, project, session_id, kind, text, content_hash,
	coalesce(idempotency_key, ''), metadata, tags, occurred_at, created_at, coalesce(embedding_model, '')`

func scanMemory(row pgx.Row) (sage.Memory, error) {
	m, _, err := scanMemoryAt(row)
	return m, err
}

// scanMemoryAt is scanMemory that also returns occurred_at as stored (it
// may be infinite), for keyset pagination.
func scanMemoryAt(row pgx.Row) (sage.Memory, pgtype.Timestamptz, error) {
	var m sage.Memory
	var kind string
	var meta []byte
	var at, created pgtype.Timestamptz
	err := row.Scan(&m.ID, &m.Namespace, &m.Project, &m.SessionID, &kind, &m.Text, &m.ContentHash,
		&m.IdempotencyKey, &meta, &m.Tags, &at, &created, &m.EmbeddingModel)
	m.OccurredAt, m.CreatedAt = timeOf(at), timeOf(created)
	m.Kind = sage.Kind(kind)
	if string(meta) != "{}" {
		m.Metadata = meta
	}
	if m.Tags == nil {
		m.Tags = []string{}
	}
	return m, at, err
}

// timeOf is a stored time as a time.Time: NULL is the zero time, and
// ±infinity a time beyond sage.ClampTime's range.
func timeOf(t pgtype.Timestamptz) time.Time {
	switch {
	case !t.Valid:
		return time.Time{}
	case t.InfinityModifier == pgtype.Infinity:
		return time.Date(294277, 1, 1, 0, 0, 0, 0, time.UTC)
	case t.InfinityModifier == pgtype.NegativeInfinity:
		return time.Date(-4713, 1, 1, 0, 0, 0, 0, time.UTC)
	}
	return t.Time
}

// timestamptz scans a stored time like timeOf (±infinity included, which
// a *time.Time refuses).
type timestamptz time.Time

// ScanTimestamptz implements pgtype.TimestamptzScanner.
func (t *timestamptz) ScanTimestamptz(v pgtype.Timestamptz) error {
	*t = timestamptz(timeOf(v))
	return nil
}

// timeText writes any time for a log line (slog's JSON handler cannot
// write a time.Time outside the years 0 to 9999).
func timeText(t time.Time) string {
	return t.UTC().Format(time.RFC3339Nano)
}

// clampMemory brings a memory's times into sage.ClampTime's range. Such
// a row can only come from outside the daemon (SQL, or a daemon before
// times were checked in UTC); clamped, it still shows, exports and
// imports again, and one such row never fails a whole list. The row is
// logged, and left as it is in the table.
func (s *MemoryService) clampMemory(m *sage.Memory) {
	at, m1 := sage.ClampTime(m.OccurredAt)
	created, m2 := sage.ClampTime(m.CreatedAt)
	if m1 || m2 {
		s.logger.Warn("memory has a time out of range: shown clamped", "namespace", m.Namespace, "id", m.ID,
			"occurred_at", timeText(m.OccurredAt), "created_at", timeText(m.CreatedAt))
		m.OccurredAt, m.CreatedAt = at, created
	}
}

// where builds the WHERE clause of a namespace and filter; its parameters
// follow args.
type where struct {
	conds []string
	args  []any
}

func (w *where) add(cond string, arg any) {
	w.args = append(w.args, arg)
	w.conds = append(w.conds, strings.ReplaceAll(cond, "?", fmt.Sprintf("$%d", len(w.args))))
}

func (w *where) sql() string { return strings.Join(w.conds, " AND ") }

func filterWhere(ns string, f sage.Filter, args ...any) *where {
	return filterWhereProject(ns, f, "%s", args...)
}

// filterWhereProject is filterWhere with the project condition wrapped in
// the format wrap ("%s": as is).
func filterWhereProject(ns string, f sage.Filter, wrap string, args ...any) *where {
	w := &where{args: args}
	w.add("namespace = ?", ns)
	switch {
	case f.Project != "" && f.IncludeGlobal:
		// The project's memories and the global ones (no project).
		w.add(fmt.Sprintf(wrap, "project = ANY(?)"), []string{f.Project, ""})
	case f.Project != "":
		w.add(fmt.Sprintf(wrap, "project = ?"), f.Project)
	}
	if f.SessionID != "" {
		w.add("session_id = ?", f.SessionID)
	}
	if len(f.Kinds) > 0 {
		kinds := make([]string, len(f.Kinds))
		for i, k := range f.Kinds {
			kinds[i] = string(k)
		}
		w.add("kind = ANY(?)", kinds)
	}
	if len(f.Tags) > 0 {
		w.add("tags @> ?", normalizeTags(f.Tags))
	}
	if !f.Since.IsZero() {
		w.add("occurred_at >= ?", f.Since)
	}
	if !f.Until.IsZero() {
		w.add("occurred_at <= ?", f.Until)
	}
	return w
}

// unfiltered reports whether f selects every memory of the namespace.
func unfiltered(f sage.Filter) bool {
	return f.Project == "" && f.SessionID == "" && len(f.Kinds) == 0 && len(f.Tags) == 0 && f.Since.IsZero() && f.Until.IsZero()
}

// candidate is one retriever's hit.
type candidate struct {
	id    int64
	score float64 // retriever's own score, higher is better
	hash  string
	at    time.Time
	// kw and vec are each retriever's rank and score of the memory (see
	// sage.Result).
	kw, vec sage.Hit
}

// Search ranks memories by relevance to the query (see sage.Service).
func (s *MemoryService) Search(ctx context.Context, q sage.SearchQuery) ([]sage.Result, error) {
	if err := q.Validate(); err != nil {
		return nil, err
	}
	if err := s.Start(ctx); err != nil {
		return nil, err
	}
	if q.Limit == 0 {
		q.Limit = sage.DefaultLimit
	}
	if q.Mode == "" {
		q.Mode = sage.ModeHybrid
	}
	// A question about a time ("last week", "in March", "昨天") searches
	// that window for the rest of the question.
	rest, w, timed := tokenize.ParseTime(q.Query, s.now().UTC())
	if timed {
		var empty bool
		q.Query = rest
		q.Filter, empty = narrow(q.Filter, w)
		if empty {
			return []sage.Result{}, nil
		}
	}
	var res []sage.Result
	var err error
	if !timed || tokenize.Informative(q.Query) {
		res, err = s.search(ctx, q)
	}
	if err == nil && timed && len(res) == 0 {
		// Nothing in the window matches the rest of the question ("what
		// happened in May 2023"): what happened then, latest first.
		res, err = s.recent(ctx, q.Filter, q.Limit)
	}
	if err != nil {
		return nil, fmt.Errorf("search: %w", err)
	}
	return res, nil
}

// narrow restricts f to the window w; empty reports that nothing is left.
func narrow(f sage.Filter, w tokenize.Window) (_ sage.Filter, empty bool) {
	if f.Since.IsZero() || w.Since.After(f.Since) {
		f.Since = w.Since
	}
	until := w.Until.Add(-time.Microsecond) // Until is inclusive
	if f.Until.IsZero() || until.Before(f.Until) {
		f.Until = until
	}
	return f, f.Since.After(f.Until)
}

func (s *MemoryService) search(ctx context.Context, q sage.SearchQuery) ([]sage.Result, error) {
	ns := sage.NamespaceFrom(ctx)
	pool := min(max(minPool, poolFactor*q.Limit), maxPool)

	var vec []float32
	if q.Mode != sage.ModeKeyword {
		vecs, err := s.embedTexts(ctx, []string{q.Query})
		if err != nil {
			if q.Mode == sage.ModeSemantic {
				return nil, err
			}
			// Hybrid degrades to keyword search while the embedder fails.
			s.logger.Warn("query embedding failed: keyword search only", "err", err)
		} else {
			vec = vecs[0]
		}
	}

	// The two retrievers run at once, on two connections.
	var sem, kw []candidate
	var semErr, kwErr error
	var wg sync.WaitGroup
	if vec != nil {
		wg.Add(1)
		go func() {
			defer wg.Done()
			semErr = pgx.BeginTxFunc(ctx, s.db.pool, pgx.TxOptions{AccessMode: pgx.ReadOnly}, func(tx pgx.Tx) error {
				var err error
				sem, err = s.semantic(ctx, tx, ns, vec, q.Filter, pool)
				return err
			})
		}()
	}
	if q.Mode != sage.ModeSemantic {
		kw, kwErr = s.keyword(ctx, s.db.pool, ns, q.Query, q.Filter, pool)
	}
	wg.Wait()
	if semErr != nil {
		return nil, fmt.Errorf("vector candidates: %w", unavailable(semErr))
	}
	if kwErr != nil {
		return nil, fmt.Errorf("keyword candidates: %w", unavailable(kwErr))
	}

	var ranked []candidate
	switch q.Mode {
	case sage.ModeSemantic:
		ranked = sem
	case sage.ModeKeyword:
		ranked = kw
	default:
		ranked = fuse(sem, kw)
	}
	ranked = collapse(ranked, len(ranked))
	// Load the best, dropping near-duplicates, until limit are kept or no
	// candidate is left; each further round loads twice as many (a store
	// full of copies takes a few rounds, not one per copy).
	d := distinct{limit: q.Limit}
	for start, round := 0, 0; start < len(ranked) && !d.full(); round++ {
		end := min(len(ranked), start+(q.Limit-len(d.out)+dupSlack(q.Limit))<<min(round, 10))
		res, err := s.fetch(ctx, ns, ranked[start:end])
		if err != nil {
			return nil, err
		}
		d.add(res)
		start = end
	}
	if d.out == nil {
		return []sage.Result{}, nil
	}
	return d.out, nil
}

// semantic returns the nearest memories of the current model by cosine
// distance, through the model's HNSW index. Filters are applied during the
// index scan; pgvector >= 0.8 keeps scanning (iterative scan) until enough
// rows pass them.
func (s *MemoryService) semantic(ctx context.Context, tx pgx.Tx, ns string, vec []float32, f sage.Filter, pool int) ([]candidate, error) {
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
	rows, err := tx.Query(ctx, sql, args...)
	if err != nil {
		return nil, err
	}
	var out []candidate
	for rows.Next() {
		var c candidate
		var d float64
		if err := rows.Scan(&c.id, &d, &c.hash, (*timestamptz)(&c.at)); err != nil {
			rows.Close()
			return nil, err
		}
		if math.IsNaN(d) {
			continue // zero vector: no direction, no similarity
		}
		c.score = 1 - d
		c.vec = sage.Hit{Rank: len(out) + 1, Score: c.score}
		out = append(out, c)
	}
	return out, rows.Err()
}

// semanticSQL returns the settings to run first (in the same transaction)
// and the query of semantic candidates.
func (s *MemoryService) semanticSQL(ns string, vec []float32, f sage.Filter, pool int) (settings, sql string, args []any) {
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
func (s *MemoryService) exactSemanticSQL(ns string, vec []float32, f sage.Filter, pool int) (settings, sql string, args []any) {
	w := filterWhere(ns, f, halfvec(vec))
	dist := fmt.Sprintf("(embedding::halfvec(%d) <=> $1::halfvec)", s.dims)
	// OFFSET 0 keeps the ORDER BY from reaching for the HNSW index.
	sql = fmt.Sprintf(`SELECT id, dist, content_hash, occurred_at FROM (
		SELECT id, %s AS dist, content_hash, occurred_at FROM memories
		WHERE embedding_model = %s AND %s OFFSET 0) c
		ORDER BY dist LIMIT %d`, dist, quoteLiteral(s.model), w.sql(), pool)
	return "SET LOCAL enable_seqscan = off", sql, w.args
}

// keyword returns the memories matching the query's terms, ranked by a
// BM25-like score: each matching term weighs its inverse document frequency,
// so rare words (names, places, things) count more than common ones.
func (s *MemoryService) keyword(ctx context.Context, tx querier, ns, query string, f sage.Filter, pool int) ([]candidate, error) {
	sql, args, best, err := s.keywordSQL(ctx, tx, ns, query, f, pool)
	if err != nil || sql == "" {
		return nil, err
	}
	rows, err := tx.Query(ctx, sql, args...)
	if err != nil {
		return nil, err
	}
	var out []candidate
	for rows.Next() {
		var c candidate
		var norm float64
		if err := rows.Scan(&c.id, &c.score, &norm, &c.hash, (*timestamptz)(&c.at)); err != nil {
			rows.Close()
			return nil, err
		}
		c.kw = sage.Hit{Rank: len(out) + 1, Score: min(max(norm/best, 0), 1)}
		out = append(out, c)
	}
	return out, rows.Err()
}

// querier runs queries: a pool or a transaction.
type querier interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// termStats are the planner's statistics of the tsv column: the share of
// memories holding each of the most common terms. Terms not listed are
// rarer than every listed one. They hold the same of the project column
// too.
type termStats struct {
	at    time.Time
	total float64
	freq  map[string]float64

	projects      map[string]float64 // share of the most common projects
	otherProjects float64            // share of the others
	nProjects     float64            // distinct projects
}

// projectRows estimates the memories of a project (in every namespace):
// a common one's share of the total, or else at most an even part of what
// the common ones leave.
func (st *termStats) projectRows(p string) float64 {
	if fr, ok := st.projects[p]; ok {
		return fr * st.total
	}
	others := st.nProjects - float64(len(st.projects))
	if others < 1 {
		return st.otherProjects * st.total
	}
	return st.otherProjects * st.total / others
}

// stats returns the term statistics, read at most every statsTTL.
func (s *MemoryService) stats(ctx context.Context, tx querier) (*termStats, error) {
	s.statsMu.Lock()
	defer s.statsMu.Unlock()
	if s.termStats != nil && time.Since(s.termStats.at) < statsTTL {
		return s.termStats, nil
	}
	st := &termStats{at: time.Now(), freq: map[string]float64{}, projects: map[string]float64{}}
	var elems, projects []string
	var freqs, projectFreqs []float32
	var nDistinct *float64
	err := tx.QueryRow(ctx, `SELECT greatest(c.reltuples, 0), s.most_common_elems::text::text[], s.most_common_elem_freqs,
			p.most_common_vals::text::text[], p.most_common_freqs, p.n_distinct
		FROM pg_class c
		JOIN pg_namespace n ON n.oid = c.relnamespace
		LEFT JOIN pg_stats s ON s.schemaname = n.nspname AND s.tablename = 'memories' AND s.attname = 'tsv'
		LEFT JOIN pg_stats p ON p.schemaname = n.nspname AND p.tablename = 'memories' AND p.attname = 'project'
		WHERE c.oid = 'memories'::regclass`).Scan(&st.total, &elems, &freqs, &projects, &projectFreqs, &nDistinct)
	if err != nil {
		return nil, err
	}
	for i, e := range elems {
		if i < len(freqs) {
			st.freq[e] = float64(freqs[i])
		}
	}
	st.otherProjects = 1
	for i, p := range projects {
		if i < len(projectFreqs) {
			st.projects[p] = float64(projectFreqs[i])
			st.otherProjects -= float64(projectFreqs[i])
		}
	}
	st.otherProjects = max(st.otherProjects, 0)
	if nDistinct != nil {
		st.nProjects = *nDistinct
		if st.nProjects < 0 { // a share of the rows
			st.nProjects *= -st.total
		}
	}
	s.termStats = st
	return st, nil
}

// keywordSQL returns the query of keyword candidates, or "" when the query
// has no term found in any memory. It looks up the document frequency of
// each term first: from the planner's statistics for common terms, by a
// capped count through the GIN index for the others.
//
// best is the query's best possible normalized score (see bestScore): a
// candidate's norm column divided by best is in [0, 1].
func (s *MemoryService) keywordSQL(ctx context.Context, tx querier, ns, query string, f sage.Filter, pool int) (sql string, args []any, best float64, err error) {
	terms := tokenize.QueryTerms(query)
	if len(terms) > maxQueryTerms {
		terms = terms[:maxQueryTerms]
	}
	if len(terms) == 0 {
		return "", nil, 0, nil
	}
	st, err := s.stats(ctx, tx)
	if err != nil {
		return "", nil, 0, err
	}
	total := max(st.total, 1)
	dfs := make([]float64, len(terms))
	var count []string
	var countIdx []int
	for i, t := range terms {
		if fr, ok := st.freq[t]; ok {
			dfs[i] = max(fr*total, 1)
			continue
		}
		count = append(count, "'"+t+"'") // terms hold no quotes or operators
		countIdx = append(countIdx, i)
	}
	if len(count) > 0 {
		// Counted in every namespace, like the planner's statistics: the
		// index alone answers (no row is read but those not yet vacuumed).
		rows, err := tx.Query(ctx, fmt.Sprintf(`SELECT (SELECT count(*) FROM (SELECT FROM memories
				WHERE tsv @@ to_tsquery('simple', t) LIMIT %d) x)
			FROM unnest($1::text[]) WITH ORDINALITY AS u(t, n) ORDER BY n`, dfCap), count)
		if err != nil {
			return "", nil, 0, err
		}
		counted, err := pgx.CollectRows(rows, pgx.RowTo[float64])
		if err != nil {
			return "", nil, 0, err
		}
		for j, df := range counted {
			dfs[countIdx[j]] = df
		}
	}
	type term struct {
		q  string
		df float64
	}
	var found []term
	for i, t := range terms {
		if dfs[i] > 0 {
			found = append(found, term{"'" + t + "'", dfs[i]})
			total = max(total, dfs[i])
		}
	}
	if len(found) == 0 {
		return "", nil, 0, nil
	}
	best = bestScore(dfs, max(total, normStore))
	var all []string
	for _, t := range found {
		all = append(all, t.q)
	}
	// The rarest terms select the candidates.
	sort.SliceStable(found, func(i, j int) bool { return found[i].df < found[j].df })
	var selected []string
	// Every term selects when together they match few enough rows (a small
	// store, or rare words): BM25 over any matching term, as a search
	// engine would; only in a big store do the common terms just score.
	sum, limit := 0.0, float64(maxScored)
	for _, t := range found {
		if sum+t.df > limit && len(selected) > 0 {
			break
		}
		selected = append(selected, t.q)
		sum += t.df
	}
	selector := strings.Join(selected, " | ")
	if sum > limit && len(found) > 1 {
		// Only common terms: the rarest ones together, as few as are
		// expected (as if independent) to match at most limit rows.
		expected, k := found[0].df, 1
		for ; k < len(found) && expected > limit; k++ {
			expected *= found[k].df / total
		}
		together := make([]string, k)
		for i := range together {
			together[i] = found[i].q
		}
		selector = strings.Join(together, " & ")
	}
	// The rarest maxScoredTerms terms score (the others weigh least).
	// norm is the same with every idf taken in a store of at least
	// normStore memories (see bestScore).
	var score, norm []string
	for i, t := range found {
		if i == maxScoredTerms {
			break
		}
		score = append(score, fmt.Sprintf("(d @@ %s::tsquery)::int * %.6f::float8", quoteLiteral(t.q), idf(t.df, total)))
		norm = append(norm, fmt.Sprintf("(d @@ %s::tsquery)::int * %.6f::float8", quoteLiteral(t.q), idf(t.df, max(total, normStore))))
	}
	w := filterWhere(ns, f, selector, strings.Join(all, " | "))
	// The innermost query detoasts each candidate's tsv once (d); every
	// term test then reads it in memory. The score: each matching term's
	// idf, normalized by length (BM25's b = 0.25 over distinct terms); then,
	// for the best pool rows only, cover density as a small bonus for terms
	// found close together.
	sql = fmt.Sprintf(`SELECT id, score + 0.1::float8 * ts_rank_cd(d, to_tsquery('simple', $2), 1) AS score, norm, content_hash, occurred_at FROM (
		SELECT id, content_hash, occurred_at, d,
			(%[1]s) / (%[3]g::float8 + length(d) / %[4]g::float8) AS score,
			(%[2]s) / (%[3]g::float8 + length(d) / %[4]g::float8) AS norm
		FROM (SELECT id, content_hash, occurred_at, tsv || ''::tsvector AS d FROM memories
			WHERE tsv @@ to_tsquery('simple', $1) AND %[5]s LIMIT %[6]d) m
		ORDER BY score DESC, occurred_at DESC LIMIT %[7]d
	) c ORDER BY 2 DESC, occurred_at DESC`, strings.Join(score, " + "), strings.Join(norm, " + "), lengthNorm, lengthScale, w.sql(), maxScored, pool)
	return sql, w.args, best, nil
}

// Keyword scoring: a candidate scores the idf of each matching term over
// lengthNorm + (its distinct terms) / lengthScale.
const (
	lengthNorm  = 0.75
	lengthScale = 160.0
	// normStore is the smallest store size the normalized keyword score
	// (sage.Result.Keyword.Score) takes idf in: in a store of a handful of
	// memories every word is "common", and without a floor the same match
	// would score differently with 5 memories than with 100 000.
	normStore = 1000.0
)

// idf is the inverse document frequency of a term held by df of total
// memories.
func idf(df, total float64) float64 {
	return math.Log(1 + (total-df+0.5)/(df+0.5))
}

// bestScore is the best keyword score a query of terms with document
// frequencies dfs (0: found nowhere) can get in a store of total memories
// (the search passes at least normStore):
// that of a memory holding its maxScoredTerms rarest terms and nothing
// else. Terms found nowhere count (no memory holds them, so a query of
// unknown words scores low everywhere), which makes score/best the share
// of the query's information a memory matches, comparable across store
// sizes.
func bestScore(dfs []float64, total float64) float64 {
	idfs := make([]float64, len(dfs))
	for i, df := range dfs {
		idfs[i] = idf(df, total)
	}
	sort.Sort(sort.Reverse(sort.Float64Slice(idfs)))
	idfs = idfs[:min(len(idfs), maxScoredTerms)]
	sum := 0.0
	for _, v := range idfs {
		sum += v
	}
	return sum / (lengthNorm + float64(len(idfs))/lengthScale)
}

// fuse merges ranked lists with reciprocal rank fusion.
func fuse(lists ...[]candidate) []candidate {
	byID := map[int64]*candidate{}
	var order []int64
	for _, l := range lists {
		for rank, c := range l {
			f := byID[c.id]
			if f == nil {
				cc := c
				cc.score = 0
				f = &cc
				byID[c.id] = f
				order = append(order, c.id)
			}
			f.score += 1 / float64(rrfK+rank+1)
			if c.kw.Rank > 0 {
				f.kw = c.kw
			}
			if c.vec.Rank > 0 {
				f.vec = c.vec
			}
		}
	}
	out := make([]candidate, 0, len(order))
	for _, id := range order {
		out = append(out, *byID[id])
	}
	return out
}

// collapse sorts by score (recency breaks ties), drops repeats of the same
// content and keeps at most limit.
func collapse(cs []candidate, limit int) []candidate {
	sort.SliceStable(cs, func(i, j int) bool {
		if d := cs[i].score - cs[j].score; math.Abs(d) > 1e-9 {
			return d > 0
		}
		if !cs[i].at.Equal(cs[j].at) {
			return cs[i].at.After(cs[j].at)
		}
		return cs[i].id > cs[j].id
	})
	seen := map[string]bool{}
	out := cs[:0:0]
	for _, c := range cs {
		if seen[c.hash] {
			continue
		}
		seen[c.hash] = true
		out = append(out, c)
		if len(out) == limit {
			break
		}
	}
	return out
}

// fetch loads the memories of cs, in order, with their scores.
func (s *MemoryService) fetch(ctx context.Context, ns string, cs []candidate) ([]sage.Result, error) {
	if len(cs) == 0 {
		return []sage.Result{}, nil
	}
	ids := make([]int64, len(cs))
	for i, c := range cs {
		ids[i] = c.id
	}
	rows, err := s.db.pool.Query(ctx, `SELECT `+memoryColumns+` FROM memories WHERE namespace = $1 AND id = ANY($2)`, ns, ids)
	if err != nil {
		return nil, unavailable(err)
	}
	got := map[int64]sage.Memory{}
	for rows.Next() {
		m, err := scanMemory(rows)
		if err != nil {
			rows.Close()
			return nil, err
		}
		s.clampMemory(&m)
		got[m.ID] = m
	}
	if err := rows.Err(); err != nil {
		return nil, unavailable(err)
	}
	out := make([]sage.Result, 0, len(cs))
	for _, c := range cs {
		if m, ok := got[c.id]; ok { // deleted meanwhile: skip
			out = append(out, sage.Result{Memory: m, Score: c.score, Keyword: c.kw, Vector: c.vec})
		}
	}
	return out, nil
}

// Context builds a block of relevant memories within q.MaxChars runes (see
// sage.Service). With an empty query it holds the most recent memories.
func (s *MemoryService) Context(ctx context.Context, q sage.ContextQuery) (sage.Context, error) {
	if err := q.Validate(); err != nil {
		return sage.Context{}, err
	}
	if q.MaxResults == 0 {
		q.MaxResults = sage.DefaultLimit
	}
	if q.MaxChars == 0 {
		q.MaxChars = sage.DefaultMaxChars
	}
	// Global memories (no project) are context in every project.
	q.Filter.IncludeGlobal = true
	var items []sage.Result
	var err error
	if strings.TrimSpace(q.Query) == "" {
		items, err = s.recent(ctx, q.Filter, q.MaxResults)
	} else {
		items, err = s.Search(ctx, sage.SearchQuery{Query: q.Query, Limit: q.MaxResults, Mode: q.Mode, Filter: q.Filter})
	}
	if err != nil {
		return sage.Context{}, fmt.Errorf("context: %w", err)
	}
	text, kept := renderContext(items, q.MaxChars)
	return sage.Context{Text: text, Items: kept}, nil
}

func (s *MemoryService) recent(ctx context.Context, f sage.Filter, limit int) ([]sage.Result, error) {
	w := filterWhere(sage.NamespaceFrom(ctx), f)
	rows, err := s.db.pool.Query(ctx, fmt.Sprintf(`SELECT %s FROM memories WHERE %s ORDER BY occurred_at DESC, id DESC LIMIT %d`,
		memoryColumns, w.sql(), limit), w.args...)
	if err != nil {
		return nil, unavailable(err)
	}
	ms, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (sage.Result, error) {
		m, err := scanMemory(r)
		s.clampMemory(&m)
		return sage.Result{Memory: m}, err
	})
	if err != nil {
		return nil, unavailable(err)
	}
	return ms, nil
}

// contextHeader starts every non-empty context block.
const contextHeader = "Relevant memories (from Sage):\n"

// minLineRunes is the shortest line worth adding to a context block.
const minLineRunes = 40

// renderContext writes items as lines "- [date · project · session] text"
// within maxChars runes, truncating the text of a line that does not fit,
// and returns the block and the items it holds.
func renderContext(items []sage.Result, maxChars int) (string, []sage.Result) {
	var b strings.Builder
	used := 0
	var kept []sage.Result
	for _, it := range items {
		if len(kept) == 0 {
			if runeLen(contextHeader)+minLineRunes > maxChars {
				break
			}
			b.WriteString(contextHeader)
			used = runeLen(contextHeader)
		}
		label := it.OccurredAt.UTC().Format("2006-01-02")
		if it.Project != "" {
			label += " · " + it.Project
		}
		if it.SessionID != "" {
			label += " · " + truncateRunes(it.SessionID, 12)
		}
		if it.Kind != sage.KindTurn {
			label += " · " + string(it.Kind)
		}
		line := "- [" + label + "] " + strings.Join(strings.Fields(it.Text), " ")
		room := maxChars - used - 1 // the newline
		if room < minLineRunes {
			break
		}
		line = truncateRunes(line, room)
		b.WriteString(line)
		b.WriteString("\n")
		used += runeLen(line) + 1
		kept = append(kept, it)
	}
	if len(kept) == 0 {
		return "", []sage.Result{}
	}
	return b.String(), kept
}

func runeLen(s string) int { return len([]rune(s)) }
