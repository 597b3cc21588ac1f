package embed

import (
	"context"
	"strconv"
	"strings"
	"testing"

	sage "github.com/sage-mcp/sage/daemon"
)

// testEmbedderContract checks what every sage.Embedder promises.
func testEmbedderContract(t *testing.T, e sage.Embedder) {
	t.Helper()
	if e.Name() == "" || e.Model() == "" || e.Dimensions() <= 0 {
		t.Fatalf("identity %q %q %d", e.Name(), e.Model(), e.Dimensions())
	}
	if !strings.Contains(e.Model(), strconv.Itoa(e.Dimensions())) {
		t.Errorf("Model %q does not name its dimensions %d", e.Model(), e.Dimensions())
	}
	ctx := context.Background()
	vs, err := e.Embed(ctx, nil)
	if err != nil || len(vs) != 0 {
		t.Errorf("Embed(nil) = %d vectors, %v", len(vs), err)
	}
	in := []string{"first text", "", "数据库", "a much longer text about PostgreSQL, pgvector and HNSW indexes", "first text"}
	vs, err = e.Embed(ctx, in)
	if err != nil {
		t.Fatalf("Embed: %v", err)
	}
	if len(vs) != len(in) {
		t.Fatalf("%d vectors for %d texts", len(vs), len(in))
	}
	for i, v := range vs {
		if len(v) != e.Dimensions() {
			t.Errorf("vector %d has %d dimensions, want %d", i, len(v), e.Dimensions())
		}
	}
	one, err := e.Embed(ctx, in[3:4])
	if err != nil {
		t.Fatalf("Embed one: %v", err)
	}
	if len(one) != 1 || len(one[0]) != e.Dimensions() {
		t.Fatalf("Embed one: %d vectors", len(one))
	}
}

func TestEmbedderContract(t *testing.T) {
	for _, dims := range []int{MinBuiltinDimensions, DefaultDimensions, 1536} {
		t.Run("builtin-"+strconv.Itoa(dims), func(t *testing.T) {
			testEmbedderContract(t, MustBuiltin(t, dims))
		})
	}
	t.Run("openai", func(t *testing.T) {
		e, _, _ := MustOpenAI(t, Config{Dimensions: 16, BatchSize: 2}, &fakeProvider{dims: 16})
		testEmbedderContract(t, e)
	})
}
