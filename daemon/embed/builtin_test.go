package embed

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strings"
	"testing"

	sage "github.com/sage-mcp/sage/daemon"
)

// MustBuiltin returns a builtin embedder of dims dimensions.
func MustBuiltin(t testing.TB, dims int) *Builtin {
	t.Helper()
	b, err := NewBuiltin(dims)
	if err != nil {
		t.Fatalf("NewBuiltin(%d): %v", dims, err)
	}
	return b
}

// MustEmbed embeds texts and fails the test on error.
func MustEmbed(t testing.TB, e sage.Embedder, texts ...string) [][]float32 {
	t.Helper()
	vs, err := e.Embed(context.Background(), texts)
	if err != nil {
		t.Fatalf("Embed: %v", err)
	}
	if len(vs) != len(texts) {
		t.Fatalf("Embed returned %d vectors for %d texts", len(vs), len(texts))
	}
	return vs
}

func cosine(a, b []float32) float64 {
	var dot, na, nb float64
	for i := range a {
		dot += float64(a[i]) * float64(b[i])
		na += float64(a[i]) * float64(a[i])
		nb += float64(b[i]) * float64(b[i])
	}
	return dot / math.Sqrt(na*nb)
}

func norm(v []float32) float64 {
	var s float64
	for _, x := range v {
		s += float64(x) * float64(x)
	}
	return math.Sqrt(s)
}

func TestBuiltinIdentity(t *testing.T) {
	tests := []struct {
		dims      int
		wantModel string
		wantDims  int
	}{
		{0, "builtin-fh-v1@384", 384},
		{384, "builtin-fh-v1@384", 384},
		{256, "builtin-fh-v1@256", 256},
		{1024, "builtin-fh-v1@1024", 1024},
	}
	for _, tt := range tests {
		b := MustBuiltin(t, tt.dims)
		if b.Name() != "builtin" || b.Model() != tt.wantModel || b.Dimensions() != tt.wantDims {
			t.Errorf("NewBuiltin(%d) = %s %s %d, want builtin %s %d", tt.dims, b.Name(), b.Model(), b.Dimensions(), tt.wantModel, tt.wantDims)
		}
		v := MustEmbed(t, b, "hello world")[0]
		if len(v) != tt.wantDims {
			t.Errorf("dims %d: vector length %d", tt.dims, len(v))
		}
	}
	for _, bad := range []int{-1, 1, 31, 4097} {
		if _, err := NewBuiltin(bad); err == nil {
			t.Errorf("NewBuiltin(%d) succeeded, want an error", bad)
		}
	}
}

func TestBuiltinDeterministicAndNormalized(t *testing.T) {
	texts := []string{
		"",
		"   ",
		"?!…",
		"The quick brown fox jumps over the lazy dog",
		"PostgreSQL 15 + pgvector 0.8: HNSW index on vector(384)",
		"我们决定使用 PostgreSQL 作为长期记忆的存储",
		"明日の会議は午後三時からです",
		"한국어 문장도 처리합니다",
		"emoji 🎉🎉 and Ünïcödé",
	}
	a := MustEmbed(t, MustBuiltin(t, 0), texts...)
	b := MustEmbed(t, MustBuiltin(t, 0), texts...) // a fresh instance
	for i, text := range texts {
		if n := norm(a[i]); math.Abs(n-1) > 1e-5 {
			t.Errorf("%q: norm %v, want 1", text, n)
		}
		for j := range a[i] {
			if a[i][j] != b[i][j] || math.IsNaN(float64(a[i][j])) {
				t.Fatalf("%q: component %d differs between runs (%v vs %v)", text, j, a[i][j], b[i][j])
			}
		}
	}
	// Case and full-width forms do not matter; distinct empty-ish texts differ.
	v := MustEmbed(t, MustBuiltin(t, 0), "Hello World", "hello world", "ＨＥＬＬＯ ｗｏｒｌｄ", "", "?!…")
	if c := cosine(v[0], v[1]); c < 0.9999 {
		t.Errorf("case changes the vector: cosine %v", c)
	}
	if c := cosine(v[0], v[2]); c < 0.9999 {
		t.Errorf("full-width forms change the vector: cosine %v", c)
	}
	if c := cosine(v[3], v[4]); c > 0.9999 {
		t.Errorf("empty and punctuation-only texts have the same vector")
	}
}

