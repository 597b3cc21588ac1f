package embed

import (
	"container/list"
	"context"
	"errors"
	"fmt"
	"math"
	"strings"
	"sync"
	"time"

	sage "github.com/sage-mcp/sage/daemon"
	"github.com/sage-mcp/sage/shared/textcut"
)

// DefaultCooldown is how long a Guard fails calls at once after a failure
// before it lets one call through to try the embedder again.
const DefaultCooldown = 5 * time.Second

// probeTimeout bounds the background call that Health makes to find out
// whether a failed embedder is back.
const probeTimeout = 10 * time.Second

// GuardOptions configure a Guard. Zero fields take their defaults.
type GuardOptions struct {
	// QueryTimeout bounds the embedding of one short text (see
	// Config.QueryTimeout). 0 means DefaultQueryTimeout.
	QueryTimeout time.Duration
	// CacheSize is how many short-text embeddings are kept (see
	// Config.CacheSize). 0 means DefaultCacheSize; negative, no cache.
	CacheSize int
	// Cooldown is how long calls fail at once after a failure. 0 means
	// DefaultCooldown.
	Cooldown time.Duration
	// NoProbe stops Health from probing a failed embedder in the
	// background (tests that count requests).
	NoProbe bool
	// Now is the clock (tests); nil means time.Now.
	Now func() time.Time
}

// Guard wraps a remote embedder so that its outages cost the daemon
// nothing but semantic recall:
//
//   - a short text (one text of at most sage.MaxQueryBytes: a search query)
//     gets at most QueryTimeout, so a search falls back to keywords within
//     the prompt hook's budget; its vector is cached (LRU keyed by model and
//     text), so a repeated prompt is not embedded again;
//   - after a failure every call fails at once, without a request, for
//     Cooldown; then one call goes through to try again (saves meanwhile are
//     stored pending and backfilled later);
//   - every vector is checked (count, dimensions, finite components) before
//     it is used or cached;
//   - Health says whether the embedder is ready, still downloading (never
//     answered since start) or unavailable, and probes it in the background
//     while it is not ready.
type Guard struct {
	inner sage.Embedder
	opts  GuardOptions
	cache *lru

	mu       sync.Mutex
	health   sage.EmbedderHealth
	answered bool      // it answered once since start
	retryAt  time.Time // calls before it fail at once (while not ready)
	probing  bool      // a background probe is running
}

var _ sage.HealthReporter = (*Guard)(nil)

