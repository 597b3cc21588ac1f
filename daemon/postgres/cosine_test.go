package postgres_test

import (
	"context"
	"math"
	"testing"

	"github.com/pgvector/pgvector-go"

	sage "github.com/sage-mcp/sage/daemon"
)

// TestKeywordCandidateGetsCosine: a memory the keyword retriever finds but
// the vector retriever leaves out of its candidate pool (60 memories lie
// nearer the query) comes back with Vector.Rank 0 and its cosine with the
// query as Vector.Score, so the injection gate can weigh it; keyword
// search, which embeds no query, leaves the vector hit empty.
func TestKeywordCandidateGetsCosine(t *testing.T) {
	const query = "xylophone concert rehearsal"
	svc, db := MustService(t)
	ctx := context.Background()
	MustFill(t, svc, 60)
	target, err := svc.Remember(ctx, sage.Note{Content: "xylophone concert rehearsal on Friday"})
	if err != nil {
		t.Fatal(err)
	}
	emb := MustBuiltin(t, 384)
	vecs, err := emb.Embed(ctx, []string{query, "xylophone rehearsal, then gardening and cooking for the weather"})
	if err != nil {
		t.Fatal(err)
	}
	cos := 0.0
	for i := range vecs[0] {
		cos += float64(vecs[0][i]) * float64(vecs[1][i])
	}
	if math.Abs(cos) < 0.05 || cos > 0.9 {
		t.Fatalf("test vectors: cosine %.3f, want a clear value below the fillers' 1", cos)
	}
	// The fillers get the query's own vector (cosine 1: the whole vector
	// pool of 50), the target another one.
	if _, err := db.Pool().Exec(ctx, `UPDATE memories SET embedding = CASE WHEN id = $1 THEN $2::halfvec ELSE $3::halfvec END`,
		target.ID, pgvector.NewHalfVector(vecs[1]), pgvector.NewHalfVector(vecs[0])); err != nil {
		t.Fatal(err)
	}

	for _, c := range []struct {
		mode    sage.Mode
		wantCos bool
	}{
		{sage.ModeHybrid, true},
		{sage.ModeKeyword, false},
	} {
		t.Run(string(c.mode), func(t *testing.T) {
			res, err := svc.Search(ctx, sage.SearchQuery{Query: query, Mode: c.mode, Limit: 10})
			if err != nil {
				t.Fatal(err)
			}
			var got *sage.Result
			for i, r := range res {
				if r.ID == target.ID {
					got = &res[i]
				}
			}
			if got == nil {
				t.Fatalf("target not returned: %d results", len(res))
			}
			if got.Keyword.Rank != 1 || got.Vector.Rank != 0 {
				t.Errorf("ranks keyword %d, vector %d; want 1, 0 (beyond the vector pool)", got.Keyword.Rank, got.Vector.Rank)
			}
			switch {
			case c.wantCos && math.Abs(got.Vector.Score-cos) > 0.01:
				t.Errorf("vector score %.4f, want the cosine %.4f", got.Vector.Score, cos)
			case c.wantCos && !got.Vector.Known():
				t.Errorf("vector hit %+v not Known", got.Vector)
			case !c.wantCos && got.Vector != (sage.Hit{}):
				t.Errorf("keyword mode: vector hit %+v, want none", got.Vector)
			}
		})
	}
}
