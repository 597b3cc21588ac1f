package console

import (
	"context"
	"sync"
	"time"

	sage "github.com/sage-mcp/sage/daemon"
)

// summaryTTL is how long a namespace's counts (Status and Overview) are
// served before they are recomputed in the background. Counting 100 000
// memories exactly takes longer than a page may (50 ms), so the overview
// and settings pages show counts at most this old (plus one refresh).
const summaryTTL = 30 * time.Second

// summary is a namespace's counts, as of At.
type summary struct {
	At       time.Time
	Status   sage.Status
	Overview sage.Overview
}

// summaryEntry is the cached summary of one namespace.
type summaryEntry struct {
	s          *summary
	refreshing bool
}

// summaries caches each namespace's summary.
type summaries struct {
	mu sync.Mutex
	m  map[string]*summaryEntry
}

// summary returns ns's counts: cached ones when there are (a stale cache is
// refreshed in the background), else computed now.
func (c *Console) summary(ctx context.Context, ns string) (summary, error) {
	now := c.opts.Now()
	c.sums.mu.Lock()
	e := c.sums.m[ns]
	if e != nil && e.s != nil {
		s := *e.s
		if now.Sub(s.At) >= summaryTTL && !e.refreshing {
			e.refreshing = true
			go c.refreshSummary(ns)
		}
		c.sums.mu.Unlock()
		return s, nil
	}
	c.sums.mu.Unlock()
	s, err := c.computeSummary(ctx, ns)
	if err != nil {
		return summary{}, err
	}
	c.storeSummary(ns, s)
	return s, nil
}

func (c *Console) computeSummary(ctx context.Context, ns string) (summary, error) {
	ctx = sage.WithNamespace(ctx, ns)
	s := summary{At: c.opts.Now()}
	var err error
	if s.Status, err = c.svc.Status(ctx); err != nil {
		return s, err
	}
	s.Overview, err = c.svc.Overview(ctx, overviewDays)
	return s, err
}

func (c *Console) storeSummary(ns string, s summary) {
	c.sums.mu.Lock()
	defer c.sums.mu.Unlock()
	e := c.sums.m[ns]
	if e == nil {
		e = &summaryEntry{}
		c.sums.m[ns] = e
	}
	if e.s == nil || !s.At.Before(e.s.At) {
		e.s = &s
	}
	e.refreshing = false
}

// refreshSummary recomputes ns's summary in the background.
func (c *Console) refreshSummary(ns string) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	s, err := c.computeSummary(ctx, ns)
	if err != nil {
		c.log.Warn("console: counting failed", "namespace", ns, "err", err)
		c.sums.mu.Lock()
		if e := c.sums.m[ns]; e != nil {
			e.refreshing = false
		}
		c.sums.mu.Unlock()
		return
	}
	c.storeSummary(ns, s)
}

// warmSummary starts computing ns's summary unless one is cached or being
// computed (at sign-in, so the overview is ready when asked for).
func (c *Console) warmSummary(ns string) {
	c.sums.mu.Lock()
	e := c.sums.m[ns]
	if e == nil {
		e = &summaryEntry{}
		c.sums.m[ns] = e
	}
	start := e.s == nil && !e.refreshing
	if start {
		e.refreshing = true
	}
	c.sums.mu.Unlock()
	if start {
		go c.refreshSummary(ns)
	}
}

// staleSummary marks ns's counts out of date after a change made in the
// console: the next page refreshes them in the background.
func (c *Console) staleSummary(ns string) {
	c.sums.mu.Lock()
	defer c.sums.mu.Unlock()
	if e := c.sums.m[ns]; e != nil && e.s != nil {
		s := *e.s
		s.At = time.Time{}
		e.s = &s
	}
}
