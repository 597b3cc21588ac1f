package postgres

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/pgvector/pgvector-go"

	sage "github.com/sage-mcp/sage/daemon"
	"github.com/sage-mcp/sage/daemon/tokenize"
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
	}
}

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

// record is a memory on its way into the table.
type record struct {
	m        sage.Memory
	tokens   string    // search terms, stored as the tsvector tsv
	vec      []float32 // nil: pending
	title    string    // session title when the session is new
	embedTxt string
}

func (s *MemoryService) newRecord(ns string, m sage.Memory) *record {
	if m.OccurredAt.IsZero() {
		m.OccurredAt = s.now()
	}
	m.OccurredAt = m.OccurredAt.UTC().Truncate(time.Microsecond)
	m.Namespace = ns
	m.ContentHash = ContentHash(m.Text)
	if len(m.Metadata) == 0 || string(m.Metadata) == "null" {
		m.Metadata = json.RawMessage("{}")
	}
	if m.Tags == nil {
		m.Tags = []string{}
	}
	return &record{m: m, tokens: indexTokens(m), embedTxt: m.Text}
}

// indexTokens is the text indexed for full-text search: the memory's text
// and its tags, nothing else. Metadata values (a working directory, the
// client) and the date would match every memory a hook saved; questions
// about time go through the date-aware query path (tokenize.ParseTime) and
// filter on occurred_at instead.
func indexTokens(m sage.Memory) string {
	var b strings.Builder
	b.WriteString(m.Text)
	for _, t := range m.Tags {
		b.WriteString(" ")
		b.WriteString(t)
	}
	return tokenize.IndexString(b.String())
}

// ContentHash is the hex SHA-256 of text with case folded and whitespace
// collapsed: two texts that differ only there are the same content.
func ContentHash(text string) string {
	h := sha256.New()
	first := true
	for _, f := range strings.FieldsFunc(text, unicode.IsSpace) {
		if !first {
			h.Write([]byte{' '})
		}
		first = false
		h.Write([]byte(strings.ToLower(f)))
	}
	return hex.EncodeToString(h.Sum(nil))
}

// TurnText is how a turn is stored: the user's prompt and the assistant's
// response, labelled.
func TurnText(t sage.Turn) string {
	p, r := strings.TrimSpace(t.UserPrompt), strings.TrimSpace(t.AssistantResponse)
	switch {
	case r == "":
		return "User: " + p
	case p == "":
		return "Assistant: " + r
	}
	return "User: " + p + "\n\nAssistant: " + r
}

func (s *MemoryService) turnRecord(ns string, t sage.Turn) *record {
	r := s.newRecord(ns, sage.Memory{
		Project: t.Project, SessionID: t.SessionID, Kind: sage.KindTurn,
		Text: TurnText(t), IdempotencyKey: t.IdempotencyKey,
		Metadata: t.Metadata, OccurredAt: t.OccurredAt,
	})
	r.title = sessionTitle(t.UserPrompt)
	if r.title == "" {
		r.title = sessionTitle(t.AssistantResponse)
	}
	return r
}

// sessionTitle is the start of the first prompt of a session, on one line.
func sessionTitle(s string) string {
	return truncateRunes(strings.Join(strings.Fields(s), " "), 80)
}

// truncateRunes cuts s to at most n runes, ending with "…" when cut.
func truncateRunes(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	if n <= 0 {
		return ""
	}
	return string([]rune(s)[:n-1]) + "…"
}

// embed fills the vectors of recs; on failure they stay pending (nil) and
// the failure is logged: saving never waits for a working embedder.
func (s *MemoryService) embed(ctx context.Context, recs []*record) {
	texts := make([]string, len(recs))
	for i, r := range recs {
		texts[i] = r.embedTxt
	}
	vecs, err := s.embedTexts(ctx, texts)
	if err != nil {
		s.logger.Warn("embedding failed: memories saved as pending, a backfill will retry", "count", len(recs), "err", err)
		return
	}
	for i, r := range recs {
		r.vec = vecs[i]
	}
}

// embedTexts calls the embedder and checks what it returns.
func (s *MemoryService) embedTexts(ctx context.Context, texts []string) ([][]float32, error) {
	vecs, err := s.emb.Embed(ctx, texts)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", sage.ErrEmbedder, err)
	}
	if len(vecs) != len(texts) {
		return nil, fmt.Errorf("%w: %d vectors for %d texts", sage.ErrEmbedder, len(vecs), len(texts))
	}
	for i, v := range vecs {
		if len(v) != s.dims {
			return nil, fmt.Errorf("%w: vector of %d dimensions, want %d", sage.ErrEmbedder, len(v), s.dims)
		}
		u, err := unitVector(v)
		if err != nil {
			return nil, fmt.Errorf("%w: %w", sage.ErrEmbedder, err)
		}
		vecs[i] = u
	}
	return vecs, nil
}

