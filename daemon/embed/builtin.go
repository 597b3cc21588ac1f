package embed

import (
	"context"
	"fmt"
	"math"
	"unicode/utf8"

	sage "github.com/sage-mcp/sage/daemon"
	"github.com/sage-mcp/sage/daemon/tokenize"
)

// BuiltinName is the Name of the builtin embedder.
const BuiltinName = "builtin"

// builtinVersion names the feature set and weights of the builtin embedder.
// Change it whenever a change to this file changes any vector, so that the
// stored vectors are recomputed (a different Model means a reindex).
const builtinVersion = "builtin-fh-v1"

// DefaultDimensions is the default length of builtin vectors.
const DefaultDimensions = 384

// Limits on the builtin embedder's dimensions.
const (
	MinBuiltinDimensions = 32
	MaxBuiltinDimensions = 4096
)

// Feature weights. Word unigrams carry the meaning; word bigrams reward
// phrases; character n-grams within words give partial credit to
// inflections, typos and compounds; CJK rune bigrams are the closest thing
// to words in scripts written without spaces.
const (
	weightWord      = 1.0
	weightStopWord  = 0.15
	weightWordPair  = 0.6
	weightCharGrams = 0.8 // shared by all character n-grams of one word
	weightCJKRune   = 0.5
	weightCJKPair   = 1.0
	maxGramRunes    = 48 // longer words get no character n-grams
)

// Feature kinds, hashed in first so equal strings of different kinds land
// in different buckets.
const (
	tagWord byte = iota + 1
	tagPair
	tagGram
	tagCJK
	tagCJKPair
	tagRaw
)

// Builtin is the default embedder: signed feature hashing of words, word
// bigrams, character 3- and 4-grams and CJK rune unigrams and bigrams,
// L2-normalized. It is pure Go, deterministic and offline: the same text
// always gives the same vector, on every machine.
//
// It is a lexical embedder: texts that share words and word pieces are
// close; it knows no synonyms. Hybrid search pairs it with full-text search.
type Builtin struct {
	dims int
}

// NewBuiltin returns a builtin embedder making vectors of dims dimensions
// (0 means DefaultDimensions).
func NewBuiltin(dims int) (*Builtin, error) {
	if dims == 0 {
		dims = DefaultDimensions
	}
	if dims < MinBuiltinDimensions || dims > MaxBuiltinDimensions {
		return nil, fmt.Errorf("builtin embedder: dimensions %d out of range [%d, %d]", dims, MinBuiltinDimensions, MaxBuiltinDimensions)
	}
	return &Builtin{dims: dims}, nil
}

// Name returns "builtin".
func (b *Builtin) Name() string { return BuiltinName }

// Model returns the feature set and the dimensions, e.g. "builtin-fh-v1@384".
func (b *Builtin) Model() string { return fmt.Sprintf("%s@%d", builtinVersion, b.dims) }

// Dimensions returns the length of every vector.
func (b *Builtin) Dimensions() int { return b.dims }

// Embed returns one unit vector per text. A text without any word (empty,
// or only punctuation) still gets a unit vector, made from its raw bytes.
// It fails only when ctx is done.
func (b *Builtin) Embed(ctx context.Context, texts []string) ([][]float32, error) {
	out := make([][]float32, len(texts))
	// One backing array for the whole batch: fewer allocations.
	buf := make([]float32, len(texts)*b.dims)
	for i, t := range texts {
		if i%256 == 0 {
			if err := ctx.Err(); err != nil {
				return nil, fmt.Errorf("%w: builtin: %w", sage.ErrEmbedder, err)
			}
		}
		v := buf[i*b.dims : (i+1)*b.dims : (i+1)*b.dims]
		b.embed(t, v)
		out[i] = v
	}
	return out, nil
}

// EmbedOne returns the vector of one text.
func (b *Builtin) EmbedOne(text string) []float32 {
	v := make([]float32, b.dims)
	b.embed(text, v)
	return v
}

