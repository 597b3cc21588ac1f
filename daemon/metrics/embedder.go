package metrics

import (
	"context"
	"time"

	sage "github.com/sage-mcp/sage/daemon"
)

// Embedder returns e with the latency and outcome of its Embed calls
// recorded.
func (r *Registry) Embedder(e sage.Embedder) sage.Embedder {
	return instrumentedEmbedder{Embedder: e, r: r}
}

// Unwrap returns the instrumented embedder (for sage.HealthOf).
func (e instrumentedEmbedder) Unwrap() sage.Embedder { return e.Embedder }

type instrumentedEmbedder struct {
	sage.Embedder
	r *Registry
}

func (e instrumentedEmbedder) Embed(ctx context.Context, texts []string) ([][]float32, error) {
	start := time.Now()
	v, err := e.Embedder.Embed(ctx, texts)
	res := "ok"
	if err != nil {
		res = "error"
	}
	e.r.embedDuration.WithLabelValues(e.Name(), res).Observe(time.Since(start).Seconds())
	return v, err
}
