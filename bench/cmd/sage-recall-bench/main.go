// Command sage-recall-bench measures turn-level evidence recall@5 and @10,
// per question type, of plain BM25 and of Sage's keyword, semantic and
// hybrid search (builtin embedder) on the generated conversational dev set
// of package recallbench, against a real PostgreSQL: it creates a fresh
// database on the server of -database-url (SAGE_BENCH_DATABASE_URL), loads
// the dev set, asks every question and drops the database.
//
//	go run ./bench/cmd/sage-recall-bench
//	go run ./bench/cmd/sage-recall-bench -write bench/recallbench/testdata/devset.json
package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"net/url"
	"os"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/sage-mcp/sage/bench/recallbench"
	sage "github.com/sage-mcp/sage/daemon"
	"github.com/sage-mcp/sage/daemon/embed"
	"github.com/sage-mcp/sage/daemon/postgres"
	"github.com/sage-mcp/sage/daemon/ranking"
)

func main() {
	dbURL := flag.String("database-url", os.Getenv("SAGE_BENCH_DATABASE_URL"), "PostgreSQL server URL (the role needs CREATE DATABASE)")
	seed := flag.Uint64("seed", 1, "dev set seed")
	convs := flag.Int("conversations", 10, "conversations in the dev set")
	sessions := flag.Int("sessions", 10, "sessions per conversation")
	write := flag.String("write", "", "write the dev set as JSON to this file and exit")
	emb, err := embed.NewBuiltin(embed.DefaultDimensions)
	exitIf(err)
	// The builtin embedder's weights (the daemon's with that embedder).
	w := ranking.WeightsFor(postgres.ModelKey(emb))
	flag.Float64Var(&w.Keyword, "w-keyword", w.Keyword, "hybrid: weight of the normalized keyword score")
	flag.Float64Var(&w.Vector, "w-vector", w.Vector, "hybrid: weight of the cosine similarity")
	flag.Float64Var(&w.Neighbour, "w-neighbour", w.Neighbour, "hybrid: share of a memory's score its session neighbours get")
	flag.Float64Var(&w.NeighbourDecay, "w-decay", w.NeighbourDecay, "hybrid: further share per step away")
	flag.Parse()
	ds := recallbench.Generate(*seed, *convs, *sessions)
	if *write != "" {
		b, err := json.MarshalIndent(ds, "", " ")
		if err == nil {
			err = os.WriteFile(*write, append(b, '\n'), 0o644)
		}
		exitIf(err)
		return
	}
	if *dbURL == "" {
		exitIf(fmt.Errorf("set -database-url or SAGE_BENCH_DATABASE_URL"))
	}
	ctx := context.Background()
	exitIf(run(ctx, *dbURL, ds, emb, w))
}

func run(ctx context.Context, server string, ds recallbench.Dataset, emb sage.Embedder, w ranking.Weights) (err error) {
	conn, err := pgx.Connect(ctx, server)
	if err != nil {
		return fmt.Errorf("connect: %w", err)
	}
	defer conn.Close(ctx)
	dbURL, drop, err := createDatabase(ctx, conn, server)
	if err != nil {
		return err
	}
	defer func() {
		if derr := drop(); derr != nil && err == nil {
			err = derr
		}
	}()
	db, err := postgres.Open(ctx, dbURL, postgres.Options{})
	if err != nil {
		return err
	}
	defer db.Close()
	svc := postgres.NewMemoryService(db, emb, nil)
	svc.SetWeights(w)
	start := time.Now()
	st, err := recallbench.Load(ctx, svc, ds)
	if err != nil {
		return err
	}
	if _, err := db.Pool().Exec(ctx, "ANALYZE memories"); err != nil {
		return err
	}
	fmt.Printf("dev set: %d conversations, %d turns, %d questions; loaded in %s; hybrid weights %+v\n\n",
		len(ds.Conversations), countTurns(ds), len(ds.Questions), time.Since(start).Round(time.Millisecond), w)
	names := []string{"BM25", "keyword", "semantic", "hybrid"}
	rep, err := recallbench.Evaluate(ctx, ds, names, map[string]recallbench.Search{
		"BM25":     recallbench.NewBM25(ds).Search,
		"keyword":  st.Search(sage.ModeKeyword),
		"semantic": st.Search(sage.ModeSemantic),
		"hybrid":   st.Search(sage.ModeHybrid),
	})
	if err != nil {
		return err
	}
	rep.WriteMarkdown(os.Stdout)
	return nil
}

// createDatabase creates a throwaway database on the server conn is
// connected to; it returns its URL (server's with the database's name) and
// a drop that removes it.
func createDatabase(ctx context.Context, conn *pgx.Conn, server string) (string, func() error, error) {
	u, err := url.Parse(server)
	if err != nil {
		return "", nil, fmt.Errorf("database url: %w", err)
	}
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	name := "sage_recall_" + hex.EncodeToString(b)
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+name+" TEMPLATE template0"); err != nil {
		return "", nil, fmt.Errorf("create database: %w", err)
	}
	u.Path = "/" + name
	drop := func() error {
		if _, err := conn.Exec(context.WithoutCancel(ctx), "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)"); err != nil {
			return fmt.Errorf("drop database: %w", err)
		}
		return nil
	}
	return u.String(), drop, nil
}

// countTurns counts the turns of every session of ds.
func countTurns(ds recallbench.Dataset) int {
	turns := 0
	for _, c := range ds.Conversations {
		for _, s := range c.Sessions {
			turns += len(s.Turns)
		}
	}
	return turns
}

func exitIf(err error) {
	if err != nil {
		fmt.Fprintln(os.Stderr, "sage-recall-bench:", err)
		os.Exit(1)
	}
}
