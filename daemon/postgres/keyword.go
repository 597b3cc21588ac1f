package postgres

import (
	"context"
	"fmt"
	"math"
	"sort"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	sage "github.com/sage-mcp/sage/daemon"
	"github.com/sage-mcp/sage/daemon/ranking"
	"github.com/sage-mcp/sage/daemon/tokenize"
)

// keyword returns the memories matching the query's terms, ranked by a
// BM25-like score: each matching term weighs its inverse document frequency,
// so rare words (names, places, things) count more than common ones.
func (s *MemoryService) keyword(ctx context.Context, tx querier, ns, query string, f filter, pool int) ([]ranking.Candidate, error) {
	sql, args, best, err := s.keywordSQL(ctx, tx, ns, query, f, pool)
	if err != nil || sql == "" {
		return nil, err
	}
	var norm float64
	return queryCandidates(ctx, tx, sql, args,
		func(c *ranking.Candidate) []any {
			return []any{&c.ID, &c.Score, &norm, &c.Timed, &c.Hash, (*timestamptz)(&c.At)}
		},
		func(c *ranking.Candidate, rank int) bool {
			c.Keyword = sage.Hit{Rank: rank, Score: min(max(norm/best, 0), 1)}
			return true
		})
}

// queryCandidates runs sql and returns a candidate per row that keep
// accepts: cols gives the scan destinations of c's columns (and of the
// caller's own), keep fills in what the row scored, given the rank it
// takes among those accepted so far, and says whether it counts.
func queryCandidates(ctx context.Context, tx querier, sql string, args []any,
	cols func(c *ranking.Candidate) []any, keep func(c *ranking.Candidate, rank int) bool) ([]ranking.Candidate, error) {
	rows, err := tx.Query(ctx, sql, args...)
	if err != nil {
		return nil, err
	}
	var out []ranking.Candidate
	var c ranking.Candidate
	_, err = pgx.ForEachRow(rows, cols(&c), func() error {
		if keep(&c, len(out)+1) {
			out = append(out, c)
		}
		return nil
	})
	return out, err
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
func (s *MemoryService) keywordSQL(ctx context.Context, tx querier, ns, query string, f filter, pool int) (sql string, args []any, best float64, err error) {
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
	// A "when" question: memories that place their event in time
	// ("yesterday", "last week", "昨天") get whenBonus and are marked.
	timed := "false"
	if tokenize.AsksWhen(query) {
		var tt []string
		for _, t := range tokenize.TimeTerms {
			tt = append(tt, "'"+t+"'") // terms hold no quotes or operators
		}
		timed = fmt.Sprintf("(d @@ %s::tsquery)", quoteLiteral(strings.Join(tt, " | ")))
	}
	sql = fmt.Sprintf(`SELECT id, score + 0.1::float8 * ts_rank_cd(d, to_tsquery('simple', $2), 1) AS score, norm, timed, content_hash, occurred_at FROM (
		SELECT id, content_hash, occurred_at, d, timed,
			(%[1]s) / (%[3]g::float8 + length(d) / %[4]g::float8) + timed::int * %[8]g::float8 AS score,
			(%[2]s) / (%[3]g::float8 + length(d) / %[4]g::float8) AS norm
		FROM (SELECT id, content_hash, occurred_at, d, %[9]s AS timed
			FROM (SELECT id, content_hash, occurred_at, tsv || ''::tsvector AS d FROM memories
				WHERE tsv @@ to_tsquery('simple', $1) AND %[5]s LIMIT %[6]d) m0) m
		ORDER BY score DESC, occurred_at DESC LIMIT %[7]d
	) c ORDER BY 2 DESC, occurred_at DESC`, strings.Join(score, " + "), strings.Join(norm, " + "), lengthNorm, lengthScale, w.sql(), maxScored, pool, whenBonus, timed)
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
	// whenBonus is added to the keyword score of a memory that places its
	// event in time, for a question that asks when.
	whenBonus = 1.0
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
