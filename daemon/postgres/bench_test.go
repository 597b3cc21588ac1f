package postgres_test

import (
	"context"
	"flag"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	sage "github.com/sage-mcp/sage/daemon"
)

var benchMemories = flag.Int("sage.bench-memories", 10000, "memories stored before BenchmarkSearch runs")

var benchVocab = strings.Fields(`the a to of and I you we it is was for on with that this have at be my
	database index vector search memory session project daemon bridge token query result deploy build test
	kitchen garden river mountain forest ocean desert island valley city village market school hospital
	violin piano guitar drums painting pottery poetry novel movie theater concert museum camping hiking
	monday tuesday wednesday thursday friday saturday sunday morning evening night summer winter spring
	Caroline Melanie John Maria Wei Ken Yuki Ahmed Sofia Luca family friends kids dog cat birthday wedding
	postgres docker kubernetes golang rust python javascript compiler borrow checker goroutine channel`)

// benchWords is a vocabulary of 20000 words, the common ones first: word
// frequencies follow Zipf's law, as in natural text.
var benchWords = func() []string {
	w := append([]string(nil), benchVocab...)
	for i := len(w); i < 20000; i++ {
		w = append(w, fmt.Sprintf("w%dx", i))
	}
	return w
}()

func benchText(r *rand.Rand, words int) string {
	z := rand.NewZipf(r, 1.07, 2, uint64(len(benchWords)-1))
	out := make([]string, words)
	for i := range out {
		out[i] = benchWords[z.Uint64()]
	}
	return strings.Join(out, " ")
}

// BenchmarkSaveTurn saves distinct turns from parallel goroutines, as MCP
// clients do; ns/op is the inverse of saves per second.
func BenchmarkSaveTurn(b *testing.B) {
	svc, _ := MustService(b)
	ctx := context.Background()
	var seq atomic.Int64
	b.SetParallelism(8) // 16 clients on 2 cores
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		r := rand.New(rand.NewPCG(uint64(seq.Add(1)), 1))
		for pb.Next() {
			n := seq.Add(1)
			_, err := svc.SaveTurn(ctx, sage.Turn{
				SessionID: fmt.Sprint("bench-", n%50), UserPrompt: benchText(r, 20), AssistantResponse: benchText(r, 60),
				IdempotencyKey: fmt.Sprint("k", n),
			})
			if err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkSearch searches (hybrid, limit 10) a store of
// -sage.bench-memories memories.
func BenchmarkSearch(b *testing.B) {
	svc, db := MustService(b)
	ctx := context.Background()
	r := rand.New(rand.NewPCG(42, 42))
	start := time.Now()
	for done := 0; done < *benchMemories; done += sage.MaxBatch {
		turns := make([]sage.Turn, min(sage.MaxBatch, *benchMemories-done))
		for i := range turns {
			turns[i] = sage.Turn{SessionID: fmt.Sprint("s", (done+i)/40), Project: fmt.Sprint("p", (done+i)%5),
				UserPrompt: benchText(r, 15), AssistantResponse: benchText(r, 45),
				OccurredAt: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(done+i) * time.Minute)}
		}
		if _, err := svc.SaveTurns(ctx, turns); err != nil {
			b.Fatal(err)
		}
	}
	if _, err := db.Pool().Exec(ctx, "VACUUM ANALYZE memories"); err != nil {
		b.Fatal(err)
	}
	b.Logf("stored %d memories in %v", *benchMemories, time.Since(start))
	cases := []struct {
		name string
		q    sage.SearchQuery
	}{
		{"hybrid", sage.SearchQuery{Mode: sage.ModeHybrid}},
		{"semantic", sage.SearchQuery{Mode: sage.ModeSemantic}},
		{"keyword", sage.SearchQuery{Mode: sage.ModeKeyword}},
		{"hybrid-project", sage.SearchQuery{Filter: sage.Filter{Project: "p3"}}},
		{"hybrid-since", sage.SearchQuery{Filter: sage.Filter{Since: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(*benchMemories/2) * time.Minute)}}},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			var took []time.Duration
			for b.Loop() {
				q := c.q
				q.Query = benchText(r, 6)
				t0 := time.Now()
				if _, err := svc.Search(ctx, q); err != nil {
					b.Fatal(err)
				}
				took = append(took, time.Since(t0))
			}
			slices.Sort(took)
			b.ReportMetric(float64(took[len(took)*95/100].Microseconds())/1000, "p95-ms")
		})
	}
}
