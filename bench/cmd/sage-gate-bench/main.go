// Command sage-gate-bench measures the injection gate on the labelled set
// (daemon/gate/labelled): how often unrelated prompts inject nothing and
// related prompts inject the right memory, with the builtin embedder and
// its calibrated thresholds, on a store of the labelled memories plus
// -filler others. It creates a throwaway database on the PostgreSQL of
// -db and drops it at the end (unless -keep).
//
//	go run ./bench/cmd/sage-gate-bench -db postgres://…/postgres
//	go run ./bench/cmd/sage-gate-bench -filler 100000   # the same at 100 000 memories
//	go run ./bench/cmd/sage-gate-bench -calibrate       # search the thresholds
package main

import (
	"cmp"
	"context"
	"flag"
	"fmt"
	"io"
	neturl "net/url"
	"os"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"

	sage "github.com/sage-mcp/sage/daemon"
	"github.com/sage-mcp/sage/daemon/embed"
	"github.com/sage-mcp/sage/daemon/gate"
	"github.com/sage-mcp/sage/daemon/gate/labelled"
	"github.com/sage-mcp/sage/daemon/postgres"
)

func main() {
	if err := run(context.Background(), os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "sage-gate-bench:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, w io.Writer) error {
	fs := flag.NewFlagSet("sage-gate-bench", flag.ContinueOnError)
	dbURL := fs.String("db", cmp.Or(os.Getenv("SAGE_BENCH_DATABASE_URL"), os.Getenv("SAGE_TEST_DATABASE_URL")),
		"PostgreSQL URL (with pgvector) where a throwaway database is created (default $SAGE_BENCH_DATABASE_URL, else $SAGE_TEST_DATABASE_URL)")
	filler := fs.Int("filler", 0, "memories added to the labelled store (others, no prompt is about them)")
	calibrate := fs.Bool("calibrate", false, "search the thresholds that meet -min-clean with the most right injections")
	minClean := fs.Float64("min-clean", 0.97, "with -calibrate: least share of unrelated prompts that must inject nothing")
	keep := fs.Bool("keep", false, "keep the database")
	verbose := fs.Bool("v", false, "list the prompts that fail")
	dump := fs.Bool("dump", false, "print every prompt's results with their hits")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *dbURL == "" {
		return fmt.Errorf("no database: give -db, SAGE_BENCH_DATABASE_URL or SAGE_TEST_DATABASE_URL")
	}
	url, drop, err := createDatabase(ctx, *dbURL)
	if err != nil {
		return err
	}
	if !*keep {
		defer drop()
	} else {
		fmt.Fprintln(w, "database kept:", url)
	}
	db, svc, emb, err := openService(ctx, url, w)
	if err != nil {
		return err
	}
	defer db.Close()
	started := time.Now()
	ids, stored, err := seedStore(ctx, svc, db, *filler)
	if err != nil {
		return err
	}
	prompts := labelled.Prompts()
	asked, err := labelled.Collect(ctx, svc, prompts)
	if err != nil {
		return err
	}
	if *dump {
		dumpHits(w, asked, ids)
	}
	th, calibrated := gate.For(postgres.ModelKey(emb))
	f := labelled.Evaluate(asked, ids, th)
	fmt.Fprintf(w, "store: %d memories (%d labelled + %d filler), model %s, seeded in %s\n",
		stored, len(ids), *filler, postgres.ModelKey(emb), time.Since(started).Round(time.Second))
	fmt.Fprintf(w, "prompts: %d (%d related, %d unrelated)\n", len(prompts), f.Related, f.Unrelated)
	fmt.Fprintf(w, "thresholds (calibrated: %v): %+v\n", calibrated, th)
	report(w, "gate", f, *verbose)
	fmt.Fprintf(w, "targets: unrelated inject nothing ≥ 95%%: %v; related inject the right memory ≥ 90%%: %v\n",
		f.CleanRate() >= 0.95, f.RelatedRate() >= 0.90)
	ko := labelled.Evaluate(asked, ids, gate.KeywordOnly)
	report(w, "keyword-only fallback", ko, false)
	if *calibrate {
		reportCalibrated(w, asked, ids, *minClean, *verbose)
	}
	return nil
}

// openService opens the store at url with the embedder the environment
// names and starts its memory service.
func openService(ctx context.Context, url string, w io.Writer) (*postgres.DB, *postgres.MemoryService, sage.Embedder, error) {
	// Seeding a large store on a busy machine may be slow: no query bound.
	db, err := postgres.Open(ctx, url, postgres.Options{QueryTimeout: -1})
	if err != nil {
		return nil, nil, nil, err
	}
	emb, err := embedderFromEnv(os.Getenv)
	if err == nil {
		fmt.Fprintf(w, "embedder: %s (%s)\n", emb.Name(), emb.Model())
		svc := postgres.NewMemoryService(db, emb, nil)
		if err = svc.Start(ctx); err == nil {
			return db, svc, emb, nil
		}
	}
	db.Close()
	return nil, nil, nil, err
}

// seedStore saves the labelled store and filler more memories, then
// analyses the table; it returns the labelled memories' ids and the number
// of memories stored.
func seedStore(ctx context.Context, svc *postgres.MemoryService, db *postgres.DB, filler int) (map[string]int64, int64, error) {
	ids, err := labelled.Save(ctx, svc, labelled.Store())
	if err != nil {
		return nil, 0, err
	}
	if filler > 0 {
		if err := addFiller(ctx, svc, filler); err != nil {
			return nil, 0, err
		}
	}
	if _, err := db.Pool().Exec(ctx, "ANALYZE memories"); err != nil {
		return nil, 0, err
	}
	st, err := svc.Status(ctx)
	if err != nil {
		return nil, 0, err
	}
	return ids, st.Memories, nil
}

// reportCalibrated searches the thresholds that keep minClean of the unrelated
// prompts clean, on all prompts, held out (even/odd) and keyword-only.
func reportCalibrated(w io.Writer, asked []labelled.Asked, ids map[string]int64, minClean float64, verbose bool) {
	best, bf := labelled.Calibrate(asked, ids, minClean, false)
	fmt.Fprintf(w, "calibrated (min clean %.2f): %+v\n", minClean, best)
	report(w, "calibrated", bf, verbose)
	// Held out: calibrated on every other prompt, measured on the rest.
	var even, odd []labelled.Asked
	for i, a := range asked {
		if i%2 == 0 {
			even = append(even, a)
		} else {
			odd = append(odd, a)
		}
	}
	hth, _ := labelled.Calibrate(even, ids, minClean, false)
	fmt.Fprintf(w, "calibrated on the even prompts: %+v\n", hth)
	report(w, "  measured on the odd prompts", labelled.Evaluate(odd, ids, hth), false)
	kbest, kf := labelled.Calibrate(asked, ids, minClean, true)
	fmt.Fprintf(w, "calibrated keyword-only: %+v\n", kbest)
	report(w, "calibrated keyword-only", kf, false)
}

func report(w io.Writer, name string, f labelled.Figures, verbose bool) {
	fmt.Fprintf(w, "%s: unrelated clean %d/%d = %.1f%%, related right %d/%d = %.1f%% (%d with another memory too)\n",
		name, f.UnrelatedClean, f.Unrelated, 100*f.CleanRate(), f.RelatedRight, f.Related, 100*f.RelatedRate(), f.RelatedExtra)
	if verbose {
		for _, m := range f.Misses {
			fmt.Fprintln(w, "  missed:", m)
		}
		for _, l := range f.Leaks {
			fmt.Fprintln(w, "  leaked:", l)
		}
	}
}

// addFiller stores n filler memories through Import, in batches.
func addFiller(ctx context.Context, svc sage.Service, n int) error {
	ms := labelled.Filler(n)
	const batch = sage.MaxBatch
	for i := 0; i < len(ms); i += batch {
		var b []sage.Memory
		for _, m := range ms[i:min(i+batch, len(ms))] {
			b = append(b, sage.Memory{Project: m.Project, SessionID: m.SessionID, Kind: m.Kind, IdempotencyKey: m.Key,
				Text: postgres.TurnText(sage.Turn{UserPrompt: m.Prompt, AssistantResponse: m.Response}), Metadata: m.Metadata, OccurredAt: m.OccurredAt})
		}
		if _, err := svc.Import(ctx, b); err != nil {
			return fmt.Errorf("filler: %w", err)
		}
		if (i/batch)%20 == 19 {
			fmt.Fprintf(os.Stderr, "filler: %d/%d\n", i+batch, n)
		}
	}
	return nil
}

// createDatabase creates a fresh database on the server of url and returns
// its URL and a function that drops it.
func createDatabase(ctx context.Context, url string) (string, func(), error) {
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		return "", nil, fmt.Errorf("connect: %w", err)
	}
	defer conn.Close(ctx)
	name := fmt.Sprintf("sage_gate_bench_%d", time.Now().UnixNano())
	u, err := withDatabase(url, name)
	if err != nil {
		return "", nil, err
	}
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		return "", nil, fmt.Errorf("create database: %w", err)
	}
	drop := func() {
		c, err := pgx.Connect(context.Background(), url)
		if err != nil {
			return
		}
		defer c.Close(context.Background())
		_, _ = c.Exec(context.Background(), "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)")
	}
	return u, drop, nil
}