// NewGuard wraps inner. Until its first answer it reports "downloading".
func NewGuard(inner sage.Embedder, opts GuardOptions) *Guard {
	if opts.QueryTimeout <= 0 {
		opts.QueryTimeout = DefaultQueryTimeout
	}
	if opts.CacheSize == 0 {
		opts.CacheSize = DefaultCacheSize
	}
	if opts.Cooldown <= 0 {
		opts.Cooldown = DefaultCooldown
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	g := &Guard{inner: inner, opts: opts}
	if opts.CacheSize > 0 {
		g.cache = newLRU(opts.CacheSize)
	}
	g.health = sage.EmbedderHealth{State: sage.EmbedderDownloading, Detail: "no answer yet since the daemon started", Since: opts.Now()}
	return g
}

// Name is the wrapped embedder's.
func (g *Guard) Name() string { return g.inner.Name() }

// Model is the wrapped embedder's.
func (g *Guard) Model() string { return g.inner.Model() }

// Dimensions is the wrapped embedder's.
func (g *Guard) Dimensions() int { return g.inner.Dimensions() }

// Unwrap returns the wrapped embedder.
func (g *Guard) Unwrap() sage.Embedder { return g.inner }

// Embed returns one checked vector per text, from the cache for a short
// text seen before. Errors wrap sage.ErrEmbedder.
func (g *Guard) Embed(ctx context.Context, texts []string) ([][]float32, error) {
	if len(texts) == 0 {
		return [][]float32{}, nil
	}
	short := len(texts) == 1 && len(texts[0]) <= sage.MaxQueryBytes
	key := ""
	if short && g.cache != nil {
		key = g.inner.Model() + "\x00" + texts[0]
		if v, ok := g.cache.get(key); ok {
			return [][]float32{v}, nil
		}
	}
	if err := g.admit(); err != nil {
		return nil, err
	}
	timeout := time.Duration(0)
	if short {
		timeout = g.opts.QueryTimeout
	}
	vs, err := g.call(ctx, texts, timeout)
	if err != nil {
		return nil, err
	}
	if key != "" {
		g.cache.put(key, vs[0])
	}
	return vs, nil
}

// call embeds texts (within timeout when not 0) and records the outcome.
func (g *Guard) call(ctx context.Context, texts []string, timeout time.Duration) ([][]float32, error) {
	cctx := ctx
	if timeout > 0 {
		var cancel context.CancelFunc
		cctx, cancel = context.WithTimeout(ctx, timeout)
		defer cancel()
	}
	vs, err := g.inner.Embed(cctx, texts)
	if err == nil {
		err = g.check(vs, len(texts))
	}
	if err != nil {
		if ctx.Err() != nil {
			// The caller gave up: that says nothing about the embedder.
			return nil, fmt.Errorf("%w: %w", sage.ErrEmbedder, ctx.Err())
		}
		if timeout > 0 && cctx.Err() != nil {
			err = fmt.Errorf("%w: no answer within SAGE_EMBED_QUERY_TIMEOUT (%s)", sage.ErrEmbedder, timeout)
		}
		if !errors.Is(err, sage.ErrEmbedder) {
			err = fmt.Errorf("%w: %w", sage.ErrEmbedder, err)
		}
		g.failed(err)
		return nil, err
	}
	g.succeeded()
	return vs, nil
}

// check refuses a response that is not n vectors of the right length with
// finite components: stored, such a vector would poison the index.
func (g *Guard) check(vs [][]float32, n int) error {
	if len(vs) != n {
		return fmt.Errorf("%w: %d vectors for %d texts", sage.ErrEmbedder, len(vs), n)
	}
	dims := g.inner.Dimensions()
	for i, v := range vs {
		if len(v) != dims {
			return fmt.Errorf("%w: vector %d has %d dimensions, want %d: set SAGE_EMBED_DIMENSIONS to the model's length (then reindex)", sage.ErrEmbedder, i, len(v), dims)
		}
		for j, x := range v {
			if f := float64(x); math.IsNaN(f) || math.IsInf(f, 0) {
				return fmt.Errorf("%w: vector %d has %v at component %d", sage.ErrEmbedder, i, x, j)
			}
		}
	}
	return nil
}

// admit lets a call through while the embedder is ready, and one call per
// cooldown while it is not; the others fail at once.
func (g *Guard) admit() error {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.health.State == sage.EmbedderReady {
		return nil
	}
	now := g.opts.Now()
	if !now.Before(g.retryAt) {
		g.retryAt = now.Add(g.opts.Cooldown) // this call tries; the others wait
		return nil
	}
	return fmt.Errorf("%w: embedder %s (%s); next try in %s", sage.ErrEmbedder, g.health.State, g.health.Detail,
		g.retryAt.Sub(now).Round(time.Millisecond))
}

func (g *Guard) succeeded() {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.answered = true
	if g.health.State != sage.EmbedderReady {
		g.health = sage.EmbedderHealth{State: sage.EmbedderReady, Since: g.opts.Now()}
	}
	g.retryAt = time.Time{}
}

func (g *Guard) failed(err error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	state := sage.EmbedderUnavailable
	if !g.answered && looksStarting(err) {
		state = sage.EmbedderDownloading
	}
	now := g.opts.Now()
	detail := textcut.Bytes(strings.TrimPrefix(err.Error(), sage.ErrEmbedder.Error()+": "), 300, textcut.Ellipsis)
	if g.health.State != state {
		g.health.Since = now
	}
	g.health.State, g.health.Detail = state, detail
	g.retryAt = now.Add(g.opts.Cooldown)
}

// looksStarting reports whether err is how a server that is still
// starting, or still downloading or loading its model, fails: nothing
// listens yet, its name does not resolve yet (the container is not up), it
// answers 503, or (Ollama) it does not have the model yet.
func looksStarting(err error) bool {
	s := strings.ToLower(err.Error())
	for _, sign := range []string{"connection refused", "no such host", "answered 503", "answered 404", "not found", "try pulling", "loading"} {
		if strings.Contains(s, sign) {
			return true
		}
	}
	return false
}

// Health reports the embedder's state. While it is not ready and no call
// has tried it for a cooldown, it starts a probe in the background, so the
// state turns ready soon after the embedder comes back even when nothing
// needs a vector.
func (g *Guard) Health() sage.EmbedderHealth {
	g.mu.Lock()
	h := g.health
	probe := !g.opts.NoProbe && h.State != sage.EmbedderReady && !g.probing && !g.opts.Now().Before(g.retryAt)
	if probe {
		g.probing = true
		g.retryAt = g.opts.Now().Add(g.opts.Cooldown)
	}
	g.mu.Unlock()
	if probe {
		go func() {
			ctx, cancel := context.WithTimeout(context.Background(), probeTimeout)
			defer cancel()
			_, _ = g.call(ctx, []string{"ping"}, 0)
			g.mu.Lock()
			g.probing = false
			g.mu.Unlock()
		}()
	}
	return h
}

// lru is a bounded map of vectors, least recently used out first.
type lru struct {
	mu    sync.Mutex
	max   int
	order *list.List // front: most recent; values are *lruEntry
	items map[string]*list.Element
}

type lruEntry struct {
	key string
	vec []float32
}

func newLRU(max int) *lru {
	return &lru{max: max, order: list.New(), items: make(map[string]*list.Element)}
}

// get returns a copy of the vector of key.
func (c *lru) get(key string) ([]float32, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	el, ok := c.items[key]
	if !ok {
		return nil, false
	}
	c.order.MoveToFront(el)
	return append([]float32(nil), el.Value.(*lruEntry).vec...), true
}

// put stores a copy of vec under key, dropping the least recently used
// entry when full.
func (c *lru) put(key string, vec []float32) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if el, ok := c.items[key]; ok {
		el.Value.(*lruEntry).vec = append([]float32(nil), vec...)
		c.order.MoveToFront(el)
		return
	}
	c.items[key] = c.order.PushFront(&lruEntry{key: key, vec: append([]float32(nil), vec...)})
	for c.order.Len() > c.max {
		last := c.order.Back()
		c.order.Remove(last)
		delete(c.items, last.Value.(*lruEntry).key)
	}
}

// len is the number of entries.
func (c *lru) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.order.Len()
}
