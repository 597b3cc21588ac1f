package postgres_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	sage "github.com/sage-mcp/sage/daemon"
)

// TestContextExcludeSessionAndMinScore: the memories of the excluded
// session and the results below the minimum score are dropped before the
// limit, so the limit fills with the others.
func TestContextExcludeSessionAndMinScore(t *testing.T) {
	svc, _ := MustService(t)
	ctx := context.Background()
	at := time.Now().Add(-time.Hour)
	// The current session holds many matching turns, more than the
	// candidate pool of a context of 3; other sessions hold three.
	var turns []sage.Turn
	for i := 0; i < 80; i++ {
		turns = append(turns, sage.Turn{SessionID: "current", Project: "shop", OccurredAt: at,
			UserPrompt: fmt.Sprintf("kafka consumer lag question %d", i), AssistantResponse: "kafka consumer lag answer"})
	}
	if _, err := svc.SaveTurns(ctx, turns); err != nil {
		t.Fatal(err)
	}
	others := map[int64]bool{}
	for i, text := range []string{"kafka consumer lag grew after the deploy", "we tuned the kafka consumer fetch size", "kafka lag alerts page the on-call"} {
		r, err := svc.Remember(ctx, sage.Note{Content: text, SessionID: fmt.Sprintf("old-%d", i), Project: "shop", OccurredAt: at.Add(-24 * time.Hour)})
		if err != nil {
			t.Fatal(err)
		}
		others[r.ID] = true
	}
	unrelated, err := svc.Remember(ctx, sage.Note{Content: "the printer on floor two jams", SessionID: "old-9", Project: "shop"})
	if err != nil {
		t.Fatal(err)
	}

	for _, mode := range []sage.Mode{sage.ModeHybrid, sage.ModeKeyword, sage.ModeSemantic} {
		c, err := svc.Context(ctx, sage.ContextQuery{Query: "kafka consumer lag", MaxResults: 3, Mode: mode,
			Filter: sage.Filter{Project: "shop"}, ExcludeSession: "current"})
		if err != nil {
			t.Fatal(err)
		}
		if len(c.Items) != 3 {
			t.Errorf("%s: %d items; want the 3 of other sessions", mode, len(c.Items))
		}
		for _, it := range c.Items {
			if !others[it.ID] {
				t.Errorf("%s: item %d %q (session %s); want only the other sessions' kafka memories", mode, it.ID, it.Text, it.SessionID)
			}
		}
	}

	// MinScore: the threshold sits between the best result's score and
	// the unrelated memory's.
	all, err := svc.Context(ctx, sage.ContextQuery{Query: "kafka consumer lag", MaxResults: 50, Mode: sage.ModeSemantic, ExcludeSession: "current"})
	if err != nil {
		t.Fatal(err)
	}
	low, found := 0.0, false
	for _, it := range all.Items {
		if it.ID == unrelated.ID {
			low, found = it.Score, true
		}
	}
	if !found || low >= all.Items[0].Score {
		t.Fatalf("the unrelated memory scores %v against the best %v: the test needs it below", low, all.Items[0].Score)
	}
	min := (low + all.Items[0].Score) / 2
	c, err := svc.Context(ctx, sage.ContextQuery{Query: "kafka consumer lag", MaxResults: 50, Mode: sage.ModeSemantic, ExcludeSession: "current", MinScore: min})
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Items) == 0 {
		t.Fatal("MinScore dropped every result")
	}
	for _, it := range c.Items {
		if it.Score < min {
			t.Errorf("item %q scores %v, below MinScore %v", it.Text, it.Score, min)
		}
	}
	// A threshold above every score leaves nothing (and no recent
	// memories instead).
	c, err = svc.Context(ctx, sage.ContextQuery{Query: "kafka consumer lag", Mode: sage.ModeSemantic, MinScore: 2})
	if err != nil || len(c.Items) != 0 || c.Text != "" {
		t.Errorf("MinScore 2: %d items, %q, %v; want none", len(c.Items), c.Text, err)
	}
}
