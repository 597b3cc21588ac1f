package postgres_test

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	sage "github.com/sage-mcp/sage/daemon"
	"github.com/sage-mcp/sage/daemon/postgres"
)

func indexExists(t *testing.T, db *postgres.DB, name string) bool {
	t.Helper()
	var ok bool
	if err := db.Pool().QueryRow(context.Background(), "SELECT to_regclass($1) IS NOT NULL", name).Scan(&ok); err != nil {
		t.Fatal(err)
	}
	return ok
}

// TestPendingThenBackfill: with the embedder down, memories are saved
// without a vector (never a fake one), found by keyword, and embedded by
// the backfill once the embedder is back.
func TestPendingThenBackfill(t *testing.T) {
	db := MustOpen(t, MustDatabase(t))
	emb := &flakyEmbedder{Embedder: MustBuiltin(t, 384)}
	svc := postgres.NewMemoryService(db, emb, nil)
	ctx := context.Background()
	emb.setFailing(true)

	r, err := svc.SaveTurn(ctx, sage.Turn{SessionID: "p", UserPrompt: "Where is the spare key?", AssistantResponse: "Under the blue flowerpot."})
	if err != nil {
		t.Fatalf("SaveTurn with a failing embedder: %v", err)
	}
	res, err := svc.SaveTurns(ctx, []sage.Turn{{SessionID: "p", UserPrompt: "second pending turn"}, {SessionID: "p", UserPrompt: "third pending turn"}})
	if err != nil || len(res) != 2 {
		t.Fatalf("SaveTurns with a failing embedder: %v", err)
	}
	st, err := svc.Status(ctx)
	if err != nil || st.PendingEmbeddings != 3 || st.Memories != 3 {
		t.Fatalf("status = %+v, %v", st, err)
	}
	var nulls int
	if err := db.Pool().QueryRow(ctx, "SELECT count(*) FROM memories WHERE embedding IS NULL AND embedding_model IS NULL").Scan(&nulls); err != nil || nulls != 3 {
		t.Fatalf("pending rows with a NULL vector = %d, %v", nulls, err)
	}
	// Found by keyword, and by hybrid search (which falls back to keywords
	// while the embedder fails); semantic search needs the embedder.
	for _, mode := range []sage.Mode{sage.ModeKeyword, sage.ModeHybrid} {
		found, err := svc.Search(ctx, sage.SearchQuery{Query: "spare key flowerpot", Mode: mode})
		if err != nil || len(found) == 0 || found[0].ID != r.ID || found[0].EmbeddingModel != "" {
			t.Fatalf("%s search of a pending memory = %+v, %v", mode, found, err)
		}
	}
	if _, err := svc.Search(ctx, sage.SearchQuery{Query: "spare key", Mode: sage.ModeSemantic}); !errors.Is(err, sage.ErrEmbedder) {
		t.Fatalf("semantic search with the embedder down = %v, want ErrEmbedder", err)
	}
	// The backfill fails while the embedder does, and loses nothing.
	if n, err := svc.Backfill(ctx); !errors.Is(err, sage.ErrEmbedder) || n != 0 {
		t.Fatalf("Backfill while down = %d, %v", n, err)
	}
	emb.setFailing(false)
	// Semantic search does not see pending memories yet.
	if found, _ := svc.Search(ctx, sage.SearchQuery{Query: "spare key flowerpot", Mode: sage.ModeSemantic}); len(found) != 0 {
		t.Fatalf("semantic search found pending memories: %+v", found)
	}
	n, err := svc.Backfill(ctx)
	if err != nil || n != 3 {
		t.Fatalf("Backfill = %d, %v; want 3", n, err)
	}
	if st, _ := svc.Status(ctx); st.PendingEmbeddings != 0 {
		t.Fatalf("pending after backfill = %d", st.PendingEmbeddings)
	}
	found, err := svc.Search(ctx, sage.SearchQuery{Query: "spare key flowerpot", Mode: sage.ModeSemantic})
	if err != nil || len(found) == 0 || found[0].ID != r.ID || found[0].EmbeddingModel != postgres.ModelKey(emb) {
		t.Fatalf("semantic search after backfill = %+v, %v", found, err)
	}
	if n, err := svc.Backfill(ctx); err != nil || n != 0 {
		t.Fatalf("second Backfill = %d, %v", n, err)
	}
}

// TestRunBackfill: the backfill loop embeds memories saved while the
// embedder was down, and stops with its context.
func TestRunBackfill(t *testing.T) {
	db := MustOpen(t, MustDatabase(t))
	emb := &flakyEmbedder{Embedder: MustBuiltin(t, 384)}
	svc := postgres.NewMemoryService(db, emb, nil)
	ctx := context.Background()
	emb.setFailing(true)
	for i := 0; i < 100; i++ {
		if _, err := svc.Remember(ctx, sage.Note{Content: fmt.Sprint("pending note ", i)}); err != nil {
			t.Fatal(err)
		}
	}
	loopCtx, stop := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		svc.RunBackfill(loopCtx, 10*time.Millisecond)
		close(done)
	}()
	time.Sleep(50 * time.Millisecond) // a few failing rounds
	emb.setFailing(false)
	deadline := time.Now().Add(30 * time.Second)
	for {
		st, err := svc.Status(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if st.PendingEmbeddings == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("still %d pending", st.PendingEmbeddings)
		}
		time.Sleep(20 * time.Millisecond)
	}
	stop()
	<-done
}

