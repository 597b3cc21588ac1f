package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"runtime/pprof"
	"strings"
	"time"
)

// Run runs the benchmark with args (without the program name) and returns
// the exit code: 0 when it ran (whether or not the targets were met), 1 when
// it failed, 2 for bad flags.
func Run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	cfg, err := loadConfig(args, os.Getenv, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err == nil {
		err = cfg.Validate()
	}
	if err != nil {
		fmt.Fprintf(stderr, "sage-bench: %v\n", err)
		return 2
	}
	log := stderr
	if cfg.Quiet {
		log = nil
	}
	r, err := bench(ctx, cfg, strings.Join(args, " "), log)
	if err != nil {
		fmt.Fprintf(stderr, "sage-bench: %v\n", err)
		return 1
	}
	if cfg.JSON {
		err = r.writeJSON(stdout)
	} else {
		err = r.writeMarkdown(stdout)
	}
	if err != nil {
		fmt.Fprintf(stderr, "sage-bench: write report: %v\n", err)
		return 1
	}
	return 0
}

// logf prints a progress line when log is not nil.
func logf(log io.Writer, format string, a ...any) {
	if log != nil {
		fmt.Fprintf(log, "sage-bench: "+format+"\n", a...)
	}
}

// bench runs one benchmark and returns its report.
func bench(ctx context.Context, cfg Config, command string, log io.Writer) (_ *report, retErr error) {
	stopProfile, err := startCPUProfile(cfg.CPUProfile)
	if err != nil {
		return nil, err
	}
	defer stopProfile()
	r := &report{Date: time.Now().UTC(), Command: command, Machine: describeMachine()}
	r.Load.Start = loadAverage()

	t := daemonRef{url: cfg.DaemonURL, token: cfg.Token, pid: cfg.DaemonPID}
	if t.url == "" {
		var stop func() error
		if t, stop, err = ownDaemon(ctx, cfg, log); err != nil {
			return nil, err
		}
		defer func() {
			if err := stop(); err != nil && retErr == nil {
				retErr = err
			}
		}()
		r.Daemon.Started = true
	}

	hc := newHTTPClient(t.token, max(cfg.Clients, cfg.ContextConcurrency, maxInt(cfg.SearchConcurrency))+2)
	c := newCorpus(cfg.Seed, "bench-"+randomHex(4), cfg.Memories)
	meter := &cpuMeter{daemonPID: t.pid}
	if t.db != nil {
		meter.dbURL, meter.dbName = t.db.url, t.db.name
	}
	if err := seedPhase(ctx, cfg, r, t, hc, c, meter, log); err != nil {
		return nil, err
	}
	if err := queryPhases(ctx, cfg, r, t.url, hc, c, meter, log); err != nil {
		return nil, err
	}
	r.Load.End = loadAverage()
	if t.pid > 0 {
		m, err := readMemStatus(t.pid)
		if err != nil {
			return nil, err
		}
		r.RSS.AfterQueries = &m
	}
	r.evaluate()
	return r, nil
}

// daemonRef is the daemon a benchmark measures.
type daemonRef struct {
	url, token string
	pid        int      // 0 when unknown (a remote daemon without -daemon-pid)
	db         *benchDB // the benchmark's own database, nil with -daemon-url
}

