package postgres

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"slices"
	"time"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"

	sage "github.com/sage-mcp/sage/daemon"
	"github.com/sage-mcp/sage/daemon/gate"
	"github.com/sage-mcp/sage/daemon/ranking"
	"github.com/sage-mcp/sage/shared/textcut"
)

// Defaults of the injection audit's retention.
const (
	DefaultAuditRetention = 30 * 24 * time.Hour
	DefaultAuditMaxRows   = 100_000
)

// AuditRetention bounds the injection audit: rows older than MaxAge go,
// and only the MaxRows most recent are kept (over all namespaces). Zero
// fields mean the defaults.
type AuditRetention struct {
	MaxAge  time.Duration
	MaxRows int64
}

func (r AuditRetention) withDefaults() AuditRetention {
	if r.MaxAge <= 0 {
		r.MaxAge = DefaultAuditRetention
	}
	if r.MaxRows <= 0 {
		r.MaxRows = DefaultAuditMaxRows
	}
	return r
}

// Inject builds the block to inject into a prompt (see sage.Service): the
// context's results, less those of q.ExcludeSession, below q.MinScore or,
// with q.Gate, refused by the gate of the embedding model; then records
// it unless q.DryRun or the block is empty. A dry run's candidates also
// hold the memories ExcludeSession and MinScore kept out, with the reason.
func (s *MemoryService) Inject(ctx context.Context, q sage.InjectQuery) (sage.Injected, error) {
	if err := q.Validate(); err != nil {
		return sage.Injected{}, err
	}
	if q.MaxResults == 0 {
		q.MaxResults = sage.DefaultLimit
	}
	if q.MaxChars == 0 {
		q.MaxChars = sage.DefaultMaxChars
	}
	if q.Source == "" {
		q.Source = sage.SourceREST
	}
	// The block is rendered here, after the gate, so the context is asked
	// for without a character bound.
	cq := q.ContextQuery
	cq.MaxChars = sage.MaxMaxChars
	c, err := s.Context(ctx, cq)
	if err != nil {
		return sage.Injected{}, err
	}
	items := c.Items
	if q.DryRun && (cq.ExcludeSession != "" || cq.MinScore > 0) {
		// A dry run ("why") also lists what those filters dropped.
		if items, err = s.withFiltered(ctx, cq, items); err != nil {
			return sage.Injected{}, err
		}
	}
	th, _ := gate.For(s.model)
	out := sage.Injected{Candidates: make([]sage.Candidate, 0, len(items))}
	var keep []sage.Result
	for _, r := range items {
		v := gate.Verdict{Pass: true, Reason: "not gated"}
		switch {
		case q.ExcludeSession != "" && r.SessionID == q.ExcludeSession:
			v = gate.Verdict{Reason: "from this session"}
		case r.Score < q.MinScore:
			v = gate.Verdict{Reason: fmt.Sprintf("score %.4f < min_score %.4f", r.Score, q.MinScore)}
		case q.Gate:
			v = th.Decide(r.Keyword, r.Vector)
		}
		if v.Pass && len(keep) == q.MaxResults {
			v = gate.Verdict{Reason: "beyond max_results"}
		}
		if v.Pass {
			keep = append(keep, r)
		}
		out.Candidates = append(out.Candidates, sage.Candidate{Result: r, Passed: v.Pass, Reason: v.Reason})
	}
	out.Text, out.Items = ranking.RenderContext(keep, q.MaxChars)
	if len(out.Items) < len(keep) {
		in := map[int64]bool{}
		for _, r := range out.Items {
			in[r.ID] = true
		}
		for i := range out.Candidates {
			if c := &out.Candidates[i]; c.Passed && !in[c.ID] {
				c.Passed, c.Reason = false, "no room within max_chars"
			}
		}
	}
	if q.DryRun || out.Text == "" {
		return out, nil
	}
	session := q.SessionID
	if session == "" {
		session = q.ExcludeSession
	}
	rec := sage.Injection{
		Source:     q.Source,
		SessionID:  session,
		Project:    q.Filter.Project,
		PromptHash: PromptHash(q.Query),
		PromptHead: textcut.Runes(q.Query, sage.MaxPromptHead, ""),
		Chars:      utf8.RuneCountInString(out.Text),
	}
	for _, r := range out.Items {
		rec.Memories = append(rec.Memories, sage.InjectedMemory{ID: r.ID, Score: r.Score, Keyword: r.Keyword, Vector: r.Vector})
	}
	if out.Recorded, err = s.recordInjection(ctx, rec); err != nil {
		return sage.Injected{}, fmt.Errorf("record injection: %w", err)
	}
	return out, nil
}

// withFiltered returns items followed by the memories cq's ExcludeSession
// and MinScore kept out of them: those among the context of the same query
// without the two filters, in its order.
func (s *MemoryService) withFiltered(ctx context.Context, cq sage.ContextQuery, items []sage.Result) ([]sage.Result, error) {
	all := cq
	all.ExcludeSession, all.MinScore = "", 0
	c, err := s.Context(ctx, all)
	if err != nil {
		return nil, err
	}
	in := make(map[int64]bool, len(items))
	for _, r := range items {
		in[r.ID] = true
	}
	out := slices.Clip(items)
	for _, r := range c.Items {
		if !in[r.ID] {
			out = append(out, r)
		}
	}
	return out, nil
}

