package postgres_test

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/tern/v2/migrate"

	sage "github.com/sage-mcp/sage/daemon"
	"github.com/sage-mcp/sage/daemon/postgres"
	"github.com/sage-mcp/sage/migrations"
)

// countDays is the span of the overviews the tests compare.
const countDays = 10

// truthSQL counts namespace $1's memories and injections from the rows
// themselves, the way the overview did before migration 008: by project,
// by kind, in all, pending, per day since $2, and stale (pending or of
// another model than $3, as Status counts them).
const truthSQL = `SELECT 'project', project, count(*) FROM memories WHERE namespace = $1 GROUP BY project
	UNION ALL SELECT 'kind', kind, count(*) FROM memories WHERE namespace = $1 GROUP BY kind
	UNION ALL SELECT 'all', '', count(*) FROM memories WHERE namespace = $1
	UNION ALL SELECT 'pending', '', count(*) FROM memories WHERE namespace = $1 AND embedding IS NULL
	UNION ALL SELECT 'stale', '', count(*) FROM memories WHERE namespace = $1 AND embedding_model IS DISTINCT FROM $3
	UNION ALL SELECT 'memories', ((created_at AT TIME ZONE 'UTC')::date)::text, count(*) FROM memories
		WHERE namespace = $1 AND created_at >= $2 GROUP BY 2
	UNION ALL SELECT 'injections', ((at AT TIME ZONE 'UTC')::date)::text, count(*) FROM injections
		WHERE namespace = $1 AND at >= $2 GROUP BY 2`

// countsOf reduces an overview to what truthSQL gives, and adds it up to
// "all" and "pending".
func countsOf(o sage.Overview) map[string]int64 {
	m := map[string]int64{"all": o.Memories, "pending": o.Pending}
	for _, c := range o.ByProject {
		m["project/"+c.Name] = c.N
	}
	for _, c := range o.ByKind {
		m["kind/"+c.Name] = c.N
	}
	for _, d := range o.MemoriesPerDay {
		if d.N != 0 {
			m["memories/"+d.Day.Format(time.DateOnly)] = d.N
		}
	}
	for _, d := range o.InjectionsPerDay {
		if d.N != 0 {
			m["injections/"+d.Day.Format(time.DateOnly)] = d.N
		}
	}
	return m
}

// MustTruth counts ns's rows directly (stale: not of model).
func MustTruth(t testing.TB, pool *pgxpool.Pool, ns, model string) map[string]int64 {
	t.Helper()
	from := time.Now().UTC().Truncate(24*time.Hour).AddDate(0, 0, -(countDays - 1))
	rows, err := pool.Query(context.Background(), truthSQL, ns, from, model)
	if err != nil {
		t.Fatal(err)
	}
	m := map[string]int64{}
	for rows.Next() {
		var what, name string
		var n int64
		if err := rows.Scan(&what, &name, &n); err != nil {
			t.Fatal(err)
		}
		if name == "" && (what == "all" || what == "pending" || what == "stale") {
			m[what] = n
		} else {
			m[what+"/"+name] = n
		}
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return m
}

// MustCountsMatch fails unless ns's Overview and Status count what the rows
// hold.
func MustCountsMatch(t testing.TB, svc *postgres.MemoryService, pool *pgxpool.Pool, ns, when string) {
	t.Helper()
	ctx := sage.WithNamespace(context.Background(), ns)
	o, err := svc.Overview(ctx, countDays)
	if err != nil {
		t.Fatal(err)
	}
	st, err := svc.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := MustTruth(t, pool, ns, st.EmbeddingModel)
	stale := want["stale"]
	delete(want, "stale")
	if got := countsOf(o); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("%s, namespace %s: overview counts\n%v\nwant\n%v", when, ns, got, want)
	}
	if st.Memories != want["all"] || st.PendingEmbeddings != stale {
		t.Errorf("%s, namespace %s: status counts %d memories, %d pending; want %d, %d", when, ns,
			st.Memories, st.PendingEmbeddings, want["all"], stale)
	}
	if !slices.IsSortedFunc(o.ByProject, func(a, b sage.Count) int { return int(b.N - a.N) }) {
		t.Errorf("%s: by project not most first: %v", when, o.ByProject)
	}
}