// unitVector returns v scaled to length 1 (a zero vector as it is). Cosine
// distance ignores length, and every component of a unit vector fits a
// halfvec, whatever scale the provider uses (halfvec ends at ±65504). A
// component that is not a finite number is an error.
func unitVector(v []float32) ([]float32, error) {
	var sum float64
	for i, x := range v {
		f := float64(x)
		if math.IsNaN(f) || math.IsInf(f, 0) {
			return nil, fmt.Errorf("vector component %d is %v", i, x)
		}
		sum += f * f
	}
	if sum == 0 {
		return v, nil
	}
	norm := math.Sqrt(sum)
	if math.Abs(norm-1) < 1e-6 {
		return v, nil
	}
	out := make([]float32, len(v))
	for i, x := range v {
		out[i] = float32(float64(x) / norm)
	}
	return out, nil
}

// halfvec is v as a query argument: a halfvec in pgvector's binary format
// (see registerVectorTypes), or NULL when v is nil (pending).
func halfvec(v []float32) *pgvector.HalfVector {
	if v == nil {
		return nil
	}
	h := pgvector.NewHalfVector(v)
	return &h
}

func (s *MemoryService) modelFor(r *record) *string {
	if r.vec == nil {
		return nil
	}
	m := s.model
	return &m
}

func nullable(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

const insertSQL = `INSERT INTO memories
	(namespace, project, session_id, kind, text, content_hash, idempotency_key, metadata, tags, tsv, occurred_at, embedding, embedding_model)
	VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, to_tsvector('simple', $10), $11, $12::halfvec, $13)
	ON CONFLICT DO NOTHING
	RETURNING id`

const lookupSQL = `SELECT id FROM memories
	WHERE namespace = $1 AND ((idempotency_key = $2) OR (session_id = $3 AND kind = $4 AND content_hash = $5))
	ORDER BY (idempotency_key IS NOT DISTINCT FROM $2) DESC, id
	LIMIT 1`

// insert stores recs in one transaction, in order, and returns where each
// went. A record that is already stored (same idempotency key, or same
// session, kind and content) is not stored again.
func (s *MemoryService) insert(ctx context.Context, recs []*record) ([]sage.SaveResult, error) {
	if err := s.Start(ctx); err != nil {
		return nil, err
	}
	if len(recs) == 1 {
		r, err := s.insertOne(ctx, recs[0])
		if err != nil {
			return nil, fmt.Errorf("save: %w", err)
		}
		res := []sage.SaveResult{r}
		s.noteInserted(res)
		return res, nil
	}
	// Insert in one global order (by content key), so that concurrent
	// batches saving the same turns wait for each other instead of
	// deadlocking.
	order := make([]int, len(recs))
	for i := range order {
		order[i] = i
	}
	sort.SliceStable(order, func(a, b int) bool {
		x, y := recs[order[a]].m, recs[order[b]].m
		if x.SessionID != y.SessionID {
			return x.SessionID < y.SessionID
		}
		if x.Kind != y.Kind {
			return x.Kind < y.Kind
		}
		return x.ContentHash < y.ContentHash
	})
	sorted := make([]*record, len(recs))
	for i, j := range order {
		sorted[i] = recs[j]
	}
	res, err := s.insertOrdered(ctx, sorted)
	if err != nil {
		return nil, err
	}
	out := make([]sage.SaveResult, len(recs))
	for i, j := range order {
		out[j] = res[i]
	}
	s.noteInserted(out)
	return out, nil
}

func (s *MemoryService) insertOrdered(ctx context.Context, recs []*record) ([]sage.SaveResult, error) {
	var out []sage.SaveResult
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		out = make([]sage.SaveResult, len(recs))
		b := &pgx.Batch{}
		for _, r := range recs {
			m := r.m
			b.Queue(insertSQL, m.Namespace, m.Project, m.SessionID, string(m.Kind), m.Text, m.ContentHash,
				nullable(m.IdempotencyKey), []byte(m.Metadata), m.Tags, r.tokens, m.OccurredAt,
				halfvec(r.vec), s.modelFor(r))
		}
		br := tx.SendBatch(ctx, b)
		var missing []int
		for i := range recs {
			err := br.QueryRow().Scan(&out[i].ID)
			if errors.Is(err, pgx.ErrNoRows) {
				missing = append(missing, i)
				continue
			}
			if err != nil {
				br.Close()
				return err
			}
		}
		if err := br.Close(); err != nil {
			return err
		}
		// Conflicts: find the memory already stored. A separate statement
		// sees rows that concurrent transactions committed meanwhile.
		for _, i := range missing {
			m := recs[i].m
			err := tx.QueryRow(ctx, lookupSQL, m.Namespace, nullable(m.IdempotencyKey), m.SessionID, string(m.Kind), m.ContentHash).Scan(&out[i].ID)
			if err != nil {
				if errors.Is(err, pgx.ErrNoRows) {
					return errRetry // the conflicting row went away: try again
				}
				return err
			}
			out[i].Deduplicated = true
		}
		return s.touchSessions(ctx, tx, recs, out)
	})
	if err != nil {
		return nil, fmt.Errorf("save: %w", err)
	}
	return out, nil
}

