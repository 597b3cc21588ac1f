package postgres_test

import (
	"context"
	"testing"
	"time"

	sage "github.com/sage-mcp/sage/daemon"
	"github.com/sage-mcp/sage/daemon/gate"
	"github.com/sage-mcp/sage/daemon/gate/labelled"
	"github.com/sage-mcp/sage/daemon/postgres"
	"github.com/sage-mcp/sage/daemon/tokenize"
)

// gateKeys are the five memories of the small store.
var gateKeys = []string{"stripe-webhook-flaky", "vite-port", "k8s-version", "zh-redis-ttl", "cat-name"}

// MustBulkFiller adds n filler memories (labelled.Filler) with their
// search terms in one statement per 5 000, without vectors (pending): the
// keyword statistics see a store of that size. The vector side is not
// covered: with 100 000 vectors a relevant memory can leave the vector
// candidate pool (sage-gate-bench -filler 100000, docs/BENCHMARKS.md).
func MustBulkFiller(t testing.TB, db *postgres.DB, n int) {
	t.Helper()
	ctx := context.Background()
	ms := labelled.Filler(n)
	for i := 0; i < len(ms); i += 5000 {
		var projects, sessions, texts, hashes, terms []string
		var ats []time.Time
		for _, m := range ms[i:min(i+5000, len(ms))] {
			text := postgres.TurnText(sage.Turn{UserPrompt: m.Prompt, AssistantResponse: m.Response})
			projects, sessions, texts = append(projects, m.Project), append(sessions, m.SessionID), append(texts, text)
			hashes, terms, ats = append(hashes, postgres.ContentHash(text)), append(terms, tokenize.IndexString(text)), append(ats, m.OccurredAt)
		}
		_, err := db.Pool().Exec(ctx, `INSERT INTO memories (namespace, project, session_id, kind, text, content_hash, metadata, tsv, occurred_at)
			SELECT 'default', p, s, 'turn', x, h, '{"client":"claude-code"}', to_tsvector('simple', tm), a
			FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::timestamptz[]) AS u(p, s, x, h, tm, a)`,
			projects, sessions, texts, hashes, terms, ats)
		if err != nil {
			t.Fatalf("filler: %v", err)
		}
	}
	if _, err := db.Pool().Exec(ctx, "ANALYZE memories"); err != nil {
		t.Fatal(err)
	}
}

// verdicts runs the prompts through a fresh service on db (no cached
// statistics) and returns, per prompt, whether the gate passes its wanted
// memory (related) or anything (unrelated), with the hits behind it.
func verdicts(t *testing.T, db *postgres.DB, prompts []labelled.Prompt, ids map[string]int64) (map[string]bool, map[string]sage.Hit) {
	t.Helper()
	svc := postgres.NewMemoryService(db, MustBuiltin(t, 384), nil)
	asked, err := labelled.Collect(context.Background(), svc, prompts)
	if err != nil {
		t.Fatal(err)
	}
	th, ok := gate.For(postgres.ModelKey(MustBuiltin(t, 384)))
	if !ok {
		t.Fatal("the builtin embedder has no calibrated thresholds")
	}
	pass, kw := map[string]bool{}, map[string]sage.Hit{}
	for _, a := range asked {
		for _, r := range a.Results {
			if a.Want == "" && th.Pass(r) {
				pass[a.Text] = true
			}
			if a.Want != "" && r.ID == ids[a.Want] {
				pass[a.Text], kw[a.Text] = th.Pass(r), r.Keyword
			}
		}
	}
	return pass, kw
}

// TestGateSameVerdictAtBothSizes: the same prompts get the same gate
// verdicts on their memory with 5 memories in the store and with 100 000,
// and at 5 they are mostly right (related in, unrelated out).
func TestGateSameVerdictAtBothSizes(t *testing.T) {
	svc, db := MustService(t)
	var store []labelled.Memory
	want := map[string]bool{}
	for _, k := range gateKeys {
		want[k] = true
	}
	for _, m := range labelled.Store() {
		if want[m.Key] {
			store = append(store, m)
		}
	}
	ids, err := labelled.Save(context.Background(), svc, store)
	if err != nil {
		t.Fatal(err)
	}
	var prompts []labelled.Prompt
	unrelated := 0
	for _, p := range labelled.Prompts() {
		switch {
		case want[p.Want]:
			prompts = append(prompts, p)
		case p.Want == "" && unrelated < 40:
			prompts = append(prompts, p)
			unrelated++
		}
	}
	small, smallKW := verdicts(t, db, prompts, ids)
	right := 0
	for _, p := range prompts {
		if small[p.Text] == (p.Want != "") {
			right++
		}
	}
	if right < len(prompts)*9/10 {
		t.Errorf("with 5 memories only %d of %d prompts get the right verdict", right, len(prompts))
	}

	MustBulkFiller(t, db, 100_000-len(store))
	large, largeKW := verdicts(t, db, prompts, ids)
	for _, p := range prompts {
		if small[p.Text] != large[p.Text] {
			t.Errorf("%q (want %q): verdict %v with 5 memories, %v with 100 000 (keyword %+v then %+v)",
				p.Text, p.Want, small[p.Text], large[p.Text], smallKW[p.Text], largeKW[p.Text])
		}
	}
}
