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
	"github.com/sage-mcp/sage/daemon/ranking"
	"github.com/sage-mcp/sage/daemon/tokenize"
)

// Retrieval tuning.
const (
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
// may be infinite), for keyset pagination. extra scans the columns after
// memoryColumns.
func scanMemoryAt(row pgx.Row, extra ...any) (sage.Memory, pgtype.Timestamptz, error) {
	var m sage.Memory
	var kind string
	var meta []byte
	var at, created pgtype.Timestamptz
	err := row.Scan(append([]any{&m.ID, &m.Namespace, &m.Project, &m.SessionID, &kind, &m.Text, &m.ContentHash,
		&m.IdempotencyKey, &meta, &m.Tags, &at, &created, &m.EmbeddingModel}, extra...)...)
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

// filter is a sage.Filter with what only the service asks for.
type filter struct {
	sage.Filter
	// excludeSession drops the memories of a session (sage.ContextQuery).
	excludeSession string
}

func filterWhere(ns string, f filter, args ...any) *where {
	return filterWhereProject(ns, f, "%s", args...)
}

// filterWhereProject is filterWhere with the project condition wrapped in
// the format wrap ("%s": as is).
func filterWhereProject(ns string, f filter, wrap string, args ...any) *where {
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
	if f.excludeSession != "" {
		w.add("session_id <> ?", f.excludeSession)
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
func unfiltered(f filter) bool {
	return f.excludeSession == "" && f.Project == "" && f.SessionID == "" && len(f.Kinds) == 0 && len(f.Tags) == 0 && f.Since.IsZero() && f.Until.IsZero()
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
	res, err := s.run(ctx, query{text: q.Query, limit: q.Limit, mode: q.Mode, f: filter{Filter: q.Filter}})
	if err != nil {
		return nil, fmt.Errorf("search: %w", err)
	}
	return res, nil
}

// query is a search as the service runs it: a checked sage.SearchQuery
// (defaults applied) and what only the service asks for.
type query struct {
	text  string
	limit int
	mode  sage.Mode
	f     filter
	// minScore drops the candidates scoring below it before the limit.
	minScore float64
}

// run answers q. A question about a time ("last week", "in March", "昨天")
// searches that window for the rest of the question.
func (s *MemoryService) run(ctx context.Context, q query) ([]sage.Result, error) {
	rest, w, timed := tokenize.ParseTime(q.text, s.now().UTC())
	if timed {
		var empty bool
		q.text = rest
		q.f.Filter, empty = narrow(q.f.Filter, w)
		if empty {
			return []sage.Result{}, nil
		}
	}
	var res []sage.Result
	var err error
	if !timed || tokenize.Informative(q.text) {
		res, err = s.search(ctx, q)
	}
	if err == nil && timed && len(res) == 0 && q.minScore <= 0 {
		// Nothing in the window matches the rest of the question ("what
		// happened in May 2023"): what happened then, latest first.
		res, err = s.recent(ctx, q.f, q.limit)
	}
	return res, err
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

func (s *MemoryService) search(ctx context.Context, q query) ([]sage.Result, error) {
	ns := sage.NamespaceFrom(ctx)
	pool := min(max(minPool, poolFactor*q.limit), maxPool)

	var vec []float32
	if q.mode != sage.ModeKeyword {
		vecs, err := s.embedTexts(ctx, []string{q.text})
		if err != nil {
			if q.mode == sage.ModeSemantic {
				return nil, err
			}
			// Hybrid degrades to keyword search while the embedder fails.
			s.logger.Warn("query embedding failed: keyword search only", "err", err)
		} else {
			vec = vecs[0]
		}
	}

	// The two retrievers run at once, on two connections.
	var sem, kw []ranking.Candidate
	var semErr, kwErr error
	var wg sync.WaitGroup
	if vec != nil {
		wg.Add(1)
		go func() {
			defer wg.Done()
			semErr = pgx.BeginTxFunc(ctx, s.db.pool, pgx.TxOptions{AccessMode: pgx.ReadOnly}, func(tx pgx.Tx) error {
				var err error
				sem, err = s.semantic(ctx, tx, ns, vec, q.f, pool)
				return err
			})
		}()
	}
	if q.mode != sage.ModeSemantic {
		kw, kwErr = s.keyword(ctx, s.db.pool, ns, q.text, q.f, pool)
	}
	wg.Wait()
	if semErr != nil {
		return nil, fmt.Errorf("vector candidates: %w", unavailable(semErr))
	}
	if kwErr != nil {
		return nil, fmt.Errorf("keyword candidates: %w", unavailable(kwErr))
	}

	var ranked []ranking.Candidate
	switch q.mode {
	case sage.ModeSemantic:
		ranked = sem
	case sage.ModeKeyword:
		ranked = kw
	default:
		ranked = ranking.Fuse(sem, kw, pool, s.weights)
		if s.weights.Neighbour > 0 && len(ranked) > 0 {
			ranked = ranking.Collapse(ranked, len(ranked))
			links, err := s.neighbours(ctx, ns, q.f, ranked[:min(len(ranked), spreadFrom(q.limit))])
			if err != nil {
				return nil, fmt.Errorf("neighbours: %w", unavailable(err))
			}
			ranked = ranking.Spread(ranked, links, s.weights)
		}
	}
	ranked = ranking.Collapse(ranked, len(ranked))
	if q.minScore > 0 {
		// Sorted by score: keep those at or above the threshold.
		n := sort.Search(len(ranked), func(i int) bool { return ranked[i].Score < q.minScore })
		ranked = ranked[:n]
	}
	// Load the best, dropping near-duplicates, until limit are kept or no
	// candidate is left; each further round loads twice as many (a store
	// full of copies takes a few rounds, not one per copy).
	d := ranking.Distinct{Limit: q.limit}
	for start, round := 0, 0; start < len(ranked) && !d.Full(); round++ {
		end := min(len(ranked), start+(q.limit-len(d.Out)+ranking.DupSlack(q.limit))<<min(round, 10))
		res, err := s.fetch(ctx, ns, ranked[start:end], vec)
		if err != nil {
			return nil, err
		}
		d.Add(res)
		start = end
	}
	if d.Out == nil {
		return []sage.Result{}, nil
	}
	return d.Out, nil
}

// neighbourSteps is how many memories before and after a candidate in its
// session share its score (ranking.Spread).
const neighbourSteps = 2

// spreadFrom is how many of the best fused candidates of a search of limit
// results lend their score to their neighbours: those that would be
// returned. A lower candidate lends a smaller share of a smaller score, so
// its neighbours seldom reach the results; on the dev set (sage-recall-bench)
// spreading from 2×limit+10 gave recall@10 0.700, from limit 0.702, with a
// third of the neighbour reads.
func spreadFrom(limit int) int { return limit }

// neighbours returns the memories up to neighbourSteps before and after
// each of cs in its session (by occurred_at, then id) that pass f, through
// the session index. Memories without a session have none.
func (s *MemoryService) neighbours(ctx context.Context, ns string, f filter, cs []ranking.Candidate) ([]ranking.Link, error) {
	ids := make([]int64, len(cs))
	at := map[int64]int{}
	for i, c := range cs {
		ids[i] = c.ID
		at[c.ID] = i
	}
	sql, args := neighboursSQL(ns, f, ids)
	rows, err := s.db.pool.Query(ctx, sql, args...)
	if err != nil {
		return nil, err
	}
	var out []ranking.Link
	var from int64
	var l ranking.Link
	_, err = pgx.ForEachRow(rows, []any{&from, &l.To.ID, &l.To.Hash, (*timestamptz)(&l.To.At), &l.Distance}, func() error {
		l.From = at[from]
		out = append(out, l)
		return nil
	})
	return out, err
}

// fetch loads the memories of cs, in order, with their scores. With the
// query vector vec, a memory the vector retriever did not list (its
// Vector.Rank is 0) gets its cosine similarity with vec as Vector.Score,
// with Rank left 0 (see sage.Hit): in a large store a memory the keyword
// retriever found may lie beyond the vector retriever's pool, and the
// injection gate still needs its cosine. Memories without a vector of the
// current model (or with a zero vector) keep no score. The ranking is not
// changed. The cosine is read with the row: no second query.
func (s *MemoryService) fetch(ctx context.Context, ns string, cs []ranking.Candidate, vec []float32) ([]sage.Result, error) {
	if len(cs) == 0 {
		return []sage.Result{}, nil
	}
	ids := make([]int64, len(cs))
	for i, c := range cs {
		ids[i] = c.ID
	}
	// The same distance as semanticSQL's, so the scores compare.
	dist, args := "NULL::float8", []any{ns, ids}
	if vec != nil {
		dist = fmt.Sprintf(`CASE WHEN embedding_model = %s THEN embedding::halfvec(%d) <=> $3::halfvec END`,
			quoteLiteral(s.model), s.dims)
		args = append(args, halfvec(vec))
	}
	rows, err := s.db.pool.Query(ctx, `SELECT `+memoryColumns+`, `+dist+` FROM memories WHERE namespace = $1 AND id = ANY($2)`, args...)
	if err != nil {
		return nil, unavailable(err)
	}
	type loaded struct {
		m    sage.Memory
		dist *float64
	}
	got := map[int64]loaded{}
	for rows.Next() {
		var l loaded
		var err error
		if l.m, _, err = scanMemoryAt(rows, &l.dist); err != nil {
			rows.Close()
			return nil, err
		}
		s.clampMemory(&l.m)
		got[l.m.ID] = l
	}
	if err := rows.Err(); err != nil {
		return nil, unavailable(err)
	}
	out := make([]sage.Result, 0, len(cs))
	for _, c := range cs {
		l, ok := got[c.ID]
		if !ok { // deleted meanwhile: skip
			continue
		}
		r := sage.Result{Memory: l.m, Score: c.Score, Keyword: c.Keyword, Vector: c.Vector}
		// A zero vector has no direction: NaN, no similarity.
		if r.Vector.Rank == 0 && l.dist != nil && !math.IsNaN(*l.dist) {
			r.Vector = sage.Hit{Score: 1 - *l.dist}
		}
		out = append(out, r)
	}
	return out, nil
}

// Context builds a block of relevant memories within q.MaxChars runes (see
// sage.Service). With an empty query it holds the most recent memories.
// The memories of q.ExcludeSession, and search results scoring below
// q.MinScore, are dropped before q.MaxResults is applied (so the block
// fills with usable memories); MinScore does not apply to the most recent
// memories of an empty query, which have no score.
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
	f := filter{Filter: q.Filter, excludeSession: q.ExcludeSession}
	var items []sage.Result
	var err error
	if strings.TrimSpace(q.Query) == "" {
		items, err = s.recent(ctx, f, q.MaxResults)
	} else {
		sq := sage.SearchQuery{Query: q.Query, Limit: q.MaxResults, Mode: q.Mode, Filter: q.Filter}
		if err := sq.Validate(); err != nil { // the mode
			return sage.Context{}, err
		}
		if q.Mode == "" {
			q.Mode = sage.ModeHybrid
		}
		if err := s.Start(ctx); err != nil {
			return sage.Context{}, err
		}
		items, err = s.run(ctx, query{text: q.Query, limit: q.MaxResults, mode: q.Mode, f: f, minScore: q.MinScore})
	}
	if err != nil {
		return sage.Context{}, fmt.Errorf("context: %w", err)
	}
	text, kept := ranking.RenderContext(items, q.MaxChars)
	return sage.Context{Text: text, Items: kept}, nil
}

func (s *MemoryService) recent(ctx context.Context, f filter, limit int) ([]sage.Result, error) {
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

// neighboursSQL is the query of neighbours: for each memory of ids, its id
// and those of its neighbours, with their distance.
func neighboursSQL(ns string, f filter, ids []int64) (string, []any) {
	w := filterWhere(ns, f, ids)
	// The nearest neighbourSteps on one side, through the session index
	// (occurred_at bounds the scan; id breaks ties), numbered after the
	// LIMIT so only they are read.
	side := func(cmp, dir string) string {
		return fmt.Sprintf(`(SELECT id, content_hash, occurred_at,
				row_number() OVER (ORDER BY occurred_at %[2]s, id %[2]s) AS dist FROM (
			SELECT id, content_hash, occurred_at FROM memories
			WHERE namespace = c.namespace AND session_id = c.session_id
				AND occurred_at %[1]s= c.occurred_at AND (occurred_at, id) %[1]s (c.occurred_at, c.id) AND %[3]s
			ORDER BY occurred_at %[2]s, id %[2]s LIMIT %[4]d) x)`, cmp, dir, w.sql(), neighbourSteps)
	}
	sql := fmt.Sprintf(`SELECT c.id, n.id, n.content_hash, n.occurred_at, n.dist FROM memories c
		CROSS JOIN LATERAL (%s UNION ALL %s) n
		WHERE c.id = ANY($1) AND c.namespace = $2 AND c.session_id <> ''`, side("<", "DESC"), side(">", "ASC"))
	return sql, w.args
}
