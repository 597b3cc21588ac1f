package postgres

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"

	sage "github.com/sage-mcp/sage/daemon"
)

// The console must render its overview within 50 ms at 100 000 memories,
// the first time too, and counting them took ≈ 0.8 s. So the counts are
// kept as the rows change (migration 008): statement triggers on memories
// and injections append what each statement changed to count_deltas, in
// its transaction, and FoldCounts moves the deltas into memory_counts (by
// project, kind and model) and day_counts (per UTC day) in the background.
// A reader adds the deltas not yet folded to the folded counts in one
// statement (one snapshot), so its counts are exact whatever was saved,
// forgotten, edited, embedded or pruned meanwhile, and it reads a few
// thousand small rows at most, whatever the number of memories.

// memoryCountsSQL is the namespace ($1)'s memories by project, kind and
// model (empty while pending), folded and not: rows of (project, kind, model,
// n) to be summed.
const memoryCountsSQL = `(SELECT project, kind, model, n FROM memory_counts WHERE namespace = $1
	UNION ALL
	SELECT project, kind, model, memories FROM count_deltas WHERE namespace = $1 AND day IS NULL)`

// countFoldLock is the advisory lock of FoldCounts (and of the TRUNCATE
// trigger of migration 008).
const countFoldLock = `hashtext('sage count fold')`