// embed writes the unit vector of text into v (len(v) == b.dims, zeroed).
func (b *Builtin) embed(text string, v []float32) {
	var (
		prevWord string // previous non-CJK word, for word bigrams
		prevCJK  string // previous CJK rune, for rune bigrams
		features int
	)
	for _, w := range tokenize.Words(text) {
		r, _ := utf8.DecodeRuneInString(w)
		if tokenize.IsCJK(r) {
			b.add(v, hash1(tagCJK, w), weightCJKRune)
			if prevCJK != "" {
				b.add(v, hash2(tagCJKPair, prevCJK, w), weightCJKPair)
			}
			prevCJK, prevWord = w, ""
			features++
			continue
		}
		prevCJK = ""
		wt := weightWord
		if tokenize.IsStopWord(w) {
			wt = weightStopWord
		}
		b.add(v, hash1(tagWord, tokenize.Stem(w)), wt)
		if prevWord != "" {
			b.add(v, hash2(tagPair, prevWord, w), weightWordPair*math.Sqrt(wt))
		}
		if wt == weightWord {
			b.addGrams(v, w)
		}
		prevWord = w
		features++
	}
	if features == 0 {
		// Nothing to go on: a vector of the raw text, so that every vector
		// has unit length (a zero vector has no cosine distance).
		b.add(v, hash1(tagRaw, text), 1)
	}
	normalize(v)
}

// addGrams adds the character 3- and 4-grams of w, with "<" and ">" marking
// the word's start and end ("<ca", "cat", "at>", "<cat", "cat>").
func (b *Builtin) addGrams(v []float32, w string) {
	var bounds [maxGramRunes + 1]int // byte offset of each rune start, then len(w)
	n := 0
	for i := range w {
		if n == maxGramRunes {
			return
		}
		bounds[n] = i
		n++
	}
	bounds[n] = len(w)
	syms := n + 2 // runes plus the two markers
	grams := 0
	for g := 3; g <= 4; g++ {
		if syms >= g {
			grams += syms - g + 1
		}
	}
	if grams == 0 {
		return
	}
	wt := weightCharGrams / math.Sqrt(float64(grams))
	for g := 3; g <= 4; g++ {
		for s := 0; s+g <= syms; s++ {
			h := uint64(fnvOffset)
			h = fnvByte(h, tagGram)
			for j := s; j < s+g; j++ {
				switch {
				case j == 0:
					h = fnvByte(h, '<')
				case j == syms-1:
					h = fnvByte(h, '>')
				default:
					h = fnvString(h, w[bounds[j-1]:bounds[j]])
				}
			}
			b.add(v, mix(h), wt)
		}
	}
}

// add adds weight w to the bucket of hash h, with the sign from h.
func (b *Builtin) add(v []float32, h uint64, w float64) {
	i := (h & 0xffffffff) * uint64(b.dims) >> 32
	if h>>63 == 1 {
		w = -w
	}
	v[i] += float32(w)
}

func normalize(v []float32) {
	var sum float64
	for _, x := range v {
		sum += float64(x) * float64(x)
	}
	if sum == 0 {
		// Every feature cancelled out (astronomically unlikely): fall back
		// to a fixed unit vector rather than a zero one.
		v[0] = 1
		return
	}
	inv := float32(1 / math.Sqrt(sum))
	for i := range v {
		v[i] *= inv
	}
}

// FNV-1a, 64 bit, with a final avalanche so that every bit of the hash
// depends on every input byte.
const (
	fnvOffset = 14695981039346656037
	fnvPrime  = 1099511628211
)

func fnvByte(h uint64, c byte) uint64 { return (h ^ uint64(c)) * fnvPrime }

func fnvString(h uint64, s string) uint64 {
	for i := 0; i < len(s); i++ {
		h = (h ^ uint64(s[i])) * fnvPrime
	}
	return h
}

func mix(h uint64) uint64 {
	h ^= h >> 33
	h *= 0xff51afd7ed558ccd
	h ^= h >> 33
	h *= 0xc4ceb9fe1a85ec53
	h ^= h >> 33
	return h
}

func hash1(tag byte, s string) uint64 {
	return mix(fnvString(fnvByte(fnvOffset, tag), s))
}

func hash2(tag byte, a, b string) uint64 {
	h := fnvString(fnvByte(fnvOffset, tag), a)
	h = fnvByte(h, 0) // separator: ("ab","c") differs from ("a","bc")
	return mix(fnvString(h, b))
}