// insertOneSQL stores one memory and creates or extends its session in one
// statement (one round trip, its own transaction).
const insertOneSQL = `WITH ins AS (
	INSERT INTO memories
		(namespace, project, session_id, kind, text, content_hash, idempotency_key, metadata, tags, tsv, occurred_at, embedding, embedding_model)
	VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, to_tsvector('simple', $10), $11, $12::halfvec, $13)
	ON CONFLICT DO NOTHING
	RETURNING id, occurred_at
), sess AS (
	INSERT INTO sessions (namespace, id, project, title, first_at, last_at)
	SELECT $1, $3, $2, $14, occurred_at, occurred_at FROM ins WHERE $3 <> ''
	ON CONFLICT (namespace, id) DO UPDATE SET
		first_at = LEAST(sessions.first_at, EXCLUDED.first_at),
		last_at = GREATEST(sessions.last_at, EXCLUDED.last_at),
		project = CASE WHEN sessions.project = '' THEN EXCLUDED.project ELSE sessions.project END,
		title = CASE WHEN sessions.title = '' THEN EXCLUDED.title ELSE sessions.title END
)
SELECT id FROM ins`

// insertOne is insert for a single memory: the common case of a save.
func (s *MemoryService) insertOne(ctx context.Context, r *record) (sage.SaveResult, error) {
	m := r.m
	var out sage.SaveResult
	for attempt := 0; attempt < 8; attempt++ {
		err := s.db.pool.QueryRow(ctx, insertOneSQL, m.Namespace, m.Project, m.SessionID, string(m.Kind), m.Text, m.ContentHash,
			nullable(m.IdempotencyKey), []byte(m.Metadata), m.Tags, r.tokens, m.OccurredAt,
			halfvec(r.vec), s.modelFor(r), r.title).Scan(&out.ID)
		if err == nil {
			return out, nil
		}
		var pgErr *pgconn.PgError
		if errors.As(err, &pgErr) && (pgErr.Code == "40P01" || pgErr.Code == "40001") {
			continue
		}
		if !errors.Is(err, pgx.ErrNoRows) {
			return out, unavailable(err)
		}
		// Already stored: find the first one.
		err = s.db.pool.QueryRow(ctx, lookupSQL, m.Namespace, nullable(m.IdempotencyKey), m.SessionID, string(m.Kind), m.ContentHash).Scan(&out.ID)
		if errors.Is(err, pgx.ErrNoRows) {
			continue // the conflicting row went away meanwhile: try again
		}
		if err != nil {
			return out, unavailable(err)
		}
		out.Deduplicated = true
		return out, nil
	}
	return out, errors.New("save kept conflicting with concurrent changes")
}

// touchSessions creates or extends the sessions of newly stored records.
func (s *MemoryService) touchSessions(ctx context.Context, tx pgx.Tx, recs []*record, res []sage.SaveResult) error {
	type span struct {
		ns, project, title string
		first, last        time.Time
	}
	spans := map[string]*span{}
	for i, r := range recs {
		if res[i].Deduplicated || r.m.SessionID == "" {
			continue
		}
		sp := spans[r.m.SessionID]
		if sp == nil {
			sp = &span{ns: r.m.Namespace, project: r.m.Project, title: r.title, first: r.m.OccurredAt, last: r.m.OccurredAt}
			spans[r.m.SessionID] = sp
			continue
		}
		if r.m.OccurredAt.Before(sp.first) {
			sp.first = r.m.OccurredAt
			if r.title != "" {
				sp.title = r.title
			}
		}
		if r.m.OccurredAt.After(sp.last) {
			sp.last = r.m.OccurredAt
		}
		if sp.project == "" {
			sp.project = r.m.Project
		}
	}
	ids := make([]string, 0, len(spans))
	for id := range spans {
		ids = append(ids, id)
	}
	sort.Strings(ids) // one lock order for every transaction
	for _, id := range ids {
		sp := spans[id]
		_, err := tx.Exec(ctx, `INSERT INTO sessions (namespace, id, project, title, first_at, last_at)
			VALUES ($1, $2, $3, $4, $5, $6)
			ON CONFLICT (namespace, id) DO UPDATE SET
				first_at = LEAST(sessions.first_at, EXCLUDED.first_at),
				last_at = GREATEST(sessions.last_at, EXCLUDED.last_at),
				project = CASE WHEN sessions.project = '' THEN EXCLUDED.project ELSE sessions.project END,
				title = CASE WHEN sessions.title = '' THEN EXCLUDED.title ELSE sessions.title END`,
			sp.ns, id, sp.project, sp.title, sp.first, sp.last)
		if err != nil {
			return err
		}
	}
	return nil
}

