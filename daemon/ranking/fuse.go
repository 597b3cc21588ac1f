package ranking

import (
	"math"
	"sort"
	"time"

	sage "github.com/sage-mcp/sage/daemon"
)

// Candidate is a memory one or more retrievers returned, before it is
// loaded.
type Candidate struct {
	ID    int64
	Score float64 // the retriever's own score, or the fused score; higher is better
	Hash  string  // content hash: candidates with the same one are repeats
	At    time.Time
	// Keyword and Vector are each retriever's rank and score of the
	// memory (see sage.Result).
	Keyword, Vector sage.Hit
	// Timed marks, for a question that asks when, a memory that places its
	// event in time ("yesterday", "昨天").
	Timed bool
}

// Weights tune hybrid ranking.
type Weights struct {
	// Keyword and Vector weigh the normalized keyword score (share of the
	// query's best possible score, in [0, 1]) and the cosine similarity.
	Keyword, Vector float64
	// Neighbour is the share of a memory's fused score that the memories
	// next to it in its session (Spread) receive; NeighbourDecay the
	// further share for each step further away.
	Neighbour, NeighbourDecay float64
	// When is added to the score of a Timed candidate.
	When float64
}

// DefaultWeights were chosen on the dev set of package bench/recallbench
// (docs/BENCHMARKS.md, "Recall"); they apply to embedding models without
// weights of their own (see WeightsFor).
var DefaultWeights = Weights{Keyword: 0.6, Vector: 0.4, Neighbour: 0.4, NeighbourDecay: 0.7, When: 0.1}

// modelWeights are the weights of embedding models measured on the dev
// set, by model key (postgres.ModelKey). The builtin embedder's cosine
// (hashed character n-grams) knows little the keyword score does not, and
// at 0.4 its middling similarities crowd out keyword and neighbour
// matches: on three dev sets (sage-recall-bench -seed 1, 2, 3) every step
// from 0.4 down to 0.1 raised recall@10 overall and for multi-session,
// preference and follow-up questions alike. A little of it stays, to
// order memories the keyword retriever scores alike.
var modelWeights = map[string]Weights{
	"builtin-fh-v1@384": {Keyword: 0.9, Vector: 0.1, Neighbour: 0.4, NeighbourDecay: 0.7, When: 0.1},
}

// WeightsFor returns the weights of the embedding model key: its own when
// it was measured, DefaultWeights otherwise.
func WeightsFor(model string) Weights {
	if w, ok := modelWeights[model]; ok {
		return w
	}
	return DefaultWeights
}

// Fuse merges the semantic and keyword candidate lists into one, scoring
// each memory w.Keyword × its normalized keyword score + w.Vector × its
// cosine similarity. A memory missing from a list that was cut at pool
// candidates gets that list's lowest score (it ranked below all of them);
// missing from a shorter list, 0 (the retriever found nothing more). Unlike
// reciprocal rank fusion, the scores keep how much better one candidate is
// than the next, so a strong match of one retriever is not drowned by the
// middling ones of both.
func Fuse(sem, kw []Candidate, pool int, w Weights) []Candidate {
	byID := map[int64]*Candidate{}
	var order []int64
	add := func(c Candidate) *Candidate {
		f := byID[c.ID]
		if f == nil {
			cc := c
			f = &cc
			byID[c.ID] = f
			order = append(order, c.ID)
		}
		if c.Keyword.Rank > 0 {
			f.Keyword = c.Keyword
		}
		if c.Vector.Rank > 0 {
			f.Vector = c.Vector
		}
		f.Timed = f.Timed || c.Timed
		return f
	}
	floorSem, floorKw := lowest(sem, pool, func(c Candidate) float64 { return c.Vector.Score }), lowest(kw, pool, func(c Candidate) float64 { return c.Keyword.Score })
	for _, c := range sem {
		add(c)
	}
	for _, c := range kw {
		add(c)
	}
	out := make([]Candidate, 0, len(order))
	for _, id := range order {
		c := *byID[id]
		k, v := floorKw, floorSem
		if c.Keyword.Rank > 0 {
			k = c.Keyword.Score
		}
		if c.Vector.Rank > 0 {
			v = c.Vector.Score
		}
		c.Score = w.Keyword*k + w.Vector*v
		if c.Timed {
			c.Score += w.When
		}
		out = append(out, c)
	}
	return out
}

// lowest is the lowest score of a list cut at pool (0 for a shorter one).
func lowest(cs []Candidate, pool int, score func(Candidate) float64) float64 {
	if len(cs) < pool || len(cs) == 0 {
		return 0
	}
	low := math.Inf(1)
	for _, c := range cs {
		low = min(low, score(c))
	}
	return max(low, 0)
}

// Link says that memory To is Distance steps from memory From in their
// session (1: the one just before or after).
type Link struct {
	From, Distance int
	To             Candidate
}

// Spread gives each memory next to a candidate in its session a share of
// the candidate's score (w.Neighbour, times w.NeighbourDecay for each step
// beyond the first): a question's words are often in one turn and its
// answer in the reply. Each memory keeps its own score plus the largest
// share it receives; memories found only as neighbours join the list.
// links[i].From indexes cs.
func Spread(cs []Candidate, links []Link, w Weights) []Candidate {
	if w.Neighbour == 0 || len(links) == 0 {
		return cs
	}
	at := map[int64]int{}
	for i, c := range cs {
		at[c.ID] = i
	}
	bonus := make([]float64, len(cs))
	for _, l := range links {
		share := cs[l.From].Score * w.Neighbour * math.Pow(w.NeighbourDecay, float64(l.Distance-1))
		i, ok := at[l.To.ID]
		if !ok {
			l.To.Score, l.To.Keyword, l.To.Vector, l.To.Timed = 0, sage.Hit{}, sage.Hit{}, false
			i = len(cs)
			at[l.To.ID] = i
			cs = append(cs, l.To)
			bonus = append(bonus, 0)
		}
		bonus[i] = max(bonus[i], share)
	}
	for i := range cs {
		cs[i].Score += bonus[i]
	}
	return cs
}

// Collapse sorts by score (recency, then the higher id, breaks ties), drops
// repeats of the same content and keeps at most limit.
func Collapse(cs []Candidate, limit int) []Candidate {
	sort.SliceStable(cs, func(i, j int) bool {
		if d := cs[i].Score - cs[j].Score; math.Abs(d) > 1e-9 {
			return d > 0
		}
		if !cs[i].At.Equal(cs[j].At) {
			return cs[i].At.After(cs[j].At)
		}
		return cs[i].ID > cs[j].ID
	})
	seen := map[string]bool{}
	out := cs[:0:0]
	for _, c := range cs {
		if seen[c.Hash] {
			continue
		}
		seen[c.Hash] = true
		out = append(out, c)
		if len(out) == limit {
			break
		}
	}
	return out
}
