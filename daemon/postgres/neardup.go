package postgres

import (
	"slices"

	sage "github.com/sage-mcp/sage/daemon"
	"github.com/sage-mcp/sage/daemon/tokenize"
)

// Near-duplicate results: two memories whose texts share at least
// nearDupShare of their word pairs (Jaccard similarity of the sets of
// adjacent-word pairs) say the same thing, and a search shows only the more
// relevant one. Texts with fewer than minDupPairs pairs are near-duplicates
// only when their words are the same.
const (
	nearDupShare = 0.9
	minDupPairs  = 4
	// maxDupWords bounds the words of a text that are compared.
	maxDupWords = 400
)

// dupSlack is how many results beyond the limit are loaded, so that some
// remain when near-duplicates are dropped.
func dupSlack(limit int) int { return limit/2 + 5 }

// shingles is the comparable form of a text: its words, and the set of its
// adjacent-word pairs.
type shingles struct {
	words []string
	pairs map[[2]string]struct{}
}

func newShingles(text string) shingles {
	w := tokenize.Words(text)
	if len(w) > maxDupWords {
		w = w[:maxDupWords]
	}
	p := make(map[[2]string]struct{}, len(w))
	for i := 1; i < len(w); i++ {
		p[[2]string{w[i-1], w[i]}] = struct{}{}
	}
	return shingles{words: w, pairs: p}
}

// nearDuplicate reports whether a and b say the same thing.
func nearDuplicate(a, b shingles) bool {
	if len(a.pairs) < minDupPairs || len(b.pairs) < minDupPairs {
		return slices.Equal(a.words, b.words)
	}
	small, large := a.pairs, b.pairs
	if len(small) > len(large) {
		small, large = large, small
	}
	// Jaccard ≥ share needs |small| ≥ share × |large|.
	if float64(len(small)) < nearDupShare*float64(len(large)) {
		return false
	}
	shared := 0
	for p := range small {
		if _, ok := large[p]; ok {
			shared++
		}
	}
	union := len(small) + len(large) - shared
	return float64(shared) >= nearDupShare*float64(union)
}

// dropNearDuplicates keeps, in order, the results that are not a
// near-duplicate of one kept before them, up to limit.
func dropNearDuplicates(rs []sage.Result, limit int) []sage.Result {
	out := rs[:0:0]
	var kept []shingles
	for _, r := range rs {
		if len(out) == limit {
			break
		}
		sh := newShingles(r.Text)
		if slices.ContainsFunc(kept, func(k shingles) bool { return nearDuplicate(k, sh) }) {
			continue
		}
		kept = append(kept, sh)
		out = append(out, r)
	}
	return out
}
