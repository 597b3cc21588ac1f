package ranking_test

import (
	"fmt"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	sage "github.com/sage-mcp/sage/daemon"
	"github.com/sage-mcp/sage/daemon/ranking"
)

func ids(cs []ranking.Candidate) string {
	var out []string
	for _, c := range cs {
		out = append(out, fmt.Sprint(c.ID))
	}
	return strings.Join(out, " ")
}

func TestFuseKeepsEachRetrieversHit(t *testing.T) {
	sem := []ranking.Candidate{
		{ID: 1, Hash: "a", Score: 0.9, Vector: sage.Hit{Rank: 1, Score: 0.9}},
		{ID: 2, Hash: "b", Score: 0.8, Vector: sage.Hit{Rank: 2, Score: 0.8}},
	}
	kw := []ranking.Candidate{
		{ID: 2, Hash: "b", Score: 7, Keyword: sage.Hit{Rank: 1, Score: 0.7}},
		{ID: 3, Hash: "c", Score: 5, Keyword: sage.Hit{Rank: 2, Score: 0.5}},
	}
	got := ranking.Collapse(ranking.Fuse(sem, kw, 10, ranking.Weights{Keyword: 0.6, Vector: 0.4}), 10)
	if ids(got) != "2 1 3" {
		t.Fatalf("fused order %s; want 2 (both) 1 3", ids(got))
	}
	want := map[int64][2]sage.Hit{
		1: {{}, {Rank: 1, Score: 0.9}},
		2: {{Rank: 1, Score: 0.7}, {Rank: 2, Score: 0.8}},
		3: {{Rank: 2, Score: 0.5}, {}},
	}
	for _, c := range got {
		if w := want[c.ID]; c.Keyword != w[0] || c.Vector != w[1] {
			t.Errorf("candidate %d: keyword %+v vector %+v; want %+v %+v", c.ID, c.Keyword, c.Vector, w[0], w[1])
		}
	}
}

func TestFuseScores(t *testing.T) {
	w := ranking.Weights{Keyword: 0.6, Vector: 0.4, When: 0.1}
	kwHit := func(id int64, rank int, score float64) ranking.Candidate {
		return ranking.Candidate{ID: id, Hash: fmt.Sprint(id), Keyword: sage.Hit{Rank: rank, Score: score}}
	}
	vecHit := func(id int64, rank int, score float64) ranking.Candidate {
		return ranking.Candidate{ID: id, Hash: fmt.Sprint(id), Vector: sage.Hit{Rank: rank, Score: score}}
	}
	timed := func(c ranking.Candidate) ranking.Candidate { c.Timed = true; return c }
	for _, c := range []struct {
		name    string
		sem, kw []ranking.Candidate
		want    string
	}{
		// Rank fusion would put 2 and 3 (found by both, in the middle)
		// above 1, the only memory holding every word of the query.
		{"a strong keyword match beats middling matches of both",
			[]ranking.Candidate{vecHit(2, 1, 0.42), vecHit(3, 2, 0.41), vecHit(1, 3, 0.40)},
			[]ranking.Candidate{kwHit(1, 1, 1), kwHit(2, 2, 0.3), kwHit(3, 3, 0.25)}, "1 2 3"},
		{"missing from a full list: that list's lowest score",
			[]ranking.Candidate{vecHit(1, 1, 0.9), vecHit(2, 2, 0.6), vecHit(3, 3, 0.5)},
			[]ranking.Candidate{kwHit(3, 1, 0.5), kwHit(4, 2, 0.45), kwHit(5, 3, 0.4)}, "1 3 2 4 5"},
		{"missing from a shorter list: 0",
			[]ranking.Candidate{vecHit(1, 1, 0.3), vecHit(2, 2, 0.2)},
			[]ranking.Candidate{kwHit(2, 1, 0.2)}, "2 1"},
		{"one list only", nil, []ranking.Candidate{kwHit(1, 1, 0.2), kwHit(2, 2, 0.1)}, "1 2"},
		{"a timed memory rises for a when question",
			[]ranking.Candidate{vecHit(1, 1, 0.5), vecHit(2, 2, 0.45)},
			[]ranking.Candidate{kwHit(1, 1, 0.5), timed(kwHit(2, 2, 0.45))}, "2 1"},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := ids(ranking.Collapse(ranking.Fuse(c.sem, c.kw, 3, w), 10)); got != c.want {
				t.Errorf("order %s; want %s", got, c.want)
			}
		})
	}
}