var errRetry = errors.New("retry transaction")

// inTx runs fn in a transaction, retrying on deadlocks and serialization
// failures (concurrent saves of the same content may meet in either order).
func (s *MemoryService) inTx(ctx context.Context, fn func(pgx.Tx) error) error {
	var err error
	for attempt := 0; attempt < 8; attempt++ {
		if attempt > 0 {
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(time.Duration(attempt*attempt) * 5 * time.Millisecond):
			}
		}
		err = pgx.BeginFunc(ctx, s.db.pool, fn)
		if err == nil {
			return nil
		}
		var pgErr *pgconn.PgError
		if errors.Is(err, errRetry) || (errors.As(err, &pgErr) && (pgErr.Code == "40P01" || pgErr.Code == "40001")) {
			continue
		}
		return unavailable(err)
	}
	return unavailable(err)
}

// SaveTurn stores a turn once (see sage.Service).
func (s *MemoryService) SaveTurn(ctx context.Context, t sage.Turn) (sage.SaveResult, error) {
	if err := t.Validate(); err != nil {
		return sage.SaveResult{}, err
	}
	r := s.turnRecord(sage.NamespaceFrom(ctx), t)
	s.embed(ctx, []*record{r})
	res, err := s.insert(ctx, []*record{r})
	if err != nil {
		return sage.SaveResult{}, err
	}
	return res[0], nil
}

// SaveTurns stores a batch of turns atomically: every turn is checked first,
// and all are stored in one transaction.
func (s *MemoryService) SaveTurns(ctx context.Context, ts []sage.Turn) ([]sage.SaveResult, error) {
	if len(ts) == 0 {
		return nil, sage.Invalidf("turns", "is empty")
	}
	if len(ts) > sage.MaxBatch {
		return nil, sage.Invalidf("turns", "at most %d turns at once, got %d", sage.MaxBatch, len(ts))
	}
	ns := sage.NamespaceFrom(ctx)
	recs := make([]*record, len(ts))
	for i, t := range ts {
		if err := t.Validate(); err != nil {
			var ie *sage.InputError
			if errors.As(err, &ie) {
				return nil, &sage.InputError{Field: fmt.Sprintf("turns[%d].%s", i, ie.Field), Message: ie.Message}
			}
			return nil, err
		}
		recs[i] = s.turnRecord(ns, t)
	}
	s.embed(ctx, recs)
	return s.insert(ctx, recs)
}

// Remember stores a note once (see sage.Service).
func (s *MemoryService) Remember(ctx context.Context, n sage.Note) (sage.SaveResult, error) {
	if err := n.Validate(); err != nil {
		return sage.SaveResult{}, err
	}
	if n.Kind == "" {
		n.Kind = sage.KindNote
	}
	r := s.newRecord(sage.NamespaceFrom(ctx), sage.Memory{
		Project: n.Project, SessionID: n.SessionID, Kind: n.Kind,
		Text: strings.TrimSpace(n.Content), IdempotencyKey: n.IdempotencyKey,
		Metadata: n.Metadata, Tags: normalizeTags(n.Tags), OccurredAt: n.OccurredAt,
	})
	r.title = sessionTitle(n.Content)
	s.embed(ctx, []*record{r})
	res, err := s.insert(ctx, []*record{r})
	if err != nil {
		return sage.SaveResult{}, err
	}
	return res[0], nil
}

// normalizeTags trims tags and drops repeats, keeping their order.
func normalizeTags(tags []string) []string {
	out := make([]string, 0, len(tags))
	seen := map[string]bool{}
	for _, t := range tags {
		t = strings.TrimSpace(t)
		if t == "" || seen[t] {
			continue
		}
		seen[t] = true
		out = append(out, t)
	}
	return out
}
