package main

import (
	"context"
	"fmt"
	"io"
	"math"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// latency summarizes call durations, in milliseconds.
type latency struct {
	Count int     `json:"count"`
	Mean  float64 `json:"mean_ms"`
	P50   float64 `json:"p50_ms"`
	P95   float64 `json:"p95_ms"`
	P99   float64 `json:"p99_ms"`
	Max   float64 `json:"max_ms"`
}

// summarize computes the latency summary of ds (nearest-rank percentiles).
func summarize(ds []time.Duration) latency {
	if len(ds) == 0 {
		return latency{}
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	var sum time.Duration
	for _, d := range s {
		sum += d
	}
	ms := func(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
	return latency{
		Count: len(s),
		Mean:  ms(sum / time.Duration(len(s))),
		P50:   ms(percentile(s, 50)),
		P95:   ms(percentile(s, 95)),
		P99:   ms(percentile(s, 99)),
		Max:   ms(s[len(s)-1]),
	}
}

// percentile returns the nearest-rank p-th percentile of sorted s.
func percentile(s []time.Duration, p float64) time.Duration {
	k := int(math.Ceil(p / 100 * float64(len(s))))
	return s[min(max(k, 1), len(s))-1]
}

// seedResult is the outcome of the seeding phase.
type seedResult struct {
	Memories     int         `json:"memories"`
	Deduplicated int         `json:"deduplicated"`
	Sessions     int         `json:"sessions"`
	Clients      int         `json:"clients"`
	Seconds      float64     `json:"seconds"`
	PerSecond    float64     `json:"saves_per_second"`
	TextBytes    int64       `json:"text_bytes"`
	Latency      latency     `json:"latency"`
	CPU          *cpuPerCall `json:"cpu_ms_per_call,omitempty"`
}

// progress prints a line to w at most every interval.
type progress struct {
	w    io.Writer
	mu   sync.Mutex
	last time.Time
}

func (p *progress) maybe(format string, a ...any) {
	if p.w == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if time.Since(p.last) < 5*time.Second {
		return
	}
	p.last = time.Now()
	fmt.Fprintf(p.w, format+"\n", a...)
}

// sessions opens k MCP sessions.
func sessions(ctx context.Context, base string, hc *http.Client, k int) ([]*mcp.ClientSession, error) {
	out := make([]*mcp.ClientSession, 0, k)
	for range k {
		cs, err := connect(ctx, base, hc)
		if err != nil {
			closeAll(out)
			return nil, err
		}
		out = append(out, cs)
	}
	return out, nil
}

func closeAll(css []*mcp.ClientSession) {
	for _, cs := range css {
		_ = cs.Close()
	}
}

// seed saves every turn of c with save_conversation from clients
// concurrent MCP sessions. It stops at the first failure.
func seed(ctx context.Context, css []*mcp.ClientSession, c *corpus, meter *cpuMeter, log io.Writer) (seedResult, error) {
	res := seedResult{Memories: c.n, Sessions: c.Sessions(), Clients: len(css)}
	var done, dedup, bytes atomic.Int64
	lat := make([][]time.Duration, len(css))
	p := &progress{w: log, last: time.Now()}
	cpu0 := meter.sample(ctx)
	start := time.Now()
	elapsed, err := forEach(ctx, css, c.n, func(ctx context.Context, w int, cs *mcp.ClientSession, i int) error {
		t := c.Turn(i)
		t0 := time.Now()
		r, err := save(ctx, cs, t)
		if err != nil {
			return fmt.Errorf("seed turn %d: %w", i, err)
		}
		lat[w] = append(lat[w], time.Since(t0))
		if r.Deduplicated {
			dedup.Add(1)
		}
		bytes.Add(int64(len(t.UserPrompt) + len(t.AssistantResponse)))
		n := done.Add(1)
		p.maybe("sage-bench: seeded %d/%d (%.0f saves/s)", n, c.n, float64(n)/time.Since(start).Seconds())
		return nil
	})
	if err != nil {
		return res, err
	}
	res.CPU = meter.perCall(cpu0, meter.sample(ctx), c.n)
	res.Seconds = elapsed.Seconds()
	res.PerSecond = float64(c.n) / elapsed.Seconds()
	res.Deduplicated = int(dedup.Load())
	res.TextBytes = bytes.Load()
	res.Latency = summarize(slices.Concat(lat...))
	return res, nil
}

// forEach calls do for the items 0 to n-1 from one goroutine per session
// (w is the session's index in css), each taking the next item in turn. The
// first error stops them all and is returned. It returns how long it took.
func forEach(ctx context.Context, css []*mcp.ClientSession, n int, do func(ctx context.Context, w int, cs *mcp.ClientSession, i int) error) (time.Duration, error) {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	var next atomic.Int64
	start := time.Now()
	var wg sync.WaitGroup
	for w, cs := range css {
		wg.Go(func() {
			for ctx.Err() == nil {
				i := int(next.Add(1) - 1)
				if i >= n {
					return
				}
				if err := do(ctx, w, cs, i); err != nil {
					cancel(err)
					return
				}
			}
		})
	}
	wg.Wait()
	return time.Since(start), context.Cause(ctx)
}

// phaseResult is the outcome of one query phase.
type phaseResult struct {
	Tool        string  `json:"tool"`
	Concurrency int     `json:"concurrency"`
	Calls       int     `json:"calls"`
	Filtered    int     `json:"with_project_filter"`
	NonEmpty    int     `json:"non_empty"`
	Results     float64 `json:"mean_results"`
	Seconds     float64 `json:"seconds"`
	PerSecond   float64 `json:"calls_per_second"`
	Latency     latency `json:"latency"`
	// ByKind breaks the latency down by kind of query (matching, vague,
	// unrelated; "+project" with a project filter).
	ByKind map[string]latency `json:"latency_by_kind"`
	CPU    *cpuPerCall        `json:"cpu_ms_per_call,omitempty"`
}

// queryFunc runs one query and returns how many results it gave.
type queryFunc func(ctx context.Context, cs *mcp.ClientSession, q query) (int, error)

// measure runs warmup unmeasured queries, then every query of qs, from
// len(css) concurrent sessions, timing each call.
func measure(ctx context.Context, tool string, fn queryFunc, css []*mcp.ClientSession, warmup, qs []query, meter *cpuMeter, log io.Writer) (phaseResult, error) {
	res := phaseResult{Tool: tool, Concurrency: len(css), Calls: len(qs)}
	run := func(qs []query, timed bool) ([]time.Duration, []int, time.Duration, error) {
		lat := make([]time.Duration, len(qs))
		got := make([]int, len(qs))
		p := &progress{w: log, last: time.Now()}
		elapsed, err := forEach(ctx, css, len(qs), func(ctx context.Context, _ int, cs *mcp.ClientSession, i int) error {
			t0 := time.Now()
			n, err := fn(ctx, cs, qs[i])
			if err != nil {
				return fmt.Errorf("query %q: %w", qs[i].Text, err)
			}
			lat[i], got[i] = time.Since(t0), n
			if timed {
				p.maybe("sage-bench: %s c=%d: %d/%d", tool, len(css), i+1, len(qs))
			}
			return nil
		})
		return lat, got, elapsed, err
	}
	if _, _, _, err := run(warmup, false); err != nil {
		return res, fmt.Errorf("%s warmup: %w", tool, err)
	}
	cpu0 := meter.sample(ctx)
	lat, got, elapsed, err := run(qs, true)
	if err != nil {
		return res, fmt.Errorf("%s: %w", tool, err)
	}
	res.CPU = meter.perCall(cpu0, meter.sample(ctx), len(qs))
	total := 0
	byKind := map[string][]time.Duration{}
	for i, q := range qs {
		k := q.Kind
		if q.Project != "" {
			k += "+project"
		}
		byKind[k] = append(byKind[k], lat[i])
		if q.Project != "" {
			res.Filtered++
		}
		if got[i] > 0 {
			res.NonEmpty++
		}
		total += got[i]
	}
	res.Results = float64(total) / float64(len(qs))
	res.Seconds = elapsed.Seconds()
	res.PerSecond = float64(len(qs)) / elapsed.Seconds()
	res.Latency = summarize(lat)
	res.ByKind = map[string]latency{}
	for k, l := range byKind {
		res.ByKind[k] = summarize(l)
	}
	return res, nil
}
