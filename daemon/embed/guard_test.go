package embed

import (
	"context"
	"errors"
	"math"
	"strings"
	"sync"
	"testing"
	"time"

	sage "github.com/sage-mcp/sage/daemon"
	"github.com/sage-mcp/sage/testkit/wanterr"
)

// funcEmbedder is a sage.Embedder whose Embed is a function.
type funcEmbedder struct {
	model string
	dims  int
	mu    sync.Mutex
	calls [][]string
	embed func(ctx context.Context, texts []string) ([][]float32, error)
}

func (f *funcEmbedder) Name() string    { return "fake" }
func (f *funcEmbedder) Model() string   { return f.model }
func (f *funcEmbedder) Dimensions() int { return f.dims }
func (f *funcEmbedder) Embed(ctx context.Context, texts []string) ([][]float32, error) {
	f.mu.Lock()
	f.calls = append(f.calls, texts)
	fn := f.embed
	f.mu.Unlock()
	return fn(ctx, texts)
}

func (f *funcEmbedder) callCount() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.calls)
}

func constVectors(dims int) func(context.Context, []string) ([][]float32, error) {
	return func(_ context.Context, texts []string) ([][]float32, error) {
		out := make([][]float32, len(texts))
		for i := range out {
			out[i] = make([]float32, dims)
			out[i][0] = float32(len(texts[i]))
		}
		return out, nil
	}
}

func TestGuardCache(t *testing.T) {
	f := &funcEmbedder{model: "m1", dims: 4, embed: constVectors(4)}
	g := NewGuard(f, GuardOptions{CacheSize: 2, NoProbe: true})
	ctx := context.Background()
	for _, step := range []struct {
		texts []string
		calls int // calls of the model so far
	}{
		{[]string{"login bug"}, 1},
		{[]string{"login bug"}, 1},                // cached
		{[]string{"auth regression"}, 2},          // second entry
		{[]string{"login bug"}, 2},                // still cached, now most recent
		{[]string{"third"}, 3},                    // evicts "auth regression"
		{[]string{"auth regression"}, 4},          // embedded again
		{[]string{"login bug", "login bug"}, 5},   // batches are not cached
		{[]string{strings.Repeat("x", 5000)}, 6},  // longer than a query
		{[]string{strings.Repeat("x", 5000)}, 7},  // not cached
		{[]string{"third", "auth regression"}, 8}, // batch again
		{[]string{"auth regression"}, 8},          // cached
		{[]string{"login bug"}, 9},                // evicted meanwhile
	} {
		vs, err := g.Embed(ctx, step.texts)
		if err != nil || len(vs) != len(step.texts) {
			t.Fatalf("Embed(%q): %d vectors, %v", step.texts, len(vs), err)
		}
		if got := f.callCount(); got != step.calls {
			t.Fatalf("after Embed(%.20q): %d model calls, want %d", step.texts, got, step.calls)
		}
		vs[0][0] = -1 // the caller's copy: never the cache's
	}
	if g.cache.len() != 2 {
		t.Errorf("cache holds %d entries, want its size 2", g.cache.len())
	}
	// The key holds the model: another model's vectors are not reused.
	f2 := &funcEmbedder{model: "m2", dims: 4, embed: constVectors(4)}
	g.inner = f2
	if _, err := g.Embed(ctx, []string{"auth regression"}); err != nil || f2.callCount() != 1 {
		t.Errorf("another model: %d calls, %v", f2.callCount(), err)
	}
	if vs, _ := g.Embed(ctx, []string{"auth regression"}); vs[0][0] != float32(len("auth regression")) {
		t.Errorf("cached vector was changed by a caller: %v", vs[0])
	}
}

