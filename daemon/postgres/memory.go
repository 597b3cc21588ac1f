package postgres

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"

	sage "github.com/sage-mcp/sage/daemon"
	"github.com/sage-mcp/sage/daemon/ranking"
)

// MaxIndexedDimensions is the largest vector length pgvector's HNSW index
// takes for halfvec. Longer vectors are stored and searched exactly (a
// sequential scan), without an index.
const MaxIndexedDimensions = 4000

// HNSW build parameters. m 12 and ef_construction 32 (pgvector's defaults
// are 16 and 64): inserting a vector, the largest part of a save's cost in
// PostgreSQL, took 0.93 ms instead of 1.48 ms with m 16 on the
// 100 000-memory benchmark store (384 dimensions), and filtered searches
// visit fewer neighbours; unfiltered searches make up for the sparser graph
// with a wider beam (minEfSearch): recall@50 against exact search was 0.952
// at ef_search 120, against 0.944 with m 16 at ef_search 80, for 0.2 ms more.
const (
	hnswM              = 12
	hnswEfConstruction = 32
)

// MaxTitleBytes is the longest session title (sage.MaxTitleBytes).
const MaxTitleBytes = sage.MaxTitleBytes

// MemoryService is sage.Service on PostgreSQL.
type MemoryService struct {
	db      *DB
	emb     sage.Embedder
	logger  *slog.Logger
	started time.Time
	model   string // stored embedding_model of emb's vectors
	dims    int
	now     func() time.Time
	weights ranking.Weights

	mu        sync.Mutex
	ready     bool // index and version checked
	iterative bool // pgvector >= 0.8: hnsw.iterative_scan
	pgvector  string

	statsMu   sync.Mutex
	termStats *termStats

	analyzeMu    sync.Mutex
	inserted     int     // rows stored since the last ANALYZE this service ran
	analyzing    bool    // a background ANALYZE is running
	analyzedRows float64 // the table's size at that ANALYZE
	analyzeRuns  int     // background ANALYZEs started
}

var _ sage.Service = (*MemoryService)(nil)

// NewMemoryService returns the memory service on db, embedding with emb.
// The HNSW index of emb's model is created (if missing) on first use, or by
// Start. logger may be nil.
func NewMemoryService(db *DB, emb sage.Embedder, logger *slog.Logger) *MemoryService {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &MemoryService{
		db: db, emb: emb, logger: logger, started: time.Now(),
		model: ModelKey(emb), dims: emb.Dimensions(), now: time.Now,
		weights: ranking.WeightsFor(ModelKey(emb)),
	}
}

// SetWeights changes how hybrid search ranks (ranking.WeightsFor the
// embedding model by default); for benchmarks that tune them. Call it
// before the service is used.
func (s *MemoryService) SetWeights(w ranking.Weights) { s.weights = w }

// ModelKey is the embedding_model stored with the vectors of emb: its Model,
// with "@<dimensions>" appended unless the model name already carries them.
func ModelKey(emb sage.Embedder) string {
	m, d := emb.Model(), strconv.Itoa(emb.Dimensions())
	if strings.Contains(m, d) {
		return m
	}
	return m + "@" + d
}

// Start prepares the store for the current embedder: it creates the HNSW
// index of its model when missing (under an advisory lock, so concurrent
// daemons do not collide) and checks the pgvector version. Every method calls
// it when needed; the daemon calls it at start to fail early.
func (s *MemoryService) Start(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ready {
		return nil
	}
	conn, err := s.db.pool.Acquire(ctx)
	if err != nil {
		return fmt.Errorf("start memory service: %w", unavailable(err))
	}
	defer conn.Release()
	defer unbounded(conn.Conn())() // building an index takes a while
	v, err := pgvectorVersion(ctx, conn)
	if err != nil {
		return fmt.Errorf("start memory service: %w", err)
	}
	s.pgvector = v
	s.iterative = !versionLess(v, "0.8.0")
	if s.dims > MaxIndexedDimensions {
		s.logger.Warn("embedding dimensions above the HNSW limit: semantic search scans every vector",
			"dimensions", s.dims, "limit", MaxIndexedDimensions, "model", s.model)
	} else if err := s.createIndex(ctx, conn.Conn()); err != nil {
		return fmt.Errorf("start memory service: %w", err)
	}
	s.ready = true
	return nil
}

// IndexName returns the name of the HNSW index for a model key.
func IndexName(model string) string {
	sum := sha256.Sum256([]byte(model))
	return "memories_hnsw_" + hex.EncodeToString(sum[:6])
}

func (s *MemoryService) createIndex(ctx context.Context, conn *pgx.Conn) (err error) {
	name := IndexName(s.model)
	var exists bool
	if err := conn.QueryRow(ctx, "SELECT to_regclass($1) IS NOT NULL", name).Scan(&exists); err != nil {
		return fmt.Errorf("look up index: %w", unavailable(err))
	}
	if exists {
		return nil
	}
	if _, err := conn.Exec(ctx, "SELECT pg_advisory_lock($1)", indexLock); err != nil {
		return fmt.Errorf("lock index: %w", unavailable(err))
	}
	defer func() {
		if _, uerr := conn.Exec(context.WithoutCancel(ctx), "SELECT pg_advisory_unlock($1)", indexLock); uerr != nil && err == nil {
			err = fmt.Errorf("unlock index: %w", uerr)
		}
	}()
	start := time.Now()
	sql := fmt.Sprintf(`CREATE INDEX IF NOT EXISTS %s ON memories USING hnsw ((embedding::halfvec(%d)) halfvec_cosine_ops)
		WITH (m = %d, ef_construction = %d) WHERE embedding_model = %s`,
		name, s.dims, hnswM, hnswEfConstruction, quoteLiteral(s.model))
	if _, err := conn.Exec(ctx, sql); err != nil {
		return fmt.Errorf("create index for %s: %w", s.model, unavailable(err))
	}
	s.logger.Info("vector index ready", "index", name, "model", s.model, "dimensions", s.dims, "took", time.Since(start))
	return nil
}

// quoteLiteral quotes s as an SQL string literal.
func quoteLiteral(s string) string {
	return "'" + strings.ReplaceAll(s, "'", "''") + "'"
}
