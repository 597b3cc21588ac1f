package gate

import (
	"strings"
	"testing"

	sage "github.com/sage-mcp/sage/daemon"
)

func TestDecide(t *testing.T) {
	th := Thresholds{Keyword: 0.5, Vector: 0.7, BothKeyword: 0.3, BothVector: 0.5}
	hit := func(rank int, score float64) sage.Hit { return sage.Hit{Rank: rank, Score: score} }
	tests := []struct {
		name      string
		th        Thresholds
		k, v      sage.Hit
		pass      bool
		reasonHas string
	}{
		{"keyword alone", th, hit(1, 0.5), sage.Hit{}, true, "keyword 0.50 ≥ 0.50"},
		{"vector alone", th, sage.Hit{}, hit(1, 0.71), true, "vector 0.71 ≥ 0.70"},
		{"both moderate", th, hit(2, 0.31), hit(3, 0.55), true, "both"},
		{"both too weak", th, hit(2, 0.29), hit(3, 0.55), false, "keyword 0.29 < 0.50"},
		{"keyword weak, no vector", th, hit(1, 0.4), sage.Hit{}, false, "no vector match"},
		{"keyword score without rank ignored", th, hit(0, 0.9), sage.Hit{}, false, "no keyword match"},
		// A cosine computed for a memory beyond the vector retriever's list
		// (Rank 0, the search's second look) counts.
		{"both with cosine beyond vector list", Thresholds{Keyword: 0.45, BothKeyword: 0.3, BothVector: 0.2}, hit(1, 0.35), hit(0, 0.25), true, "both: keyword 0.35 ≥ 0.30, vector 0.25 ≥ 0.20"},
		{"vector alone from cosine beyond list", th, sage.Hit{}, hit(0, 0.71), true, "vector 0.71 ≥ 0.70"},
		{"cosine beyond list too low", Thresholds{Keyword: 0.45, BothKeyword: 0.3, BothVector: 0.2}, hit(1, 0.35), hit(0, 0.1), false, "(vector 0.10)"},
		{"nothing", th, sage.Hit{}, sage.Hit{}, false, "no keyword match, no vector match"},
		{"vector alone off", Thresholds{Keyword: 0.45, BothKeyword: 0.3, BothVector: 0.2}, sage.Hit{}, hit(1, 0.99), false, "both need keyword ≥ 0.30 and vector ≥ 0.20 (vector 0.99)"},
		{"both rule", Thresholds{Keyword: 0.45, BothKeyword: 0.3, BothVector: 0.2}, hit(1, 0.3), hit(1, 0.2), true, "both"},
		{"keyword-only model ignores vector", KeywordOnly, hit(4, 0.2), hit(1, 0.99), false, "vector not calibrated"},
		{"keyword-only model keyword", KeywordOnly, hit(1, 0.8), sage.Hit{}, true, "keyword"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := tt.th.Decide(tt.k, tt.v)
			if v.Pass != tt.pass || !strings.Contains(v.Reason, tt.reasonHas) {
				t.Errorf("Decide(%+v, %+v) = %+v, want pass=%v with %q", tt.k, tt.v, v, tt.pass, tt.reasonHas)
			}
			if got := tt.th.Pass(sage.Result{Keyword: tt.k, Vector: tt.v}); got != tt.pass {
				t.Errorf("Pass = %v, want %v", got, tt.pass)
			}
		})
	}
}

func TestFor(t *testing.T) {
	for _, m := range Models() {
		th, ok := For(m)
		if !ok || (th.Vector <= 0 && th.BothVector <= 0) || th.Keyword <= 0 || th.Keyword > 1 {
			t.Errorf("For(%q) = %+v, %v: want calibrated thresholds", m, th, ok)
		}
	}
	if th, ok := For("text-embedding-unknown@1536"); ok || th != KeywordOnly {
		t.Errorf("unknown model: got %+v, %v; want KeywordOnly, false", th, ok)
	}
}