// Overview counts the namespace's memories by project and kind, the
// memories stored and injections recorded on each of the last days days
// (UTC), the pending vectors and the database's size, from the counts of
// migration 008.
func (s *MemoryService) Overview(ctx context.Context, days int) (sage.Overview, error) {
	if days < 1 || days > sage.MaxOverviewDays {
		return sage.Overview{}, sage.Invalidf("days", "must be between 1 and %d, got %d", sage.MaxOverviewDays, days)
	}
	ns := sage.NamespaceFrom(ctx)
	today := time.Now().UTC().Truncate(24 * time.Hour)
	from := today.AddDate(0, 0, -(days - 1))
	var o sage.Overview
	// GROUPING SETS give the counts by project, by kind and in all; a key
	// whose memories all went since the last fold sums to 0 and is left out.
	rows, err := s.db.pool.Query(ctx, `SELECT grouping(project, kind), project, kind, sum(n),
			coalesce(sum(n) FILTER (WHERE model = ''), 0)
		FROM `+memoryCountsSQL+` c
		GROUP BY GROUPING SETS ((project), (kind), ())
		HAVING sum(n) <> 0`, ns)
	if err != nil {
		return o, fmt.Errorf("overview: %w", unavailable(err))
	}
	for rows.Next() {
		var g int
		var project, kind *string
		var n, pending int64
		if err := rows.Scan(&g, &project, &kind, &n, &pending); err != nil {
			rows.Close()
			return o, fmt.Errorf("overview: %w", err)
		}
		switch g {
		// grouping() sets the bit of each column left out of the set.
		case 0b10: // by kind
			o.ByKind = append(o.ByKind, sage.Count{Name: deref(kind), N: n})
		case 0b01: // by project
			o.ByProject = append(o.ByProject, sage.Count{Name: deref(project), N: n})
		case 0b11:
			o.Memories, o.Pending = n, pending
		}
	}
	if err := rows.Err(); err != nil {
		return o, fmt.Errorf("overview: %w", unavailable(err))
	}
	byCount := func(a, b sage.Count) int {
		if a.N != b.N {
			return int(b.N - a.N)
		}
		if a.Name < b.Name {
			return -1
		}
		return 1
	}
	slices.SortFunc(o.ByProject, byCount)
	slices.SortFunc(o.ByKind, byCount)

	mem, inj := map[time.Time]int64{}, map[time.Time]int64{}
	rows, err = s.db.pool.Query(ctx, `SELECT day, sum(memories), sum(injections) FROM (
			SELECT day, memories, injections FROM day_counts WHERE namespace = $1 AND day >= $2
			UNION ALL
			SELECT day, memories, injections FROM count_deltas WHERE namespace = $1 AND day >= $2) c
		GROUP BY day`, ns, from)
	if err != nil {
		return o, fmt.Errorf("overview: %w", unavailable(err))
	}
	for rows.Next() {
		var day time.Time
		var m, i int64
		if err := rows.Scan(&day, &m, &i); err != nil {
			rows.Close()
			return o, fmt.Errorf("overview: %w", err)
		}
		mem[day.UTC()], inj[day.UTC()] = m, i
	}
	if err := rows.Err(); err != nil {
		return o, fmt.Errorf("overview: %w", unavailable(err))
	}
	o.MemoriesPerDay = daySeries(from, days, mem)
	o.InjectionsPerDay = daySeries(from, days, inj)

	// pg_database_size lists and stats the database's files: well under a
	// millisecond for Sage's few dozen relations.
	if err := s.db.pool.QueryRow(ctx, `SELECT pg_database_size(current_database())`).Scan(&o.DatabaseBytes); err != nil {
		return o, fmt.Errorf("overview: %w", unavailable(err))
	}
	return o, nil
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// daySeries is one DayCount a day from from, days long.
func daySeries(from time.Time, days int, n map[time.Time]int64) []sage.DayCount {
	out := make([]sage.DayCount, days)
	for i := range out {
		d := from.AddDate(0, 0, i)
		out[i] = sage.DayCount{Day: d, N: n[d]}
	}
	return out
}

// FoldCounts moves the count deltas that the triggers of migration 008
// appended (every namespace's) into memory_counts and day_counts, and
// returns how many it folded. One fold runs at a time over the database; a
// call that finds another one running folds nothing. Counts read before,
// during and after a fold are the same.
func (s *MemoryService) FoldCounts(ctx context.Context) (int64, error) {
	var n int64
	err := pgx.BeginFunc(ctx, s.db.pool, func(tx pgx.Tx) error {
		var locked bool
		if err := tx.QueryRow(ctx, `SELECT pg_try_advisory_xact_lock(`+countFoldLock+`)`).Scan(&locked); err != nil || !locked {
			return err
		}
		// The DELETE takes the deltas committed before it; the two inserts
		// add them to the counts (each key once: they are grouped).
		err := tx.QueryRow(ctx, `WITH d AS (DELETE FROM count_deltas RETURNING *),
			k AS (INSERT INTO memory_counts AS c (namespace, project, kind, model, n)
				SELECT namespace, project, kind, model, sum(memories) FROM d WHERE day IS NULL
				GROUP BY 1, 2, 3, 4 HAVING sum(memories) <> 0
				ON CONFLICT (namespace, project, kind, model) DO UPDATE SET n = c.n + excluded.n),
			y AS (INSERT INTO day_counts AS c (namespace, day, memories, injections)
				SELECT namespace, day, sum(memories), sum(injections) FROM d WHERE day IS NOT NULL
				GROUP BY 1, 2 HAVING sum(memories) <> 0 OR sum(injections) <> 0
				ON CONFLICT (namespace, day) DO UPDATE SET memories = c.memories + excluded.memories,
					injections = c.injections + excluded.injections)
			SELECT count(*) FROM d`).Scan(&n)
		if err != nil || n == 0 {
			return err
		}
		// Keys and days left with nothing go.
		if _, err := tx.Exec(ctx, `DELETE FROM memory_counts WHERE n = 0`); err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `DELETE FROM day_counts WHERE memories = 0 AND injections = 0`)
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("fold counts: %w", unavailable(err))
	}
	return n, nil
}

// RunCountFold runs FoldCounts at once and then every interval until ctx
// ends, so a reader of the counts finds at most an interval's deltas;
// failures are retried next time, and logged when they start and end (not
// every few seconds while the database is down).
func (s *MemoryService) RunCountFold(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	failing := false
	for {
		_, err := s.FoldCounts(ctx)
		switch {
		case err != nil && !failing && ctx.Err() == nil:
			s.logger.Warn("fold counts failed, will retry", "err", err, "interval", interval)
			failing = true
		case err == nil && failing:
			s.logger.Info("fold counts works again")
			failing = false
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
