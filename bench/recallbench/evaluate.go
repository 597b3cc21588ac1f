package recallbench

import (
	"context"
	"fmt"
	"io"
	"math"
	"sort"
	"strings"

	"github.com/sage-mcp/sage/daemon/tokenize"
)

// Search returns the ids of the turns a method ranks best for a question
// about conversation conv, best first (at least k of them when it can).
type Search func(ctx context.Context, conv, question string, k int) ([]string, error)

// Recall is recall@5 and recall@10 averaged over questions.
type Recall struct {
	Questions int
	At5, At10 float64
}

// Report is the recall of each method, per question type ("all": every
// question).
type Report struct {
	Methods []string
	Recall  map[string]map[string]Recall // method → type → recall
}

// Evaluate runs every question through each method (in the order of
// names) and averages turn-level evidence recall@5 and @10.
func Evaluate(ctx context.Context, ds Dataset, names []string, methods map[string]Search) (Report, error) {
	rep := Report{Methods: names, Recall: map[string]map[string]Recall{}}
	for _, name := range names {
		sums := map[string]*Recall{}
		for _, q := range ds.Questions {
			got, err := methods[name](ctx, q.Conversation, q.Text, 10)
			if err != nil {
				return rep, fmt.Errorf("%s: %q: %w", name, q.Text, err)
			}
			r5, r10 := recallAt(got, q.Evidence, 5), recallAt(got, q.Evidence, 10)
			for _, typ := range []string{q.Type, "all"} {
				s := sums[typ]
				if s == nil {
					s = &Recall{}
					sums[typ] = s
				}
				s.Questions++
				s.At5 += r5
				s.At10 += r10
			}
		}
		rep.Recall[name] = map[string]Recall{}
		for typ, s := range sums {
			rep.Recall[name][typ] = Recall{Questions: s.Questions, At5: s.At5 / float64(s.Questions), At10: s.At10 / float64(s.Questions)}
		}
	}
	return rep, nil
}

// recallAt is the share of evidence among the first k of got.
func recallAt(got, evidence []string, k int) float64 {
	if len(evidence) == 0 {
		return 0
	}
	top := map[string]bool{}
	for i, id := range got {
		if i == k {
			break
		}
		top[id] = true
	}
	n := 0
	for _, e := range evidence {
		if top[e] {
			n++
		}
	}
	return float64(n) / float64(len(evidence))
}

// WriteMarkdown prints the report as a table: one row per question type,
// recall@5 / recall@10 of each method.
func (r Report) WriteMarkdown(w io.Writer) {
	fmt.Fprintf(w, "| type | questions |")
	for _, m := range r.Methods {
		fmt.Fprintf(w, " %s R@5 | %s R@10 |", m, m)
	}
	fmt.Fprintf(w, "\n|---|---:|%s\n", strings.Repeat("---:|---:|", len(r.Methods)))
	for _, typ := range append(append([]string{}, Types...), "all") {
		first := r.Recall[r.Methods[0]][typ]
		if first.Questions == 0 {
			continue
		}
		fmt.Fprintf(w, "| %s | %d |", typ, first.Questions)
		for _, m := range r.Methods {
			x := r.Recall[m][typ]
			fmt.Fprintf(w, " %.3f | %.3f |", x.At5, x.At10)
		}
		fmt.Fprintln(w)
	}
}

// BM25 is plain Okapi BM25 (k1 1.2, b 0.75) over the turns of each
// conversation, with the search terms of package tokenize (Snowball stems,
// CJK bigrams) and the query's stop words dropped: the baseline.
type BM25 struct {
	convs map[string]*bm25Index
}

type bm25Index struct {
	ids   []string
	tf    []map[string]int
	lens  []float64
	df    map[string]int
	avgdl float64
}

// NewBM25 indexes the turns of ds.
func NewBM25(ds Dataset) *BM25 {
	b := &BM25{convs: map[string]*bm25Index{}}
	for _, c := range ds.Conversations {
		ix := &bm25Index{df: map[string]int{}}
		for _, s := range c.Sessions {
			for _, t := range s.Turns {
				tf := map[string]int{}
				terms := tokenize.Terms(TurnText(t))
				for _, term := range terms {
					tf[term]++
				}
				for term := range tf {
					ix.df[term]++
				}
				ix.ids = append(ix.ids, t.ID)
				ix.tf = append(ix.tf, tf)
				ix.lens = append(ix.lens, float64(len(terms)))
				ix.avgdl += float64(len(terms))
			}
		}
		ix.avgdl /= math.Max(1, float64(len(ix.ids)))
		b.convs[c.ID] = ix
	}
	return b
}

// Search implements Search.
func (b *BM25) Search(_ context.Context, conv, question string, k int) ([]string, error) {
	ix := b.convs[conv]
	if ix == nil {
		return nil, fmt.Errorf("no conversation %q", conv)
	}
	const k1, bb = 1.2, 0.75
	n := float64(len(ix.ids))
	type hit struct {
		i     int
		score float64
	}
	var hits []hit
	terms := tokenize.QueryTerms(question)
	for i, tf := range ix.tf {
		s := 0.0
		for _, t := range terms {
			f := float64(tf[t])
			if f == 0 {
				continue
			}
			df := float64(ix.df[t])
			idf := math.Log(1 + (n-df+0.5)/(df+0.5))
			s += idf * f * (k1 + 1) / (f + k1*(1-bb+bb*ix.lens[i]/ix.avgdl))
		}
		if s > 0 {
			hits = append(hits, hit{i, s})
		}
	}
	sort.SliceStable(hits, func(x, y int) bool { return hits[x].score > hits[y].score })
	var out []string
	for _, h := range hits {
		if len(out) == k {
			break
		}
		out = append(out, ix.ids[h.i])
	}
	return out, nil
}