// driftSQL counts, in one snapshot, the keys and days whose counts (folded
// plus deltas) differ from the rows.
const driftSQL = `SELECT
	(SELECT count(*) FROM
		(SELECT namespace, project, kind, coalesce(embedding_model, '') AS model, count(*) AS n FROM memories GROUP BY 1, 2, 3, 4) r
		FULL JOIN (SELECT namespace, project, kind, model, sum(n) AS n FROM
			(SELECT namespace, project, kind, model, n FROM memory_counts
			 UNION ALL SELECT namespace, project, kind, model, memories FROM count_deltas WHERE day IS NULL) x
			GROUP BY 1, 2, 3, 4 HAVING sum(n) <> 0) c USING (namespace, project, kind, model)
		WHERE r.n IS DISTINCT FROM c.n),
	(SELECT count(*) FROM
		(SELECT namespace, day, sum(m) AS m, sum(i) AS i FROM
			(SELECT namespace, (created_at AT TIME ZONE 'UTC')::date AS day, 1 AS m, 0 AS i FROM memories
			 UNION ALL SELECT namespace, (at AT TIME ZONE 'UTC')::date, 0, 1 FROM injections) y GROUP BY 1, 2) r
		FULL JOIN (SELECT namespace, day, sum(memories) AS m, sum(injections) AS i FROM
			(SELECT namespace, day, memories, injections FROM day_counts
			 UNION ALL SELECT namespace, day, memories, injections FROM count_deltas WHERE day IS NOT NULL) x
			GROUP BY 1, 2 HAVING sum(memories) <> 0 OR sum(injections) <> 0) c USING (namespace, day)
		WHERE r.m IS DISTINCT FROM c.m OR r.i IS DISTINCT FROM c.i)`

// drift returns how many keys and days are miscounted in one snapshot.
func drift(ctx context.Context, pool *pgxpool.Pool) (int64, error) {
	var keys, days int64
	err := pgx.BeginTxFunc(ctx, pool, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly}, func(tx pgx.Tx) error {
		return tx.QueryRow(ctx, driftSQL).Scan(&keys, &days)
	})
	return keys + days, err
}

