package postgres

import (
	"context"
	"fmt"
	"slices"
	"time"

	sage "github.com/sage-mcp/sage/daemon"
)

// Overview counts the namespace's memories by project and kind, the
// memories stored and injections recorded on each of the last days days
// (UTC), the pending vectors and the database's size. The memory counts
// come in one pass over the index memories_overview (migration 006),
// read from the index alone once the table is vacuumed.
func (s *MemoryService) Overview(ctx context.Context, days int) (sage.Overview, error) {
	if days < 1 || days > sage.MaxOverviewDays {
		return sage.Overview{}, sage.Invalidf("days", "must be between 1 and %d, got %d", sage.MaxOverviewDays, days)
	}
	ns := sage.NamespaceFrom(ctx)
	today := time.Now().UTC().Truncate(24 * time.Hour)
	from := today.AddDate(0, 0, -(days - 1))
	var o sage.Overview
	// One scan: GROUPING SETS give the counts by project, by kind and by
	// day (the day is NULL before the chart's range).
	rows, err := s.db.pool.Query(ctx, `SELECT grouping(project, kind, day), project, kind, day, count(*)
		FROM (SELECT project, kind,
				CASE WHEN created_at >= $2 THEN date_trunc('day', created_at AT TIME ZONE 'UTC') END AS day
			FROM memories WHERE namespace = $1) m
		GROUP BY GROUPING SETS ((project), (kind), (day), ())`, ns, from)
	if err != nil {
		return o, fmt.Errorf("overview: %w", unavailable(err))
	}
	perDay := map[time.Time]int64{}
	for rows.Next() {
		var g int
		var project, kind *string
		var day *time.Time
		var n int64
		if err := rows.Scan(&g, &project, &kind, &day, &n); err != nil {
			rows.Close()
			return o, fmt.Errorf("overview: %w", err)
		}
		switch g {
		// grouping() sets the bit of each column left out of the set.
		case 0b110: // by day
			if day != nil {
				perDay[day.UTC()] = n
			}
		case 0b101: // by kind
			o.ByKind = append(o.ByKind, sage.Count{Name: deref(kind), N: n})
		case 0b011: // by project
			o.ByProject = append(o.ByProject, sage.Count{Name: deref(project), N: n})
		case 0b111:
			o.Memories = n
		}
	}
	if err := rows.Err(); err != nil {
		return o, fmt.Errorf("overview: %w", unavailable(err))
	}
	o.MemoriesPerDay = daySeries(from, days, perDay)
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

	inj := map[time.Time]int64{}
	rows, err = s.db.pool.Query(ctx, `SELECT date_trunc('day', at AT TIME ZONE 'UTC'), count(*) FROM injections
		WHERE namespace = $1 AND at >= $2 GROUP BY 1`, ns, from)
	if err != nil {
		return o, fmt.Errorf("overview: %w", unavailable(err))
	}
	for rows.Next() {
		var day time.Time
		var n int64
		if err := rows.Scan(&day, &n); err != nil {
			rows.Close()
			return o, fmt.Errorf("overview: %w", err)
		}
		inj[day.UTC()] = n
	}
	if err := rows.Err(); err != nil {
		return o, fmt.Errorf("overview: %w", unavailable(err))
	}
	o.InjectionsPerDay = daySeries(from, days, inj)

	err = s.db.pool.QueryRow(ctx, `SELECT
			(SELECT count(*) FROM memories WHERE namespace = $1 AND embedding IS NULL),
			pg_database_size(current_database())`, ns).Scan(&o.Pending, &o.DatabaseBytes)
	if err != nil {
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