func TestSpread(t *testing.T) {
	w := ranking.Weights{Neighbour: 0.5, NeighbourDecay: 0.5}
	cs := []ranking.Candidate{{ID: 1, Hash: "1", Score: 1}, {ID: 2, Hash: "2", Score: 0.6}, {ID: 3, Hash: "3", Score: 0.25}}
	links := []ranking.Link{
		{From: 0, Distance: 1, To: ranking.Candidate{ID: 10, Hash: "10", Score: 99}}, // a reply, found only as a neighbour
		{From: 0, Distance: 2, To: ranking.Candidate{ID: 3, Hash: "3"}},
		{From: 1, Distance: 1, To: ranking.Candidate{ID: 3, Hash: "3"}},
	}
	got := ranking.Collapse(ranking.Spread(cs, links, w), 10)
	want := map[int64]float64{1: 1, 2: 0.6, 3: 0.25 + 0.3, 10: 0.5}
	if ids(got) != "1 2 3 10" {
		t.Errorf("order %s; want 1 2 3 10", ids(got))
	}
	for _, c := range got {
		if d := c.Score - want[c.ID]; d > 1e-9 || d < -1e-9 {
			t.Errorf("memory %d scores %v; want %v (its own plus the largest share)", c.ID, c.Score, want[c.ID])
		}
	}
	if n := len(ranking.Spread(cs[:1], nil, w)); n != 1 {
		t.Errorf("no links: %d candidates; want 1", n)
	}
}

func TestCollapse(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, c := range []struct {
		name  string
		in    []ranking.Candidate
		limit int
		want  string
	}{
		{"by score", []ranking.Candidate{{ID: 1, Score: 1, Hash: "a"}, {ID: 2, Score: 3, Hash: "b"}, {ID: 3, Score: 2, Hash: "c"}}, 10, "2 3 1"},
		{"ties go to the most recent", []ranking.Candidate{{ID: 1, Score: 1, Hash: "a", At: t0}, {ID: 2, Score: 1, Hash: "b", At: t0.Add(time.Hour)}}, 10, "2 1"},
		{"then to the higher id", []ranking.Candidate{{ID: 1, Score: 1, Hash: "a", At: t0}, {ID: 2, Score: 1, Hash: "b", At: t0}}, 10, "2 1"},
		{"repeats of a content collapse to the best", []ranking.Candidate{{ID: 1, Score: 1, Hash: "a"}, {ID: 2, Score: 2, Hash: "a"}, {ID: 3, Score: 0.5, Hash: "b"}}, 10, "2 3"},
		{"limit", []ranking.Candidate{{ID: 1, Score: 3, Hash: "a"}, {ID: 2, Score: 2, Hash: "b"}, {ID: 3, Score: 1, Hash: "c"}}, 2, "1 2"},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := ids(ranking.Collapse(c.in, c.limit)); got != c.want {
				t.Errorf("Collapse = %s; want %s", got, c.want)
			}
		})
	}
}

func TestRenderContext(t *testing.T) {
	at := time.Date(2026, 11, 20, 9, 0, 0, 0, time.UTC)
	item := func(id int64, text string) sage.Result {
		return sage.Result{Memory: sage.Memory{ID: id, Text: text, Project: "shop", SessionID: "session-0123456789", Kind: sage.KindTurn, OccurredAt: at}}
	}
	long := strings.Repeat("数据库索引 ", 100)
	items := []sage.Result{item(1, "User: how do we deploy?\n\nAssistant: with   systemd."), item(2, long), item(3, "never reached")}
	for _, c := range []struct {
		name     string
		maxChars int
		kept     int
	}{
		{"room for all", 10000, 3},
		{"the second line cut", 200, 2},
		{"too small for a line", 60, 0},
	} {
		t.Run(c.name, func(t *testing.T) {
			text, kept := ranking.RenderContext(items, c.maxChars)
			if len(kept) != c.kept {
				t.Fatalf("kept %d items; want %d\n%s", len(kept), c.kept, text)
			}
			if n := utf8.RuneCountInString(text); n > c.maxChars {
				t.Errorf("block of %d runes; want at most %d", n, c.maxChars)
			}
			if !utf8.ValidString(text) {
				t.Error("block is not valid UTF-8")
			}
			if c.kept == 0 {
				if text != "" {
					t.Errorf("block %q; want empty", text)
				}
				return
			}
			first := ranking.ContextHeader + "- [2026-11-20 · shop · session-012…] User: how do we deploy? Assistant: with systemd.\n"
			if !strings.HasPrefix(text, first) {
				t.Errorf("block starts %q; want %q", text, first)
			}
			if c.kept == 2 && !strings.HasSuffix(text, "…\n") {
				t.Errorf("cut line does not end with …: %q", text)
			}
		})
	}
}

func TestWeightsFor(t *testing.T) {
	tests := []struct {
		model string
		want  ranking.Weights
	}{
		// The builtin embedder's lexical cosine weighs little.
		{"builtin-fh-v1@384", ranking.Weights{Keyword: 0.9, Vector: 0.1, Neighbour: 0.4, NeighbourDecay: 0.7, When: 0.1}},
		// A model never measured gets the defaults.
		{"intfloat/multilingual-e5-small@384", ranking.DefaultWeights},
		{"", ranking.DefaultWeights},
	}
	for _, tt := range tests {
		if got := ranking.WeightsFor(tt.model); got != tt.want {
			t.Errorf("WeightsFor(%q) = %+v, want %+v", tt.model, got, tt.want)
		}
	}
	for _, m := range []string{"builtin-fh-v1@384"} {
		if w := ranking.WeightsFor(m); w.Keyword+w.Vector != 1 || w.Keyword <= 0 || w.Vector <= 0 {
			t.Errorf("%s: keyword %v + vector %v: want both positive, summing to 1", m, w.Keyword, w.Vector)
		}
	}
}
