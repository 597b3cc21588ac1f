package postgres_test

import (
	"context"
	"testing"
	"time"

	sage "github.com/sage-mcp/sage/daemon"
)

// TestRetokenize: memories indexed by an older tokenizer (metadata values
// and the date among their terms) lose those terms once Retokenize has run
// over the range the migration recorded, and keep their text and tags.
func TestRetokenize(t *testing.T) {
	svc, db := MustService(t)
	ctx := context.Background()
	when := time.Date(2023, 5, 8, 18, 30, 0, 0, time.UTC)
	r, err := svc.Remember(ctx, sage.Note{Content: "Adopted a puppy", Tags: []string{"pets"}, OccurredAt: when})
	if err != nil {
		t.Fatal(err)
	}
	// As an older daemon indexed it, and as migration 005 finds it.
	if _, err := db.Pool().Exec(ctx, `UPDATE memories SET tsv = to_tsvector('simple', 'adopt puppy pet gina 8 may 2023') WHERE id = $1`, r.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Pool().Exec(ctx, `UPDATE tsv_rebuild SET next_id = 0, max_id = $1`, r.ID); err != nil {
		t.Fatal(err)
	}
	find := func(q string) bool {
		t.Helper()
		res, err := svc.Search(ctx, sage.SearchQuery{Query: q, Mode: sage.ModeKeyword})
		if err != nil {
			t.Fatal(err)
		}
		return len(res) == 1 && res[0].ID == r.ID
	}
	if !find("gina") {
		t.Fatal("the old terms are not searchable before Retokenize: the test does not set them up")
	}
	n, err := svc.Retokenize(ctx)
	if err != nil || n != 1 {
		t.Fatalf("Retokenize = %d, %v; want 1 memory", n, err)
	}
	for _, c := range []struct {
		query string
		found bool
	}{{"gina", false}, {"2023", false}, {"puppy", true}, {"pets", true}} {
		if got := find(c.query); got != c.found {
			t.Errorf("after Retokenize, %q finds the memory: %v, want %v", c.query, got, c.found)
		}
	}
	var left int
	if err := db.Pool().QueryRow(ctx, `SELECT count(*) FROM tsv_rebuild`).Scan(&left); err != nil || left != 0 {
		t.Errorf("tsv_rebuild holds %d rows (%v) after Retokenize; want none", left, err)
	}
	if n, err := svc.Retokenize(ctx); err != nil || n != 0 {
		t.Errorf("second Retokenize = %d, %v; want 0", n, err)
	}
}
