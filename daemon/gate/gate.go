// Package gate decides which search results are worth injecting into a
// prompt. It is a pure function of each result's retriever hits: the
// keyword retriever's BM25 score normalised by the query's best possible
// score (in [0, 1], so comparable at any store size) and the vector
// retriever's cosine similarity, whose scale depends on the embedding
// model, hence one threshold table per model. A model missing from the
// table is gated on keyword scores alone.
//
// The thresholds are calibrated on the labelled set in
// daemon/gate/labelled (see bench/cmd/sage-gate-bench and docs/BENCHMARKS.md).
package gate

import (
	"fmt"
	"strings"

	sage "github.com/sage-mcp/sage/daemon"
)

// Thresholds are the gate of one embedding model. A result passes when
// any rule holds:
//   - its keyword score is at least Keyword;
//   - its vector score is at least Vector (when Vector > 0; 0: the vector
//     retriever alone never suffices);
//   - both retrievers found it, with at least BothKeyword and BothVector
//     (when BothVector > 0).
type Thresholds struct {
	Keyword     float64
	Vector      float64
	BothKeyword float64
	BothVector  float64
}

// KeywordOnly is the gate of an embedding model without calibrated
// thresholds: the keyword rule alone.
var KeywordOnly = Thresholds{Keyword: 0.45}

// builtin holds the calibrated thresholds, by stored model key
// (postgres.ModelKey: the model name with "@<dimensions>").
var builtin = map[string]Thresholds{
	// sage-gate-bench -calibrate -min-clean 0.96 (docs/BENCHMARKS.md): the
	// builtin embedder's cosine alone never separates related prompts
	// from unrelated ones (both reach 0.3), so it only backs a keyword
	// match.
	"builtin-fh-v1@384": {Keyword: 0.45, BothKeyword: 0.30, BothVector: 0.20},
}

// For returns the thresholds of the embedding model key, and whether they
// were calibrated for it (false: KeywordOnly).
func For(model string) (Thresholds, bool) {
	t, ok := builtin[model]
	if !ok {
		return KeywordOnly, false
	}
	return t, true
}

// Models lists the models with calibrated thresholds.
func Models() []string {
	out := make([]string, 0, len(builtin))
	for m := range builtin {
		out = append(out, m)
	}
	return out
}

// Verdict is the gate's decision on one result and why.
type Verdict struct {
	Pass   bool
	Reason string
}

// rule is the rule of t that passes the hits: 'k' (keyword), 'v'
// (vector), 'b' (both), or 0 for none. A keyword hit counts only when the
// keyword retriever returned the result (Rank > 0); a vector hit counts
// when its cosine is known (sage.Hit.Known), even if the memory lay beyond
// the vector retriever's list (Rank 0: the search computed its cosine).
func (t Thresholds) rule(keyword, vector sage.Hit) byte {
	kOK, vOK := keyword.Rank > 0, vector.Known()
	k, v := keyword.Score, vector.Score
	switch {
	case kOK && k >= t.Keyword:
		return 'k'
	case vOK && t.Vector > 0 && v >= t.Vector:
		return 'v'
	case kOK && vOK && t.BothVector > 0 && k >= t.BothKeyword && v >= t.BothVector:
		return 'b'
	}
	return 0
}

// Decide applies t to one result's hits and says why. The hits count as
// in rule: a keyword hit with Rank > 0, a vector hit with a known cosine.
func (t Thresholds) Decide(keyword, vector sage.Hit) Verdict {
	kOK, vOK := keyword.Rank > 0, vector.Known()
	k, v := keyword.Score, vector.Score
	switch t.rule(keyword, vector) {
	case 'k':
		return Verdict{true, fmt.Sprintf("keyword %.2f ≥ %.2f", k, t.Keyword)}
	case 'v':
		return Verdict{true, fmt.Sprintf("vector %.2f ≥ %.2f", v, t.Vector)}
	case 'b':
		return Verdict{true, fmt.Sprintf("both: keyword %.2f ≥ %.2f, vector %.2f ≥ %.2f", k, t.BothKeyword, v, t.BothVector)}
	}
	var parts []string
	if kOK {
		parts = append(parts, fmt.Sprintf("keyword %.2f < %.2f", k, t.Keyword))
	} else {
		parts = append(parts, "no keyword match")
	}
	if t.Vector > 0 {
		if vOK {
			parts = append(parts, fmt.Sprintf("vector %.2f < %.2f", v, t.Vector))
		} else {
			parts = append(parts, "no vector match")
		}
	}
	switch {
	case t.BothVector > 0 && vOK:
		parts = append(parts, fmt.Sprintf("both need keyword ≥ %.2f and vector ≥ %.2f (vector %.2f)", t.BothKeyword, t.BothVector, v))
	case t.BothVector > 0:
		parts = append(parts, "no vector match")
	case t.Vector <= 0:
		parts = append(parts, "vector not calibrated for this model")
	}
	return Verdict{false, strings.Join(parts, ", ")}
}

// Pass reports whether r passes t.
func (t Thresholds) Pass(r sage.Result) bool {
	return t.rule(r.Keyword, r.Vector) != 0
}