func TestBuiltinSimilarity(t *testing.T) {
	tests := []struct {
		name                   string
		query, near, unrelated string
	}{
		{"en paraphrase",
			"How do I configure the PostgreSQL connection pool?",
			"We configured the Postgres connection pool size to 20",
			"My favourite hiking trail is in the Alps"},
		{"en inflections",
			"painting the kitchen walls",
			"she painted her kitchen wall blue",
			"the stock market fell sharply today"},
		{"en typo via char n-grams",
			"authentication middleware",
			"authentification middlewares",
			"banana bread recipe"},
		{"zh",
			"数据库连接池怎么配置",
			"我们把数据库连接池的大小配置为二十",
			"周末去山里徒步旅行"},
		{"zh mixed with en",
			"用 Docker 部署 PostgreSQL",
			"PostgreSQL 通过 Docker compose 部署",
			"今天晚饭吃饺子"},
		{"ja",
			"東京の天気予報",
			"明日の東京の天気は晴れの予報です",
			"猫が好きな食べ物"},
	}
	b := MustBuiltin(t, 0)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := MustEmbed(t, b, tt.query, tt.near, tt.unrelated)
			near, far := cosine(v[0], v[1]), cosine(v[0], v[2])
			t.Logf("near %.3f, unrelated %.3f", near, far)
			if near <= far+0.1 {
				t.Errorf("cos(query, near) = %.3f, cos(query, unrelated) = %.3f: want near clearly closer", near, far)
			}
		})
	}
}

func TestBuiltinBatchMatchesSingle(t *testing.T) {
	b := MustBuiltin(t, 128)
	texts := make([]string, 600) // more than one context check interval
	for i := range texts {
		texts[i] = fmt.Sprintf("memory number %d about topic %d", i, i%7)
	}
	vs := MustEmbed(t, b, texts...)
	for _, i := range []int{0, 255, 256, 599} {
		one := b.EmbedOne(texts[i])
		for j := range one {
			if one[j] != vs[i][j] {
				t.Fatalf("text %d: batch vector differs from single at %d", i, j)
			}
		}
	}
	if vs[0][0] == vs[1][0] && cosine(vs[0], vs[1]) > 0.9999 {
		t.Errorf("different texts gave the same vector")
	}
}

func TestBuiltinCanceled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := MustBuiltin(t, 0).Embed(ctx, []string{"a"})
	if !errors.Is(err, sage.ErrEmbedder) || !errors.Is(err, context.Canceled) {
		t.Fatalf("Embed with a canceled context: %v, want ErrEmbedder and context.Canceled", err)
	}
	vs, err := MustBuiltin(t, 0).Embed(context.Background(), nil)
	if err != nil || len(vs) != 0 {
		t.Fatalf("Embed(nil) = %d vectors, %v; want none and no error", len(vs), err)
	}
}

func FuzzBuiltin(f *testing.F) {
	for _, s := range []string{"", "a", "hello world", "数据库", "日本語のテキスト", "\xff\xfe", "a\x00b", "<>", "ab cd ef"} {
		f.Add(s)
	}
	b := MustBuiltin(f, 64)
	f.Fuzz(func(t *testing.T, s string) {
		v := b.EmbedOne(s)
		if n := norm(v); math.Abs(n-1) > 1e-4 {
			t.Fatalf("%q: norm %v", s, n)
		}
		w := b.EmbedOne(s)
		for i := range v {
			if v[i] != w[i] {
				t.Fatalf("%q: not deterministic", s)
			}
		}
	})
}

// benchTexts are short texts like the turns and queries Sage embeds.
var benchTexts = []string{
	"How do I configure the PostgreSQL connection pool?",
	"We decided to use pgvector with an HNSW index for semantic search",
	"The user prefers tabs over spaces and runs tests with -race",
	"数据库连接池的大小配置为二十",
	"Fix the flaky test in the bridge outbox replay",
	"明日の会議は午後三時からです",
	"Remember: deploy with docker compose up -d after the migration",
	"Refactor the HTTP handler to stream the export as NDJSON",
}

// BenchmarkBuiltin measures short texts per second (one text per op).
// Recorded in docs/BENCHMARKS.md (section embed).
func BenchmarkBuiltin(b *testing.B) {
	e := MustBuiltin(b, DefaultDimensions)
	ctx := context.Background()
	var bytes int64
	for _, t := range benchTexts {
		bytes += int64(len(t))
	}
	b.SetBytes(bytes / int64(len(benchTexts)))
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		if _, err := e.Embed(ctx, benchTexts[i%len(benchTexts):i%len(benchTexts)+1]); err != nil {
			b.Fatal(err)
		}
		i++
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "texts/s")
}

// BenchmarkBuiltinTurn measures a conversation turn of about 2 KB.
func BenchmarkBuiltinTurn(b *testing.B) {
	e := MustBuiltin(b, DefaultDimensions)
	var sb strings.Builder
	for sb.Len() < 2000 {
		for _, t := range benchTexts {
			sb.WriteString(t)
			sb.WriteString(". ")
		}
	}
	turn := []string{sb.String()}
	b.SetBytes(int64(len(turn[0])))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := e.Embed(context.Background(), turn); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "texts/s")
}