func TestGuardHealth(t *testing.T) {
	var now time.Time
	clock := func() time.Time { return now }
	fail := errors.New("dial tcp 10.0.0.1:80: connect: connection refused")
	var mode string
	f := &funcEmbedder{model: "m", dims: 3}
	f.embed = func(ctx context.Context, texts []string) ([][]float32, error) {
		switch mode {
		case "refused":
			return nil, fail
		case "nan":
			return [][]float32{{0, float32(math.NaN()), 0}}, nil
		case "short":
			return [][]float32{{1, 2}}, nil
		case "hang":
			<-ctx.Done()
			return nil, ctx.Err()
		}
		return constVectors(3)(ctx, texts)
	}
	g := NewGuard(f, GuardOptions{CacheSize: -1, NoProbe: true, Now: clock, QueryTimeout: 200 * time.Millisecond})
	ctx := context.Background()
	state := func(want string) {
		t.Helper()
		if h := g.Health(); h.State != want {
			t.Fatalf("state %q (%s), want %q", h.State, h.Detail, want)
		}
	}
	state(sage.EmbedderDownloading) // nothing known yet
	mode = "refused"
	if _, err := g.Embed(ctx, []string{"a"}); !errors.Is(err, sage.ErrEmbedder) {
		t.Fatalf("refused: %v", err)
	}
	state(sage.EmbedderDownloading) // never answered, refused: still starting
	calls := f.callCount()
	if _, err := g.Embed(ctx, []string{"a", "b"}); !errors.Is(err, sage.ErrEmbedder) || f.callCount() != calls {
		t.Fatalf("within the cooldown: %v, %d calls (want none)", err, f.callCount()-calls)
	}
	now = now.Add(DefaultCooldown)
	mode = ""
	if _, err := g.Embed(ctx, []string{"a"}); err != nil {
		t.Fatalf("after the cooldown: %v", err)
	}
	state(sage.EmbedderReady)
	for _, m := range []string{"nan", "short", "refused", "hang"} {
		mode = m
		now = now.Add(DefaultCooldown)
		start := time.Now()
		_, err := g.Embed(ctx, []string{"query"})
		if !errors.Is(err, sage.ErrEmbedder) {
			t.Fatalf("%s: %v", m, err)
		}
		if took := time.Since(start); took > 5*time.Second {
			t.Errorf("%s: a query waited %s (query timeout 200ms)", m, took)
		}
		state(sage.EmbedderUnavailable) // it answered before: not starting
	}
	// A caller that gives up says nothing about the embedder.
	mode = ""
	now = now.Add(DefaultCooldown)
	if _, err := g.Embed(ctx, []string{"ok"}); err != nil {
		t.Fatal(err)
	}
	mode = "hang"
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := g.Embed(cctx, []string{"a", "b"}); err == nil {
		t.Fatal("cancelled call succeeded")
	}
	state(sage.EmbedderReady)
}

func TestGuardProbes(t *testing.T) {
	f := &funcEmbedder{model: "m", dims: 2}
	back := make(chan struct{})
	probed := make(chan struct{}, 1)
	f.embed = func(ctx context.Context, texts []string) ([][]float32, error) {
		select {
		case <-back:
		default:
			return nil, errors.New("connection refused")
		}
		select {
		case probed <- struct{}{}:
		default:
		}
		return constVectors(2)(ctx, texts)
	}
	g := NewGuard(f, GuardOptions{Cooldown: time.Nanosecond})
	close(back)
	g.Health() // starts a probe
	<-probed
	deadline := time.Now().Add(5 * time.Second)
	for g.Health().State != sage.EmbedderReady {
		if time.Now().After(deadline) {
			t.Fatalf("still %+v after the probe", g.Health())
		}
		time.Sleep(time.Millisecond)
	}
}

func TestConfigGuardSettings(t *testing.T) {
	for _, tc := range []struct {
		name    string
		cfg     Config
		wantErr string
		sent    string // the input the provider gets for "hello"
	}{
		{name: "e5 prefix by default", cfg: Config{Model: "intfloat/multilingual-e5-small"}, sent: "query: hello"},
		{name: "prefix none", cfg: Config{Model: "intfloat/multilingual-e5-small", Prefix: NoPrefix}, sent: "hello"},
		{name: "own prefix", cfg: Config{Model: "m", Dimensions: 4, Prefix: "search_query: "}, sent: "search_query: hello"},
		{name: "no prefix for others", cfg: Config{Model: "BAAI/bge-m3"}, sent: "hello"},
		{name: "negative query timeout", cfg: Config{Model: "m", Dimensions: 4, QueryTimeout: -time.Second}, wantErr: "SAGE_EMBED_QUERY_TIMEOUT"},
		{name: "cache too large", cfg: Config{Model: "m", Dimensions: 4, CacheSize: MaxCacheSize + 1}, wantErr: "SAGE_EMBED_CACHE_SIZE"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := tc.cfg
			cfg.Provider = ProviderOpenAI
			cfg.URL = "http://127.0.0.1:1"
			err := cfg.Validate()
			if !wanterr.Check(t, err, tc.wantErr) {
				return
			}
			p := &fakeProvider{dims: cfg.withDefaults().Dimensions}
			e, _, _ := MustOpenAI(t, Config{Model: cfg.Model, Dimensions: cfg.Dimensions, Prefix: cfg.Prefix}, p)
			if _, err := e.Embed(context.Background(), []string{"hello"}); err != nil {
				t.Fatal(err)
			}
			if seen := p.seen(); len(seen) != 1 || seen[0].Input[0] != tc.sent {
				t.Errorf("provider got %+v, want %q", seen, tc.sent)
			}
		})
	}
}