// PromptHash is the hex SHA-256 of a prompt, as the audit keeps it.
func PromptHash(prompt string) string {
	h := sha256.Sum256([]byte(prompt))
	return hex.EncodeToString(h[:])
}

// injectedMemory is the JSON form of a sage.InjectedMemory in the
// memories column.
type injectedMemory struct {
	ID           int64   `json:"id"`
	Score        float64 `json:"score"`
	KeywordRank  int     `json:"keyword_rank"`
	KeywordScore float64 `json:"keyword_score"`
	VectorRank   int     `json:"vector_rank"`
	VectorScore  float64 `json:"vector_score"`
}

func (s *MemoryService) recordInjection(ctx context.Context, in sage.Injection) (int64, error) {
	ms := make([]injectedMemory, len(in.Memories))
	for i, m := range in.Memories {
		ms[i] = injectedMemory{ID: m.ID, Score: m.Score, KeywordRank: m.Keyword.Rank, KeywordScore: m.Keyword.Score,
			VectorRank: m.Vector.Rank, VectorScore: m.Vector.Score}
	}
	raw, err := json.Marshal(ms)
	if err != nil {
		return 0, err
	}
	var id int64
	err = s.db.pool.QueryRow(ctx, `INSERT INTO injections (namespace, at, source, session_id, project, prompt_hash, prompt_head, memories, chars)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id`,
		sage.NamespaceFrom(ctx), s.now().UTC(), in.Source, in.SessionID, in.Project, in.PromptHash, in.PromptHead, raw, in.Chars).Scan(&id)
	if err != nil {
		return 0, unavailable(err)
	}
	return id, nil
}

// Injections lists the namespace's recorded injections, most recent first
// (see sage.Service).
func (s *MemoryService) Injections(ctx context.Context, f sage.InjectionFilter) ([]sage.Injection, error) {
	if err := f.Validate(); err != nil {
		return nil, err
	}
	if f.Limit == 0 {
		f.Limit = sage.DefaultLimit
	}
	sql := `SELECT id, at, source, session_id, project, prompt_hash, prompt_head, memories, chars FROM injections
		WHERE namespace = $1 AND ($2 = '' OR session_id = $2) ORDER BY id DESC LIMIT $3`
	rows, err := s.db.pool.Query(ctx, sql, sage.NamespaceFrom(ctx), f.SessionID, f.Limit)
	if err != nil {
		return nil, fmt.Errorf("injections: %w", unavailable(err))
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (sage.Injection, error) {
		var in sage.Injection
		var raw []byte
		if err := r.Scan(&in.ID, &in.At, &in.Source, &in.SessionID, &in.Project, &in.PromptHash, &in.PromptHead, &raw, &in.Chars); err != nil {
			return in, err
		}
		var ms []injectedMemory
		if err := json.Unmarshal(raw, &ms); err != nil {
			return in, fmt.Errorf("injection %d: memories: %w", in.ID, err)
		}
		for _, m := range ms {
			in.Memories = append(in.Memories, sage.InjectedMemory{ID: m.ID, Score: m.Score,
				Keyword: sage.Hit{Rank: m.KeywordRank, Score: m.KeywordScore},
				Vector:  sage.Hit{Rank: m.VectorRank, Score: m.VectorScore}})
		}
		in.At = in.At.UTC()
		return in, nil
	})
	if err != nil {
		return nil, fmt.Errorf("injections: %w", unavailable(err))
	}
	return out, nil
}

// PruneInjections deletes the audit rows beyond r (older than MaxAge, or
// beyond the MaxRows most recent) and returns how many went.
func (s *MemoryService) PruneInjections(ctx context.Context, r AuditRetention) (int64, error) {
	r = r.withDefaults()
	var n int64
	tag, err := s.db.pool.Exec(ctx, `DELETE FROM injections WHERE at < $1`, s.now().Add(-r.MaxAge))
	if err != nil {
		return 0, fmt.Errorf("prune injections: %w", unavailable(err))
	}
	n += tag.RowsAffected()
	tag, err = s.db.pool.Exec(ctx, `DELETE FROM injections WHERE id <= (SELECT id FROM injections ORDER BY id DESC OFFSET $1 LIMIT 1)`, r.MaxRows)
	if err != nil {
		return 0, fmt.Errorf("prune injections: %w", unavailable(err))
	}
	return n + tag.RowsAffected(), nil
}

// RunAuditPrune prunes the injection audit to r at once and then every
// interval until ctx ends; failures are logged and retried next time.
func (s *MemoryService) RunAuditPrune(ctx context.Context, r AuditRetention, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		if n, err := s.PruneInjections(ctx, r); err != nil {
			if ctx.Err() != nil {
				return
			}
			s.logger.Warn("prune injection audit", "err", err)
		} else if n > 0 {
			s.logger.Info("pruned injection audit", "rows", n)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
