package postgres_test

import (
	"context"
	"fmt"
	"math"
	"testing"
	"time"

	sage "github.com/sage-mcp/sage/daemon"
)

// MustFill stores n unrelated notes (none holds the words of hitsQuery).
func MustFill(t *testing.T, svc sage.Service, n int) {
	t.Helper()
	ctx := context.Background()
	topics := []string{"gardening", "weather", "cooking", "football", "taxes", "painting", "trains", "coffee"}
	for i := 0; i < n; i += sage.MaxBatch {
		var batch []sage.Turn
		for j := i; j < n && j < i+sage.MaxBatch; j++ {
			batch = append(batch, sage.Turn{SessionID: fmt.Sprintf("fill-%d", j/20),
				UserPrompt:        fmt.Sprintf("note %d about %s and %s", j, topics[j%len(topics)], topics[(j/3)%len(topics)]),
				AssistantResponse: fmt.Sprintf("answer %d on %s", j, topics[(j/7)%len(topics)])})
		}
		if _, err := svc.SaveTurns(ctx, batch); err != nil {
			t.Fatalf("fill: %v", err)
		}
	}
}

// TestResultHits: every result says how each retriever ranked it; the
// keyword score is normalized by the query's best possible score (1 for a
// memory holding exactly the query's words) and stays comparable between a
// store of a few memories and one of hundreds; the vector score is the
// cosine similarity.
func TestResultHits(t *testing.T) {
	const query = "xylophone concert rehearsal"
	for _, size := range []int{4, 600} {
		t.Run(fmt.Sprintf("store of %d", size), func(t *testing.T) {
			svc, _ := MustService(t)
			ctx := context.Background()
			MustFill(t, svc, size)
			exact, err := svc.Remember(ctx, sage.Note{Content: "xylophone concert rehearsal", OccurredAt: time.Now().Add(-time.Hour)})
			if err != nil {
				t.Fatal(err)
			}
			partial, err := svc.Remember(ctx, sage.Note{Content: "I practiced the xylophone for an hour after dinner with my neighbour's daughter, who plays the cello."})
			if err != nil {
				t.Fatal(err)
			}
			emb := MustBuiltin(t, 384)
			vecs, err := emb.Embed(ctx, []string{query, "xylophone concert rehearsal"})
			if err != nil {
				t.Fatal(err)
			}
			cos := 0.0
			for i := range vecs[0] {
				cos += float64(vecs[0][i]) * float64(vecs[1][i])
			}

			byID := func(mode sage.Mode) map[int64]sage.Result {
				t.Helper()
				res, err := svc.Search(ctx, sage.SearchQuery{Query: query, Mode: mode, Limit: 10})
				if err != nil {
					t.Fatalf("%s: %v", mode, err)
				}
				out := map[int64]sage.Result{}
				for _, r := range res {
					if r.Keyword.Score < 0 || r.Keyword.Score > 1 {
						t.Errorf("%s: keyword score %v out of [0, 1]", mode, r.Keyword.Score)
					}
					out[r.ID] = r
				}
				return out
			}
			kw, sem, hyb := byID(sage.ModeKeyword), byID(sage.ModeSemantic), byID(sage.ModeHybrid)

			for _, c := range []struct {
				name      string
				r         sage.Result
				kwRank    int
				vecRank   int
				kwAtLeast float64
				kwAtMost  float64
			}{
				{"keyword exact", kw[exact.ID], 1, 0, 0.999, 1},
				{"keyword partial", kw[partial.ID], 2, 0, 0.15, 0.45},
				{"semantic exact", sem[exact.ID], 0, 1, 0, 0},
				{"hybrid exact", hyb[exact.ID], 1, 1, 0.999, 1},
				{"hybrid partial", hyb[partial.ID], 2, -1, 0.15, 0.45},
			} {
				if c.r.ID == 0 {
					t.Errorf("%s: not returned", c.name)
					continue
				}
				if c.r.Keyword.Rank != c.kwRank {
					t.Errorf("%s: keyword rank %d, want %d", c.name, c.r.Keyword.Rank, c.kwRank)
				}
				if c.vecRank >= 0 && c.r.Vector.Rank != c.vecRank {
					t.Errorf("%s: vector rank %d, want %d", c.name, c.r.Vector.Rank, c.vecRank)
				}
				if c.r.Keyword.Score < c.kwAtLeast || c.r.Keyword.Score > c.kwAtMost {
					t.Errorf("%s: keyword score %.3f, want in [%.3f, %.3f]", c.name, c.r.Keyword.Score, c.kwAtLeast, c.kwAtMost)
				}
				if c.vecRank == 0 && c.r.Vector.Score != 0 {
					t.Errorf("%s: vector score %v without a query vector", c.name, c.r.Vector.Score)
				}
			}
			for _, r := range []sage.Result{sem[exact.ID], hyb[exact.ID]} {
				if math.Abs(r.Vector.Score-cos) > 0.01 {
					t.Errorf("vector score %.4f, want the cosine %.4f", r.Vector.Score, cos)
				}
			}
		})
	}
}