// TestReindexToNewModel switches to an embedder of another model and
// dimension: no schema change, the new model's index is created, search
// keeps working during the reindex (old vectors by keyword), and every
// memory ends up with the new model.
func TestReindexToNewModel(t *testing.T) {
	db := MustOpen(t, MustDatabase(t))
	ctx := context.Background()
	old := postgres.NewMemoryService(db, MustBuiltin(t, 384), nil)
	const total = 300
	var target int64
	for i := 0; i < total; i += 100 {
		turns := make([]sage.Turn, 100)
		for j := range turns {
			turns[j] = sage.Turn{SessionID: fmt.Sprint("s", (i+j)%10), UserPrompt: fmt.Sprintf("question number %d about topic %d", i+j, (i+j)%17)}
		}
		if i == 200 {
			turns[99] = sage.Turn{SessionID: "s", UserPrompt: "The lighthouse keeper feeds the seagulls at dawn"}
		}
		res, err := old.SaveTurns(ctx, turns)
		if err != nil {
			t.Fatal(err)
		}
		if i == 200 {
			target = res[99].ID
		}
	}

	emb := MustBuiltin(t, 2048) // above pgvector's 2000-dimension vector limit
	svc := postgres.NewMemoryService(db, emb, nil)
	if err := svc.Start(ctx); err != nil {
		t.Fatal(err)
	}
	if !indexExists(t, db, postgres.IndexName(postgres.ModelKey(emb))) {
		t.Fatal("no HNSW index for the new model")
	}
	check := func(when string) {
		t.Helper()
		for _, mode := range []sage.Mode{sage.ModeHybrid, sage.ModeKeyword} {
			res, err := svc.Search(ctx, sage.SearchQuery{Query: "lighthouse keeper seagulls", Mode: mode, Limit: 3})
			if err != nil || len(res) == 0 || res[0].ID != target {
				t.Fatalf("%s: %s search = %+v, %v", when, mode, res, err)
			}
		}
	}
	check("before reindex")
	if st, _ := svc.Status(ctx); st.Dimensions != 2048 || st.EmbeddingModel != postgres.ModelKey(emb) {
		t.Fatalf("status = %+v", st)
	}
	var progress []sage.ReindexProgress
	err := svc.Reindex(ctx, func(p sage.ReindexProgress) {
		progress = append(progress, p)
		if p.Done > 0 && p.Done < p.Total {
			check(fmt.Sprintf("during reindex (%d/%d)", p.Done, p.Total))
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(progress) < 3 {
		t.Fatalf("progress reported %d times, want batches", len(progress))
	}
	last := progress[len(progress)-1]
	if last.Done != total || last.Total != total {
		t.Fatalf("last progress = %+v, want %d/%d", last, total, total)
	}
	for i := 1; i < len(progress); i++ {
		if progress[i].Done < progress[i-1].Done {
			t.Fatal("progress went backwards")
		}
	}
	var others int
	if err := db.Pool().QueryRow(ctx, "SELECT count(*) FROM memories WHERE embedding_model IS DISTINCT FROM $1", postgres.ModelKey(emb)).Scan(&others); err != nil || others != 0 {
		t.Fatalf("%d memories of another model after reindex (%v)", others, err)
	}
	res, err := svc.Search(ctx, sage.SearchQuery{Query: "lighthouse keeper seagulls", Mode: sage.ModeSemantic, Limit: 3})
	if err != nil || len(res) == 0 || res[0].ID != target {
		t.Fatalf("semantic search after reindex = %+v, %v", res, err)
	}
	// The old model's service still answers by keyword (its vectors are gone).
	if res, err := old.Search(ctx, sage.SearchQuery{Query: "lighthouse", Mode: sage.ModeHybrid}); err != nil || len(res) == 0 || res[0].ID != target {
		t.Fatalf("old service after reindex = %+v, %v", res, err)
	}
}

// TestLargeDimensions stores and searches vectors of 4096 dimensions:
// above pgvector's HNSW limit for halfvec (4000), so they are searched
// exactly, without an index.
func TestLargeDimensions(t *testing.T) {
	db := MustOpen(t, MustDatabase(t))
	ctx := context.Background()
	emb := MustBuiltin(t, 4096)
	svc := postgres.NewMemoryService(db, emb, nil)
	var want int64
	for i, text := range []string{"the octopus has three hearts", "glaciers carve valleys slowly", "bees communicate by dancing"} {
		r, err := svc.Remember(ctx, sage.Note{Content: text})
		if err != nil {
			t.Fatal(err)
		}
		if i == 1 {
			want = r.ID
		}
	}
	if indexExists(t, db, postgres.IndexName(postgres.ModelKey(emb))) {
		t.Fatal("an HNSW index above 4000 dimensions")
	}
	for _, mode := range []sage.Mode{sage.ModeSemantic, sage.ModeHybrid} {
		res, err := svc.Search(ctx, sage.SearchQuery{Query: "how do glaciers carve a valley", Mode: mode})
		if err != nil || len(res) == 0 || res[0].ID != want {
			t.Fatalf("%s search with 4096 dimensions = %+v, %v", mode, res, err)
		}
	}
	var dims int
	if err := db.Pool().QueryRow(ctx, "SELECT vector_dims(embedding) FROM memories WHERE id = $1", want).Scan(&dims); err != nil || dims != 4096 {
		t.Fatalf("stored dimensions = %d, %v", dims, err)
	}
}

// TestConcurrentBatches saves overlapping batches in different orders from
// many goroutines: each turn is stored exactly once, and no save fails
// (deadlocks between batches are retried).
func TestConcurrentBatches(t *testing.T) {
	svc, db := MustService(t)
	ctx := context.Background()
	const n = 60
	turns := make([]sage.Turn, n)
	for i := range turns {
		turns[i] = sage.Turn{SessionID: fmt.Sprint("s", i%4), UserPrompt: fmt.Sprint("batch turn ", i)}
	}
	var wg sync.WaitGroup
	errs := make(chan error, 10)
	for g := 0; g < 10; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			batch := append([]sage.Turn(nil), turns...)
			rand.New(rand.NewPCG(uint64(g), 7)).Shuffle(len(batch), func(i, j int) { batch[i], batch[j] = batch[j], batch[i] })
			if _, err := svc.SaveTurns(ctx, batch); err != nil {
				errs <- err
			}
		}(g)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatalf("SaveTurns: %v", err)
	}
	var count int
	if err := db.Pool().QueryRow(ctx, "SELECT count(*) FROM memories").Scan(&count); err != nil || count != n {
		t.Fatalf("rows = %d, want %d (%v)", count, n, err)
	}
}

// oddEmbedder returns the vectors of an embedder scaled far beyond the
// range of halfvec, or with a NaN component.
type oddEmbedder struct {
	sage.Embedder
	scale float32
	nan   bool
}

func (o oddEmbedder) Embed(ctx context.Context, texts []string) ([][]float32, error) {
	vecs, err := o.Embedder.Embed(ctx, texts)
	for _, v := range vecs {
		for i := range v {
			v[i] *= o.scale
		}
		if o.nan {
			v[0] = float32(math.NaN())
		}
	}
	return vecs, err
}

// TestVectorScale: vectors are stored at unit length, so a provider whose
// vectors are not normalized (components past halfvec's ±65504) works;
// one returning NaN leaves the memory pending instead of failing the save.
func TestVectorScale(t *testing.T) {
	ctx := context.Background()
	db := MustOpen(t, MustDatabase(t))
	big := postgres.NewMemoryService(db, oddEmbedder{Embedder: MustBuiltin(t, 384), scale: 1e7}, nil)
	r, err := big.Remember(ctx, sage.Note{Content: "The lighthouse keeper logs the tides at dawn."})
	if err != nil {
		t.Fatalf("save with vectors of length 1e7: %v", err)
	}
	res, err := big.Search(ctx, sage.SearchQuery{Query: "lighthouse tides", Mode: sage.ModeSemantic})
	if err != nil || len(res) != 1 || res[0].ID != r.ID || res[0].Score < 0.3 {
		t.Fatalf("semantic search = %+v, %v", res, err)
	}
	var norm float64
	if err := db.Pool().QueryRow(ctx, "SELECT l2_norm(embedding) FROM memories WHERE id = $1", r.ID).Scan(&norm); err != nil || math.Abs(norm-1) > 1e-3 {
		t.Fatalf("stored vector length = %v, %v; want 1", norm, err)
	}

	nan := postgres.NewMemoryService(db, oddEmbedder{Embedder: MustBuiltin(t, 384), scale: 1, nan: true}, nil)
	p, err := nan.Remember(ctx, sage.Note{Content: "A note whose vector came back broken."})
	if err != nil {
		t.Fatalf("save with a NaN vector: %v", err)
	}
	var pending bool
	if err := db.Pool().QueryRow(ctx, "SELECT embedding IS NULL FROM memories WHERE id = $1", p.ID).Scan(&pending); err != nil || !pending {
		t.Fatalf("memory with a NaN vector: pending = %v, %v; want a NULL vector", pending, err)
	}
	if _, err := nan.Search(ctx, sage.SearchQuery{Query: "broken vector", Mode: sage.ModeSemantic}); !errors.Is(err, sage.ErrEmbedder) {
		t.Fatalf("semantic search with a NaN query vector = %v, want ErrEmbedder", err)
	}
}