// withDatabase returns the postgres:// URL u with the database name db.
func withDatabase(u, db string) (string, error) {
	p, err := neturl.Parse(u)
	if err != nil {
		return "", fmt.Errorf("database url: %w", err)
	}
	p.Path = "/" + db
	return p.String(), nil
}

// dumpHits prints each prompt's results: the wanted memory marked *, each
// with its keyword and vector hits.
func dumpHits(w io.Writer, asked []labelled.Asked, ids map[string]int64) {
	keys := map[int64]string{}
	for k, id := range ids {
		keys[id] = k
	}
	for _, a := range asked {
		want := a.Want
		if want == "" {
			want = "none"
		}
		fmt.Fprintf(w, "%s [%s]\n", a.Text, want)
		for _, r := range a.Results {
			mark := " "
			if a.Want != "" && r.ID == ids[a.Want] {
				mark = "*"
			}
			fmt.Fprintf(w, "  %s k%d=%.3f v%d=%.3f %s\n", mark, r.Keyword.Rank, r.Keyword.Score, r.Vector.Rank, r.Vector.Score, keys[r.ID])
		}
	}
}

// embedderFromEnv is the builtin embedder, or the one SAGE_EMBED_PROVIDER,
// SAGE_EMBED_URL, SAGE_EMBED_MODEL, SAGE_EMBED_API_KEY and
// SAGE_EMBED_DIMENSIONS name (as for sage-daemon), so that another model's
// thresholds can be calibrated with -calibrate.
func embedderFromEnv(getenv func(string) string) (sage.Embedder, error) {
	c := embed.Config{Provider: getenv("SAGE_EMBED_PROVIDER"), URL: getenv("SAGE_EMBED_URL"),
		Model: getenv("SAGE_EMBED_MODEL"), APIKey: getenv("SAGE_EMBED_API_KEY")}
	if v := getenv("SAGE_EMBED_DIMENSIONS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n <= 0 {
			return nil, fmt.Errorf("SAGE_EMBED_DIMENSIONS=%q: want a positive whole number", v)
		}
		c.Dimensions = n
	}
	emb, err := embed.New(c, nil)
	if err != nil {
		return nil, fmt.Errorf("embedder: %w", err)
	}
	return emb, nil
}
