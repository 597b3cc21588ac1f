package console_test

import (
	"context"
	"net/http"
	"strconv"
	"testing"
	"time"

	sage "github.com/sage-mcp/sage/daemon"
)

// benchMemories is the store size of BenchmarkPages (issue 18: every page
// within 50 ms at 100k memories).
const benchMemories = 100_000

// countFoldSaves is how many single saves' count deltas the last overview
// of BenchmarkPages finds not yet folded.
const countFoldSaves = 3_500

// BenchmarkPages times each console page, request to last byte on
// loopback, against a store of benchMemories memories in 20 projects and
// 2 000 sessions over 60 days, with 5 000 recorded injections. The rows
// are written by SQL (no vectors: they are pending, found by keyword), then
// vacuumed and analyzed as autovacuum would, and their counts folded as the
// daemon's fold loop would. Nothing is cached: every overview reads its
// counts afresh. overview-after-start times the first overview of a
// daemon just started and signed in to (new pool, connections and
// prepared statements), overview-after-save one after a save whose counts are not folded yet,
// and overview-unfolded one with countFoldSaves single saves' deltas not
// folded (what CountFoldPeriod lets pile up at about 700 saves/s).
//
//	go test -run '^$' -bench Pages -benchtime 20x ./console/
func BenchmarkPages(b *testing.B) {
	s := mustStack(b)
	ctx := context.Background()
	pool := s.DB.Pool()
	start := time.Now()
	for _, q := range []string{
		`INSERT INTO memories (namespace, project, session_id, kind, text, content_hash, tags, tsv, occurred_at, created_at)
		SELECT 'default', 'project-' || (i % 20), 'session-' || (i % 2000),
			(ARRAY['turn','note','decision','fact','todo'])[1 + i % 5],
			t, md5(t), ARRAY['tag-' || (i % 50)], to_tsvector('simple', t),
			now() - (i % 60) * interval '1 day', now() - (i % 60) * interval '1 day'
		FROM (SELECT i, 'User: how do we ' || (ARRAY['deploy the canary','tune postgres','index vectors','run the hook','sign in to the console','rotate keys'])[1 + i % 6]
			|| ' number ' || i || E'?\n\nAssistant: ' || repeat('We keep the steps in the runbook and check them twice. ', 6) AS t
			FROM generate_series(1, ` + strconv.Itoa(benchMemories) + `) i) x`,
		`INSERT INTO sessions (namespace, id, project, title, first_at, last_at)
		SELECT 'default', 'session-' || j, 'project-' || (j % 20), 'Session ' || j || ' about the canary', now() - interval '60 days', now() - (j % 60) * interval '1 day'
		FROM generate_series(0, 1999) j`,
		`INSERT INTO injections (namespace, at, source, session_id, project, prompt_hash, prompt_head, memories, chars)
		SELECT 'default', now() - (k % 30) * interval '1 day', 'hook', 'session-' || (k % 2000), 'project-' || (k % 20),
			md5(k::text), 'how do we deploy the canary ' || k, '[{"id":1,"score":0.03,"keyword_rank":1,"keyword_score":2.5,"vector_rank":2,"vector_score":0.8}]', 400
		FROM generate_series(1, 5000) k`,
		`VACUUM ANALYZE memories`, `VACUUM ANALYZE sessions`, `VACUUM ANALYZE injections`,
	} {
		if _, err := pool.Exec(ctx, q); err != nil {
			b.Fatalf("seed: %v", err)
		}
	}
	if _, err := s.Service.FoldCounts(ctx); err != nil {
		b.Fatal(err)
	}
	b.Logf("seeded %d memories in %v", benchMemories, time.Since(start).Round(time.Second))
	var id int64
	if err := pool.QueryRow(ctx, `SELECT max(id) FROM memories`).Scan(&id); err != nil {
		b.Fatal(err)
	}
	if _, err := s.Service.SaveSettings(sage.WithNamespace(ctx, "default"), sage.DefaultSettings()); err != nil {
		b.Fatal(err)
	}
	key := s.MustKey(b, "default", sage.ScopeAdmin)
	br := s.MustSignedIn(b, key)
	pages := []struct{ name, path string }{
		{"overview", "/console/"},
		{"sessions", "/console/sessions"},
		{"sessions-filtered", "/console/sessions?project=project-3&q=canary"},
		{"transcript", "/console/sessions/session-7"},
		{"search-hybrid", "/console/search?q=how+do+we+tune+postgres+number+4242"},
		{"search-keyword", "/console/search?mode=keyword&q=rotate+keys&project=project-5"},
		{"memory", "/console/memories/" + strconv.FormatInt(id, 10)},
		{"injections", "/console/injections"},
		{"settings", "/console/settings"},
		{"tokens", "/console/tokens"},
	}
	// timePage times GET path; before each request, prepare (not timed)
	// gives the browser to ask with and what to do after the request.
	timePage := func(name, path string, prepare func() (*browser, func())) {
		b.Run(name, func(b *testing.B) {
			for b.Loop() {
				b.StopTimer()
				asker, after := prepare()
				b.StartTimer()
				if r := asker.get(path); r.Status != http.StatusOK {
					b.Fatalf("%s: status %d", path, r.Status)
				}
				b.StopTimer()
				after()
				b.StartTimer()
			}
			b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N)/1000, "ms/page")
		})
	}
	signedIn := func() (*browser, func()) { return br, func() {} }
	for _, p := range pages {
		timePage(p.name, p.path, signedIn)
	}
	// A daemon just started: its pool, connections and statements new.
	timePage("overview-after-start", "/console/", func() (*browser, func()) {
		fresh, stop := openStack(b, s.URL)
		return fresh.MustSignedIn(b, key), stop
	})
	nsCtx := sage.WithNamespace(ctx, "default")
	saved := 0
	timePage("overview-after-save", "/console/", func() (*browser, func()) {
		saved++
		if _, err := s.Service.Remember(nsCtx, sage.Note{Content: "a note saved between two overviews " + strconv.Itoa(saved), Project: "project-1"}); err != nil {
			b.Fatal(err)
		}
		return signedIn()
	})
	// One statement per save, as the daemon's saves: each appends its own
	// deltas.
	if _, err := pool.Exec(ctx, `DO $$ BEGIN FOR i IN 1..`+strconv.Itoa(countFoldSaves)+` LOOP
		INSERT INTO memories (namespace, project, session_id, kind, text, content_hash, tsv, occurred_at)
		VALUES ('default', 'project-' || (i % 20), 'session-' || (i % 2000), 'turn', 'unfolded ' || i, md5('unfolded ' || i), ''::tsvector, now());
		END LOOP; END $$`); err != nil {
		b.Fatal(err)
	}
	timePage("overview-unfolded", "/console/", signedIn)
}
