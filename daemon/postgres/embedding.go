package postgres

import (
	"context"
	"fmt"
	"math"

	"github.com/pgvector/pgvector-go"

	sage "github.com/sage-mcp/sage/daemon"
)

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