// TestCountsExactUnderConcurrentWrites runs saves, batches, forgets of
// memories and sessions, kind and project changes, vectors dropped and
// backfilled, a namespace deleted, injections recorded and pruned, and
// folds, all at once, checks that the counts match the rows in every
// snapshot a checker takes meanwhile, then that Overview and Status match
// them, before a fold and after, and after TRUNCATE.
func TestCountsExactUnderConcurrentWrites(t *testing.T) {
	svc, db := MustService(t)
	pool := db.Pool()
	bg := context.Background()
	nss := []string{"a", "b", "doomed"}
	const rounds = 30
	ids := make(chan int64, 4*rounds)
	var writers, others sync.WaitGroup
	done := make(chan struct{})
	fail := func(what string, err error) {
		// Refusals that concurrency makes legitimate: the memory went, or
		// a kind change met a twin.
		if err != nil && !errors.Is(err, sage.ErrNotFound) && !errors.Is(err, sage.ErrInvalid) {
			t.Errorf("%s: %v", what, err)
		}
	}
	exec := func(what, sql string, args ...any) {
		_, err := pool.Exec(bg, sql, args...)
		fail(what, err)
	}
	writers.Go(func() { // single saves and batches
		defer close(ids)
		for i := range rounds {
			ctx := sage.WithNamespace(bg, nss[i%len(nss)])
			r, err := svc.Remember(ctx, sage.Note{Content: fmt.Sprintf("note %d about the counts", i),
				Project: fmt.Sprintf("p%d", i%3), Kind: sage.Kinds[1+i%(len(sage.Kinds)-1)], SessionID: fmt.Sprintf("s%d", i%4)})
			fail("remember", err)
			if err == nil {
				ids <- r.ID
			}
			res, err := svc.SaveTurns(ctx, []sage.Turn{
				{SessionID: fmt.Sprintf("s%d", i%4), Project: "p1", UserPrompt: fmt.Sprintf("question %d", i), AssistantResponse: "answer"},
				{SessionID: "s9", Project: "", UserPrompt: fmt.Sprintf("other question %d", i), AssistantResponse: "answer"},
			})
			fail("save turns", err)
			for _, x := range res {
				ids <- x.ID
			}
		}
	})
	writers.Go(func() { // forgets, edits, vectors dropped, project moves
		n := 0
		for id := range ids {
			n++
			for _, ns := range nss { // the id's namespace is not known here
				ctx := sage.WithNamespace(bg, ns)
				switch n % 5 {
				case 0:
					_, err := svc.Forget(ctx, sage.ForgetRequest{IDs: []int64{id}})
					fail("forget", err)
				case 1:
					_, err := svc.UpdateMemory(ctx, id, sage.Kinds[n%len(sage.Kinds)], []string{"edited"})
					fail("update", err)
				}
			}
			switch n % 5 {
			case 2:
				exec("drop vector", `UPDATE memories SET embedding = NULL, embedding_model = NULL WHERE id = $1`, id)
			case 3:
				exec("move project", `UPDATE memories SET project = 'moved' WHERE id = $1`, id)
			case 4:
				_, err := svc.Forget(sage.WithNamespace(bg, "b"), sage.ForgetRequest{SessionID: "s9"})
				fail("forget session", err)
			}
		}
	})
	writers.Go(func() { // memories of earlier days, injections, pruning, backfill
		for i := range rounds {
			exec("old memories", `INSERT INTO memories (namespace, project, kind, text, content_hash, occurred_at, created_at)
				SELECT $1, 'old', 'fact', 'old ' || $2::int || ' ' || d, md5('old ' || $2::int || ' ' || d), now(), now() - d * interval '1 day'
				FROM generate_series(0, 12) d`, nss[i%2], i)
			exec("injections", `INSERT INTO injections (namespace, at, source, prompt_hash, prompt_head, memories, chars)
				SELECT $1, now() - (d % 12) * interval '1 day', 'hook', 'h', 'p', '[]', 1 FROM generate_series(1, 3) d`, nss[i%2])
			if i%4 == 3 {
				_, err := svc.PruneInjections(bg, postgres.AuditRetention{MaxAge: 8 * 24 * time.Hour, MaxRows: 20})
				fail("prune", err)
				_, err = svc.Backfill(bg)
				fail("backfill", err)
			}
			if i == rounds/2 {
				exec("delete namespace", `DELETE FROM memories WHERE namespace = 'doomed'`)
			}
		}
	})
	others.Go(func() { // folds
		for {
			_, err := svc.FoldCounts(bg)
			fail("fold", err)
			select {
			case <-done:
				return
			default:
			}
		}
	})
	checks := 0
	others.Go(func() { // snapshots
		for {
			n, err := drift(bg, pool)
			checks++
			if err != nil || n != 0 {
				t.Errorf("snapshot %d: %d keys or days miscounted (%v)", checks, n, err)
			}
			select {
			case <-done:
				return
			default:
			}
		}
	})
	writers.Wait()
	close(done)
	others.Wait()
	t.Logf("%d snapshots checked", checks)

	for _, ns := range nss {
		MustCountsMatch(t, svc, pool, ns, "before the last fold")
	}
	if _, err := svc.FoldCounts(bg); err != nil {
		t.Fatal(err)
	}
	var deltas, zeros int64
	if err := pool.QueryRow(bg, `SELECT (SELECT count(*) FROM count_deltas),
		(SELECT count(*) FROM memory_counts WHERE n = 0) + (SELECT count(*) FROM day_counts WHERE memories = 0 AND injections = 0)`).
		Scan(&deltas, &zeros); err != nil || deltas != 0 || zeros != 0 {
		t.Errorf("after a fold: %d deltas, %d empty counts left (%v)", deltas, zeros, err)
	}
	for _, ns := range nss {
		MustCountsMatch(t, svc, pool, ns, "after the last fold")
	}
	// TRUNCATE empties the counts, folded or not.
	if _, err := svc.Remember(sage.WithNamespace(bg, "a"), sage.Note{Content: "not folded yet"}); err != nil {
		t.Fatal(err)
	}
	exec("truncate", `TRUNCATE injections, memories`)
	for _, ns := range nss {
		MustCountsMatch(t, svc, pool, ns, "after TRUNCATE")
	}
}