// startCPUProfile writes a CPU profile to path until the returned stop is
// called; with an empty path it does nothing.
func startCPUProfile(path string) (stop func(), err error) {
	if path == "" {
		return func() {}, nil
	}
	f, err := os.Create(path)
	if err != nil {
		return nil, fmt.Errorf("cpu profile: %w", err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, fmt.Errorf("cpu profile: %w", err)
	}
	return func() { pprof.StopCPUProfile(); f.Close() }, nil
}

// ownDaemon creates a database of its own and starts sage-daemon on it
// (building it unless -daemon-bin names one). stop stops the daemon, then
// drops the database (unless -keep) and removes the temporary directory;
// it returns the first failure.
func ownDaemon(ctx context.Context, cfg Config, log io.Writer) (_ daemonRef, stop func() error, retErr error) {
	dir, err := os.MkdirTemp("", "sage-bench-")
	if err != nil {
		return daemonRef{}, nil, fmt.Errorf("temp dir: %w", err)
	}
	var undo []func() error // run in reverse by stop
	undo = append(undo, func() error { os.RemoveAll(dir); return nil })
	cleanup := func() error {
		var first error
		for i := len(undo) - 1; i >= 0; i-- {
			if err := undo[i](); err != nil && first == nil {
				first = err
			}
		}
		return first
	}
	defer func() {
		if retErr != nil {
			cleanup()
		}
	}()
	bin := cfg.DaemonBin
	if bin == "" {
		logf(log, "building %s", daemonPkg)
		if bin, err = buildDaemon(ctx, dir); err != nil {
			return daemonRef{}, nil, err
		}
	}
	db, err := createDatabase(ctx, cfg.DatabaseURL)
	if err != nil {
		return daemonRef{}, nil, err
	}
	undo = append(undo, func() error {
		if cfg.Keep {
			logf(log, "kept database %s", db.name)
			return nil
		}
		dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
		defer cancel()
		return db.drop(dctx)
	})
	logf(log, "starting sage-daemon on database %s", db.name)
	d, err := startDaemon(ctx, bin, dir, db.url, cfg.StartupWait)
	if err != nil {
		return daemonRef{}, nil, err
	}
	undo = append(undo, func() error {
		if err := d.stop(); err != nil && ctx.Err() == nil {
			return fmt.Errorf("daemon exited with %v\n%s", err, d.logTail(20))
		}
		return nil
	})
	return daemonRef{url: d.URL, token: d.Token, pid: d.PID(), db: db}, cleanup, nil
}

// seedPhase saves the corpus (unless -no-seed), then records the daemon's
// memory use and status in r.
func seedPhase(ctx context.Context, cfg Config, r *report, t daemonRef, hc *http.Client, c *corpus, meter *cpuMeter, log io.Writer) error {
	css, err := sessions(ctx, t.url, hc, cfg.Clients)
	if err != nil {
		return err
	}
	defer closeAll(css)
	if !cfg.NoSeed {
		logf(log, "seeding %d memories in %d sessions with %d clients", cfg.Memories, c.Sessions(), cfg.Clients)
		if r.Seed, err = seed(ctx, css, c, meter, log); err != nil {
			return err
		}
		logf(log, "seeded in %.1fs: %.0f saves/s", r.Seed.Seconds, r.Seed.PerSecond)
	}
	r.Load.AfterSeed = loadAverage()
	if t.pid > 0 {
		m, err := readMemStatus(t.pid)
		if err != nil {
			return err
		}
		r.RSS.AfterSeed = &m
	}
	if t.db != nil && cfg.Analyze {
		if err := t.db.analyze(ctx); err != nil {
			return err
		}
	}
	st, err := status(ctx, css[0])
	if err != nil {
		return err
	}
	r.Daemon.Version, r.Daemon.Postgres, r.Daemon.Pgvector = st.Version, st.PostgresVersion, st.PgvectorVersion
	r.Daemon.Embedder, r.Daemon.Model, r.Daemon.Pending = st.Embedder, st.EmbeddingModel, st.PendingEmbeddings
	r.Stored = st.Memories
	return nil
}

// queryPhases measures search_memory at each -search-concurrency, then
// get_context, and appends the results to r.
func queryPhases(ctx context.Context, cfg Config, r *report, base string, hc *http.Client, c *corpus, meter *cpuMeter, log io.Writer) error {
	qs := c.Queries(cfg.Seed+1, cfg.Queries)
	warm := c.Queries(cfg.Seed+2, cfg.Warmup)
	type phase struct {
		tool string
		fn   queryFunc
		conc int
	}
	var phases []phase
	for _, l := range cfg.SearchConcurrency {
		phases = append(phases, phase{toolSearch, search, l})
	}
	phases = append(phases, phase{toolContext, getContext, cfg.ContextConcurrency})
	for _, p := range phases {
		css, err := sessions(ctx, base, hc, p.conc)
		if err != nil {
			return err
		}
		logf(log, "measuring %d %s calls, concurrency %d", len(qs), p.tool, p.conc)
		res, err := measure(ctx, p.tool, p.fn, css, warm, qs, meter, log)
		closeAll(css)
		if err != nil {
			return err
		}
		logf(log, "%s c=%d: p50 %.1f ms, p95 %.1f ms, p99 %.1f ms", p.tool, p.conc, res.Latency.P50, res.Latency.P95, res.Latency.P99)
		r.Queries = append(r.Queries, res)
	}
	return nil
}

func maxInt(l []int) int {
	m := 0
	for _, v := range l {
		m = max(m, v)
	}
	return m
}
