package postgres_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	sage "github.com/sage-mcp/sage/daemon"
	"github.com/sage-mcp/sage/daemon/postgres"
)

// TestAnalyzeAfterBulkInsert: a bulk load into a small table makes the
// service refresh the planner's statistics itself, without waiting for
// autovacuum, and a handful of saves does not.
func TestAnalyzeAfterBulkInsert(t *testing.T) {
	svc, db := MustService(t)
	ctx := context.Background()
	lastAnalyze := func() *time.Time {
		t.Helper()
		var at *time.Time
		err := db.Pool().QueryRow(ctx, "SELECT last_analyze FROM pg_stat_user_tables WHERE relname = 'memories'").Scan(&at)
		if err != nil && err != pgx.ErrNoRows {
			t.Fatalf("read last_analyze: %v", err)
		}
		return at
	}
	save := func(from, n int) {
		t.Helper()
		for i := from; i < from+n; i += sage.MaxBatch {
			var batch []sage.Turn
			for j := i; j < from+n && j < i+sage.MaxBatch; j++ {
				batch = append(batch, sage.Turn{SessionID: fmt.Sprintf("s%d", j/50), Project: "bulk",
					UserPrompt: fmt.Sprintf("question %d about topic %d", j, j%37), AssistantResponse: fmt.Sprintf("answer %d", j)})
			}
			if _, err := svc.SaveTurns(ctx, batch); err != nil {
				t.Fatalf("save turns: %v", err)
			}
		}
	}
	save(0, 20)
	// The service decides within the save whether to start an ANALYZE.
	if n := postgres.AnalyzesStarted(svc); n != 0 {
		t.Fatalf("%d ANALYZE started after 20 rows; want it only after a bulk load", n)
	}
	if at := lastAnalyze(); at != nil {
		t.Fatalf("ANALYZE ran after 20 rows (at %v); want it only after a bulk load", at)
	}
	save(20, 1200)
	if n := postgres.AnalyzesStarted(svc); n != 1 {
		t.Fatalf("%d ANALYZE started after 1220 rows; want 1", n)
	}
	deadline := time.Now().Add(30 * time.Second)
	for lastAnalyze() == nil {
		if time.Now().After(deadline) {
			t.Fatal("no ANALYZE of memories within 30 s of inserting 1220 rows")
		}
		time.Sleep(100 * time.Millisecond)
	}
	var reltuples float64
	if err := db.Pool().QueryRow(ctx, "SELECT reltuples FROM pg_class WHERE relname = 'memories'").Scan(&reltuples); err != nil {
		t.Fatal(err)
	}
	if reltuples < 1000 {
		t.Fatalf("reltuples = %v after ANALYZE; want about 1220", reltuples)
	}
}
