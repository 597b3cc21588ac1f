package postgres

import (
	"context"
	"time"

	sage "github.com/sage-mcp/sage/daemon"
)

// The planner's statistics of the memories table steer retrieval (the
// keyword scorer's term frequencies, the small-project rule). After a bulk
// load into a small table they describe the table before the load until
// autovacuum's next ANALYZE, a minute or more later, and searches meanwhile
// cost many times more. So the service runs ANALYZE itself, in the
// background, once the rows it inserted reach analyzeMinRows and
// analyzeGrowth of the table's size at its last ANALYZE.
const (
	analyzeMinRows = 1000
	analyzeGrowth  = 0.5
	analyzeTimeout = 5 * time.Minute
)

// noteInserted counts the rows that res stored anew and starts a background
// ANALYZE when they are due.
func (s *MemoryService) noteInserted(res []sage.SaveResult) {
	n := 0
	for _, r := range res {
		if !r.Deduplicated {
			n++
		}
	}
	if n == 0 {
		return
	}
	s.analyzeMu.Lock()
	s.inserted += n
	due := !s.analyzing && s.inserted >= analyzeMinRows && float64(s.inserted) >= analyzeGrowth*s.analyzedRows
	if due {
		s.analyzing, s.inserted = true, 0
	}
	s.analyzeMu.Unlock()
	if due {
		go s.analyze()
	}
}

// analyze runs ANALYZE on the memories table and forgets the cached term
// statistics, so the next search reads the new ones.
func (s *MemoryService) analyze() {
	ctx, cancel := context.WithTimeout(context.Background(), analyzeTimeout)
	defer cancel()
	var rows float64
	_, err := s.db.pool.Exec(ctx, "ANALYZE memories")
	if err == nil {
		err = s.db.pool.QueryRow(ctx, "SELECT greatest(reltuples, 0) FROM pg_class WHERE oid = 'memories'::regclass").Scan(&rows)
	}
	s.analyzeMu.Lock()
	s.analyzing = false
	if err == nil {
		s.analyzedRows = rows
	}
	s.analyzeMu.Unlock()
	if err != nil {
		s.logger.Warn("analyze memories", "err", err)
		return
	}
	s.dropStats()
	s.logger.Debug("analyzed memories after bulk inserts", "rows", rows)
}

// dropStats makes the next search read the term statistics again.
func (s *MemoryService) dropStats() {
	s.statsMu.Lock()
	s.termStats = nil
	s.statsMu.Unlock()
}
