// Package gate decides which search results are worth injecting into a
// prompt. It is a pure function of each result's retriever hits: the
// keyword retriever's BM25 score normalised by the query's best possible
// score (in [0, 1], so comparable at any store size) and the vector
// retriever's cosine similarity, whose scale depends on the embedding
// model, hence one threshold table per model. A model missing from the
// table is gated on keyword scores alone.
//
// The thresholds are calibrated on the labelled set in
// daemon/gate/labelled (see cmd/sage-gate-bench and docs/BENCHMARKS.md).
package gate

import (
	"fmt"
	"strings"

	sage "github.com/sage-mcp/sage/daemon"
)

// Thresholds are the gate of one embedding model. A result passes when
// any rule holds:
//   - its keyword score is at least Keyword;
//   - its vector score is at least Vector (when Vector > 0);
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
var KeywordOnly = Thresholds{Keyword: 0.5}

// builtin holds the calibrated thresholds, by stored model key
// (postgres.ModelKey: the model name with "@<dimensions>").
var builtin = map[string]Thresholds{
	"builtin-fh-v1@384": {Keyword: 0.5, Vector: 0.62, BothKeyword: 0.3, BothVector: 0.42},
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

// Decide applies t to one result's hits. A zero Rank means the retriever
// did not return the result, whatever its score.
func (t Thresholds) Decide(keyword, vector sage.Hit) Verdict {
	kOK, vOK := keyword.Rank > 0, vector.Rank > 0
	k, v := keyword.Score, vector.Score
	switch {
	case kOK && k >= t.Keyword:
		return Verdict{true, fmt.Sprintf("keyword %.2f ≥ %.2f", k, t.Keyword)}
	case vOK && t.Vector > 0 && v >= t.Vector:
		return Verdict{true, fmt.Sprintf("vector %.2f ≥ %.2f", v, t.Vector)}
	case kOK && vOK && t.BothVector > 0 && k >= t.BothKeyword && v >= t.BothVector:
		return Verdict{true, fmt.Sprintf("both: keyword %.2f ≥ %.2f, vector %.2f ≥ %.2f", k, t.BothKeyword, v, t.BothVector)}
	}
	var parts []string
	if kOK {
		parts = append(parts, fmt.Sprintf("keyword %.2f < %.2f", k, t.Keyword))
	} else {
		parts = append(parts, "no keyword match")
	}
	switch {
	case t.Vector <= 0:
		parts = append(parts, "vector not calibrated for this model")
	case vOK:
		parts = append(parts, fmt.Sprintf("vector %.2f < %.2f", v, t.Vector))
	default:
		parts = append(parts, "no vector match")
	}
	return Verdict{false, strings.Join(parts, ", ")}
}

// Pass reports whether r passes t.
func (t Thresholds) Pass(r sage.Result) bool {
	return t.Decide(r.Keyword, r.Vector).Pass
}