// TestCountsBackfilledByMigration stores memories and injections under
// migration 007, migrates to 008 and checks its counts.
func TestCountsBackfilledByMigration(t *testing.T) {
	url := MustDatabase(t)
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	m, err := migrate.NewMigrator(ctx, conn, postgres.VersionTable)
	if err != nil {
		t.Fatal(err)
	}
	if err := m.LoadMigrations(migrations.FS); err != nil {
		t.Fatal(err)
	}
	if err := m.MigrateTo(ctx, 7); err != nil {
		t.Fatalf("down to 007: %v", err)
	}
	for _, q := range []string{
		`INSERT INTO memories (namespace, project, kind, text, content_hash, occurred_at, created_at, embedding, embedding_model)
		SELECT 'ns', 'p' || (i % 3), (ARRAY['turn','note','fact'])[1 + i % 3], 't' || i, md5(i::text), now(), now() - (i % 12) * interval '1 day',
			CASE WHEN i % 4 = 0 THEN '[1,2]'::halfvec END, CASE WHEN i % 4 = 0 THEN 'm' END
		FROM generate_series(1, 50) i`,
		`INSERT INTO memories (namespace, kind, text, content_hash, occurred_at) VALUES ('other', 'note', 'x', 'x', now())`,
		`INSERT INTO injections (namespace, at, source, prompt_hash, prompt_head, memories, chars)
		SELECT 'ns', now() - (k % 12) * interval '1 day', 'hook', 'h', 'p', '[]', 1 FROM generate_series(1, 30) k`,
	} {
		if _, err := conn.Exec(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	if err := m.Migrate(ctx); err != nil {
		t.Fatalf("up again: %v", err)
	}
	db := MustOpen(t, url)
	svc := postgres.NewMemoryService(db, MustBuiltin(t, 384), nil)
	for _, ns := range []string{"ns", "other", "none"} {
		MustCountsMatch(t, svc, db.Pool(), ns, "after migration 008")
	}
}

// TestOverviewReadsNoMemory checks that the overview and status count
// without reading the memories table (so their time does not grow with
// it): they answer while another transaction holds it locked.
func TestOverviewReadsNoMemory(t *testing.T) {
	svc, db := MustService(t)
	ctx := sage.WithNamespace(context.Background(), "ns")
	if _, err := svc.Remember(ctx, sage.Note{Content: "counted, not read", Project: "p"}); err != nil {
		t.Fatal(err)
	}
	tx, err := db.Pool().Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(context.Background())
	if _, err := tx.Exec(ctx, `LOCK TABLE memories IN ACCESS EXCLUSIVE MODE`); err != nil {
		t.Fatal(err)
	}
	// A reader of memories would wait for the lock until this deadline.
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	o, err := svc.Overview(ctx, countDays)
	if err != nil || o.Memories != 1 || len(o.ByProject) != 1 || o.ByProject[0] != (sage.Count{Name: "p", N: 1}) {
		t.Fatalf("overview with memories locked: %+v %v", o, err)
	}
	if st, err := svc.Status(ctx); err != nil || st.Memories != 1 {
		t.Fatalf("status with memories locked: %+v %v", st, err)
	}
}

// TestRunCountFold checks that the fold loop folds what is saved while it
// runs, and returns when its context ends.
func TestRunCountFold(t *testing.T) {
	svc, db := MustService(t)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		svc.RunCountFold(ctx, 10*time.Millisecond)
	}()
	if _, err := svc.Remember(sage.WithNamespace(ctx, "ns"), sage.Note{Content: "folded soon", Project: "p"}); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		var deltas, folded int64
		err := db.Pool().QueryRow(ctx, `SELECT (SELECT count(*) FROM count_deltas),
			(SELECT coalesce(sum(n), 0) FROM memory_counts WHERE namespace = 'ns' AND project = 'p')`).Scan(&deltas, &folded)
		if err != nil {
			t.Fatal(err)
		}
		if deltas == 0 && folded == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("not folded: %d deltas, %d folded", deltas, folded)
		}
		runtime.Gosched()
	}
	cancel()
	<-done
}
