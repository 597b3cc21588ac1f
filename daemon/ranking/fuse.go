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
}

// rrfK is the constant of reciprocal rank fusion: 1/(rrfK + rank).
const rrfK = 60

// Fuse merges ranked lists with reciprocal rank fusion.
func Fuse(lists ...[]Candidate) []Candidate {
	byID := map[int64]*Candidate{}
	var order []int64
	for _, l := range lists {
		for rank, c := range l {
			f := byID[c.ID]
			if f == nil {
				cc := c
				cc.Score = 0
				f = &cc
				byID[c.ID] = f
				order = append(order, c.ID)
			}
			f.Score += 1 / float64(rrfK+rank+1)
			if c.Keyword.Rank > 0 {
				f.Keyword = c.Keyword
			}
			if c.Vector.Rank > 0 {
				f.Vector = c.Vector
			}
		}
	}
	out := make([]Candidate, 0, len(order))
	for _, id := range order {
		out = append(out, *byID[id])
	}
	return out
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
