package ranking

import (
	"slices"
	"unicode"
	"unicode/utf8"

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

// DupSlack is how many results beyond those still missing are loaded at
// once, so that some remain when near-duplicates are dropped.
func DupSlack(limit int) int { return limit/2 + 5 }

// shingles is the comparable form of a text: the hashes of its words, in
// order, and the sorted set of the hashes of its adjacent-word pairs.
type shingles struct {
	words []uint64
	pairs []uint64
}

// FNV-1a, 64 bits.
const (
	fnvOffset = 14695981039346656037
	fnvPrime  = 1099511628211
)

// newShingles hashes the words of text: runs of letters and digits, case
// folded, and each CJK character on its own (as package tokenize splits
// them), without allocating a string per word.
func newShingles(text string) shingles {
	var sh shingles
	h, inWord := uint64(fnvOffset), false
	flush := func() {
		if inWord {
			sh.words = append(sh.words, h)
		}
		h, inWord = fnvOffset, false
	}
	for _, r := range text {
		if len(sh.words) == maxDupWords {
			break
		}
		switch {
		case r < utf8.RuneSelf:
			switch {
			case 'a' <= r && r <= 'z' || '0' <= r && r <= '9':
				h, inWord = (h^uint64(r))*fnvPrime, true
			case 'A' <= r && r <= 'Z':
				h, inWord = (h^uint64(r+'a'-'A'))*fnvPrime, true
			default:
				flush()
			}
		case tokenize.IsCJK(r):
			flush()
			h, inWord = (h^uint64(r))*fnvPrime, true
			flush()
		case unicode.IsLetter(r) || unicode.IsDigit(r):
			h, inWord = (h^uint64(unicode.ToLower(r)))*fnvPrime, true
		default:
			flush()
		}
	}
	if len(sh.words) < maxDupWords {
		flush()
	}
	if len(sh.words) > 1 {
		sh.pairs = make([]uint64, len(sh.words)-1)
		for i := 1; i < len(sh.words); i++ {
			sh.pairs[i-1] = (sh.words[i-1]*fnvPrime ^ sh.words[i]) * fnvPrime
		}
		slices.Sort(sh.pairs)
		sh.pairs = slices.Compact(sh.pairs)
	}
	return sh
}

// nearDuplicate reports whether a and b say the same thing.
func nearDuplicate(a, b shingles) bool {
	if len(a.pairs) < minDupPairs || len(b.pairs) < minDupPairs {
		return slices.Equal(a.words, b.words)
	}
	small, large := len(a.pairs), len(b.pairs)
	if small > large {
		small, large = large, small
	}
	// Jaccard ≥ share needs |small| ≥ share × |large|.
	if float64(small) < nearDupShare*float64(large) {
		return false
	}
	shared := 0
	for i, j := 0, 0; i < len(a.pairs) && j < len(b.pairs); {
		switch {
		case a.pairs[i] < b.pairs[j]:
			i++
		case a.pairs[i] > b.pairs[j]:
			j++
		default:
			shared++
			i++
			j++
		}
	}
	union := len(a.pairs) + len(b.pairs) - shared
	return float64(shared) >= nearDupShare*float64(union)
}

// Distinct collects results in order, dropping each that is a
// near-duplicate of one kept before it, up to Limit.
type Distinct struct {
	Limit int
	Out   []sage.Result // the results kept
	kept  []shingles
}

// Full reports whether Limit results are kept.
func (d *Distinct) Full() bool { return len(d.Out) >= d.Limit }

// Add offers rs, in order.
func (d *Distinct) Add(rs []sage.Result) {
	for _, r := range rs {
		if d.Full() {
			return
		}
		sh := newShingles(r.Text)
		if slices.ContainsFunc(d.kept, func(k shingles) bool { return nearDuplicate(k, sh) }) {
			continue
		}
		d.kept = append(d.kept, sh)
		d.Out = append(d.Out, r)
	}
}

// DropNearDuplicates keeps, in order, the results that are not a
// near-duplicate of one kept before them, up to limit.
func DropNearDuplicates(rs []sage.Result, limit int) []sage.Result {
	d := Distinct{Limit: limit}
	d.Add(rs)
	return d.Out
}
