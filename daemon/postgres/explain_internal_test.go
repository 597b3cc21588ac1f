package postgres

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/pgvector/pgvector-go"

	sage "github.com/sage-mcp/sage/daemon"
	"github.com/sage-mcp/sage/daemon/embed"
	"github.com/sage-mcp/sage/testkit/pgtest"
)

// mustDB opens a fresh migrated database, closed when t ends.
func mustDB(t *testing.T) *DB {
	t.Helper()
	url := pgtest.NewDatabase(t, pgtest.WithTemplate(MigrationsKey(), Migrate))
	db, err := Open(context.Background(), url, Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(db.Close)
	return db
}

// syntheticText returns a pseudo-random sentence from a fixed vocabulary.
func syntheticText(r *rand.Rand, words int) string {
	vocab := strings.Fields(`alpha bravo charlie delta echo foxtrot golf hotel india juliet kilo lima mike
		november oscar papa quebec romeo sierra tango uniform victor whiskey xray yankee zulu
		database index vector search memory session project daemon bridge token query result
		kitchen garden river mountain forest ocean desert island valley city village market
		violin piano guitar drums painting pottery poetry novel movie theater concert museum
		monday tuesday wednesday thursday friday saturday sunday morning evening night summer winter`)
	out := make([]string, words)
	for i := range out {
		out[i] = vocab[r.IntN(len(vocab))]
	}
	return strings.Join(out, " ")
}

// TestQueryPlans checks that semantic search uses the model's HNSW index
// (no sequential scan) and keyword search the GIN index, on a table big
// enough for the planner to prefer them.
func TestQueryPlans(t *testing.T) {
	ctx := context.Background()
	db := mustDB(t)
	emb, err := embed.NewBuiltin(384)
	if err != nil {
		t.Fatal(err)
	}
	s := NewMemoryService(db, emb, nil)
	r := rand.New(rand.NewPCG(1, 2))
	for b := 0; b < 6; b++ {
		turns := make([]sage.Turn, sage.MaxBatch)
		for i := range turns {
			turns[i] = sage.Turn{SessionID: fmt.Sprint("s", b, "-", i%20), Project: fmt.Sprint("p", i%7),
				UserPrompt: syntheticText(r, 12), AssistantResponse: syntheticText(r, 20),
				OccurredAt: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(b*1000+i) * time.Minute)}
		}
		if _, err := s.SaveTurns(ctx, turns); err != nil {
			t.Fatal(err)
		}
	}
	// A few memories with a rare word, as names and things are in real text.
	for i := 0; i < 5; i++ {
		if _, err := s.Remember(ctx, sage.Note{Content: fmt.Sprint("the xylophone concert number ", i)}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := db.pool.Exec(ctx, "ANALYZE memories"); err != nil {
		t.Fatal(err)
	}
	vec, err := s.embedTexts(ctx, []string{"violin concert in the city"})
	if err != nil {
		t.Fatal(err)
	}
	explain := func(settings, sql string, args ...any) string {
		t.Helper()
		var plan []string
		err := pgx.BeginFunc(ctx, db.pool, func(tx pgx.Tx) error {
			if settings != "" {
				if _, err := tx.Exec(ctx, settings); err != nil {
					return err
				}
			}
			rows, err := tx.Query(ctx, "EXPLAIN "+sql, args...)
			if err != nil {
				return err
			}
			plan, err = pgx.CollectRows(rows, pgx.RowTo[string])
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		return strings.Join(plan, "\n")
	}
	filters := []sage.Filter{{}, {Project: "p3"}, {Since: time.Date(2026, 1, 2, 0, 0, 0, 0, time.UTC)},
		{Kinds: []sage.Kind{sage.KindTurn}}, {Tags: []string{"x"}}, {Project: "p1", Until: time.Date(2026, 1, 3, 0, 0, 0, 0, time.UTC)},
		{Project: "p3", IncludeGlobal: true}}
	for _, f := range filters {
		settings, sql, args := s.semanticSQL(sage.DefaultNamespace, vec[0], filter{Filter: f}, 50)
		plan := explain(settings, sql, args...)
		if strings.Contains(plan, "Seq Scan") {
			t.Errorf("semantic search with filter %+v scans the table:\n%s", f, plan)
		}
		// Without a selective, indexed filter, the HNSW index it is.
		if (f.Project == "" || f.Until.IsZero()) && len(f.Tags) == 0 && !strings.Contains(plan, IndexName(s.model)) {
			t.Errorf("semantic search with filter %+v does not use the HNSW index:\n%s", f, plan)
		}
	}
	// A small project is searched exactly, through its btree index, with the
	// same nearest memories as a full scan finds.
	small := sage.Filter{Project: "p3"}
	st, err := s.stats(ctx, db.pool)
	if err != nil {
		t.Fatal(err)
	}
	if n := st.projectRows(small.Project); n <= 0 || !exactProject(n, st.total, 50) {
		t.Fatalf("project %q: %v rows of %v estimated, want few enough to read exactly", small.Project, n, st.total)
	}
	settings, sql, args := s.exactSemanticSQL(sage.DefaultNamespace, vec[0], filter{Filter: small}, 50)
	if plan := explain(settings, sql, args...); !strings.Contains(plan, "memories_project") || strings.Contains(plan, "Seq Scan") {
		t.Errorf("exact semantic search of a small project does not use the project index:\n%s", plan)
	}
	gs, gsql, gargs := s.exactSemanticSQL(sage.DefaultNamespace, vec[0], filter{Filter: sage.Filter{Project: "p3", IncludeGlobal: true}}, 50)
	if plan := explain(gs, gsql, gargs...); !strings.Contains(plan, "memories_project") || strings.Contains(plan, "Seq Scan") {
		t.Errorf("exact semantic search of a small project and the global memories does not use the project index:\n%s", plan)
	}
	// The daemon's statements are prepared and cached: after a few runs
	// PostgreSQL may plan them once for any arguments (a generic plan). The
	// query vector must then arrive as a halfvec, not as text cast per row
	// (which made reading a project of 4 000 memories cost 67 ms, not 2).
	params := make([]string, len(args))
	for i, a := range args {
		switch a := a.(type) {
		case *pgvector.HalfVector:
			params[i] = quoteLiteral(a.String())
		case string:
			params[i] = quoteLiteral(a)
		default:
			t.Fatalf("argument %d: %T", i+1, a)
		}
	}
	err = pgx.BeginFunc(ctx, db.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, "PREPARE exact_generic AS "+sql); err != nil {
			return err
		}
		defer tx.Exec(ctx, "DEALLOCATE exact_generic") //nolint:errcheck
		if _, err := tx.Exec(ctx, "SET LOCAL plan_cache_mode = force_generic_plan"); err != nil {
			return err
		}
		rows, err := tx.Query(ctx, "EXPLAIN (VERBOSE) EXECUTE exact_generic("+strings.Join(params, ", ")+")")
		if err != nil {
			return err
		}
		lines, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			return err
		}
		if plan := strings.Join(lines, "\n"); !strings.Contains(plan, "<=> $1)") {
			t.Errorf("exact semantic search converts the query vector per row in a generic plan:\n%s", plan)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	ids := func(settings, sql string, args ...any) []int64 {
		t.Helper()
		var out []int64
		err := pgx.BeginFunc(ctx, db.pool, func(tx pgx.Tx) error {
			if _, err := tx.Exec(ctx, settings); err != nil {
				return err
			}
			rows, err := tx.Query(ctx, sql, args...)
			if err != nil {
				return err
			}
			out, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (int64, error) {
				var id int64
				var rest [3]any
				err := r.Scan(&id, &rest[0], &rest[1], &rest[2])
				return id, err
			})
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	exact := ids(settings, sql, args...)
	full := ids("SET LOCAL enable_indexscan = off; SET LOCAL enable_bitmapscan = off", sql, args...)
	if len(exact) != 50 || fmt.Sprint(exact) != fmt.Sprint(full) {
		t.Errorf("exact semantic search of a small project: %v, a full scan finds %v", exact, full)
	}

	// A filtered search still returns limit results when that many match,
	// with iterative index scans (pgvector >= 0.8) and without (0.7: a
	// wider ef_search instead).
	for _, iterative := range []bool{true, false} {
		s.mu.Lock()
		s.iterative = iterative
		s.mu.Unlock()
		for _, f := range filters {
			w := filterWhere(sage.DefaultNamespace, filter{Filter: f})
			var matching int
			if err := db.pool.QueryRow(ctx, "SELECT count(*) FROM memories WHERE "+w.sql(), w.args...).Scan(&matching); err != nil {
				t.Fatal(err)
			}
			for _, mode := range []sage.Mode{sage.ModeSemantic, sage.ModeHybrid} {
				res, err := s.Search(ctx, sage.SearchQuery{Query: "violin concert in the city", Mode: mode, Limit: 40, Filter: f})
				if err != nil {
					t.Fatal(err)
				}
				if want := min(40, matching); len(res) != want {
					t.Errorf("%s search (iterative %v) with filter %+v: %d results, want %d", mode, iterative, f, len(res), want)
				}
			}
		}
	}
	var plan string
	err = pgx.BeginFunc(ctx, db.pool, func(tx pgx.Tx) error {
		sql, args, _, err := s.keywordSQL(ctx, tx, sage.DefaultNamespace, "xylophone concert", filter{}, 50)
		if err != nil {
			return err
		}
		rows, err := tx.Query(ctx, "EXPLAIN "+sql, args...)
		if err != nil {
			return err
		}
		lines, err := pgx.CollectRows(rows, pgx.RowTo[string])
		plan = strings.Join(lines, "\n")
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(plan, "memories_tsv") || strings.Contains(plan, "Seq Scan") {
		t.Errorf("keyword search does not use the GIN index:\n%s", plan)
	}

	// Session neighbours of the best candidates: a few rows through the
	// session index each, never a scan of the session or the table.
	var best []int64
	if err := db.pool.QueryRow(ctx, "SELECT array_agg(id) FROM (SELECT id FROM memories ORDER BY id LIMIT 30) x").Scan(&best); err != nil {
		t.Fatal(err)
	}
	for _, f := range []sage.Filter{{}, {Project: "p3", IncludeGlobal: true}} {
		sql, args := neighboursSQL(sage.DefaultNamespace, filter{Filter: f}, best)
		if plan := explain("", sql, args...); !strings.Contains(plan, "memories_session_neighbours") || strings.Contains(plan, "Seq Scan") {
			t.Errorf("neighbours (filter %+v) do not read the session index:\n%s", f, plan)
		}
	}
}

func TestProjectRows(t *testing.T) {
	st := &termStats{total: 1000, projects: map[string]float64{"big": 0.5, "mid": 0.2}, otherProjects: 0.3, nProjects: 5}
	for _, c := range []struct {
		project string
		want    float64
	}{
		{"big", 500},
		{"mid", 200},
		{"rare", 100}, // 30 % shared by the 3 others
	} {
		if got := st.projectRows(c.project); got != c.want {
			t.Errorf("projectRows(%q) = %v, want %v", c.project, got, c.want)
		}
	}
	// No statistics (never analyzed): every row may be the project's.
	empty := &termStats{total: 300, projects: map[string]float64{}, otherProjects: 1}
	if got := empty.projectRows("any"); got != 300 {
		t.Errorf("projectRows without statistics = %v, want 300", got)
	}
}

func TestExactProject(t *testing.T) {
	for _, c := range []struct {
		n, total float64
		want     bool
	}{
		{0, 0, true},
		{430, 3000, true},       // small: exact whatever its share
		{1000, 1000, true},      // small
		{3000, 100000, true},    // 3 %
		{6000, 100000, true},    // 6 %: the index would visit ≈ 830 memories
		{3000, 10000, false},    // 30 %: the HNSW index finds it fast
		{10000, 100000, false},  // 10 %
		{20000, 1000000, true},  // 2 %: reading 20 000 beats visiting 2 500
		{30000, 1000000, false}, // 3 %: visiting ≈ 1 700 beats reading 30 000
	} {
		if got := exactProject(c.n, c.total, 50); got != c.want {
			t.Errorf("exactProject(%v, %v, 50) = %v, want %v", c.n, c.total, got, c.want)
		}
	}
}
