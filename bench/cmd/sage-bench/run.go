package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
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
	if cfg.CPUProfile != "" {
		f, err := os.Create(cfg.CPUProfile)
		if err != nil {
			return nil, fmt.Errorf("cpu profile: %w", err)
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return nil, fmt.Errorf("cpu profile: %w", err)
		}
		defer pprof.StopCPUProfile()
	}
	r := &report{Date: time.Now().UTC(), Command: command, Machine: describeMachine()}
	r.Load.Start = loadAverage()

	base, token, pid := cfg.DaemonURL, cfg.Token, cfg.DaemonPID
	var db *benchDB
	if base == "" {
		dir, err := os.MkdirTemp("", "sage-bench-")
		if err != nil {
			return nil, fmt.Errorf("temp dir: %w", err)
		}
		defer os.RemoveAll(dir)
		bin := cfg.DaemonBin
		if bin == "" {
			logf(log, "building %s", daemonPkg)
			if bin, err = buildDaemon(ctx, dir); err != nil {
				return nil, err
			}
		}
		if db, err = createDatabase(ctx, cfg.DatabaseURL); err != nil {
			return nil, err
		}
		defer func() {
			if cfg.Keep {
				logf(log, "kept database %s", db.name)
				return
			}
			dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
			defer cancel()
			if err := db.drop(dctx); err != nil && retErr == nil {
				retErr = err
			}
		}()
		logf(log, "starting sage-daemon on database %s", db.name)
		d, err := startDaemon(ctx, bin, dir, db.url, cfg.StartupWait)
		if err != nil {
			return nil, err
		}
		defer func() {
			if err := d.stop(); err != nil && retErr == nil && ctx.Err() == nil {
				retErr = fmt.Errorf("daemon exited with %v\n%s", err, d.logTail(20))
			}
		}()
		base, token, pid = d.URL, d.Token, d.PID()
		r.Daemon.Started = true
	}

	hc := newHTTPClient(token, max(cfg.Clients, cfg.ContextConcurrency, maxInt(cfg.SearchConcurrency))+2)
	c := newCorpus(cfg.Seed, "bench-"+randomHex(4), cfg.Memories)

	css, err := sessions(ctx, base, hc, cfg.Clients)
	if err != nil {
		return nil, err
	}
	meter := &cpuMeter{daemonPID: pid}
	if db != nil {
		meter.dbURL, meter.dbName = db.url, db.name
	}
	if !cfg.NoSeed {
		logf(log, "seeding %d memories in %d sessions with %d clients", cfg.Memories, c.Sessions(), cfg.Clients)
		r.Seed, err = seed(ctx, css, c, meter, log)
		if err != nil {
			closeAll(css)
			return nil, err
		}
		logf(log, "seeded in %.1fs: %.0f saves/s", r.Seed.Seconds, r.Seed.PerSecond)
	}
	r.Load.AfterSeed = loadAverage()
	if pid > 0 {
		m, err := readMemStatus(pid)
		if err != nil {
			closeAll(css)
			return nil, err
		}
		r.RSS.AfterSeed = &m
	}
	if db != nil && cfg.Analyze {
		if err := db.analyze(ctx); err != nil {
			closeAll(css)
			return nil, err
		}
	}
	st, err := status(ctx, css[0])
	closeAll(css)
	if err != nil {
		return nil, err
	}
	r.Daemon.Version, r.Daemon.Postgres, r.Daemon.Pgvector = st.Version, st.PostgresVersion, st.PgvectorVersion
	r.Daemon.Embedder, r.Daemon.Model, r.Daemon.Pending = st.Embedder, st.EmbeddingModel, st.PendingEmbeddings
	r.Stored = st.Memories

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
			return nil, err
		}
		logf(log, "measuring %d %s calls, concurrency %d", len(qs), p.tool, p.conc)
		res, err := measure(ctx, p.tool, p.fn, css, warm, qs, meter, log)
		closeAll(css)
		if err != nil {
			return nil, err
		}
		logf(log, "%s c=%d: p50 %.1f ms, p95 %.1f ms, p99 %.1f ms", p.tool, p.conc, res.Latency.P50, res.Latency.P95, res.Latency.P99)
		r.Queries = append(r.Queries, res)
	}
	r.Load.End = loadAverage()
	if pid > 0 {
		m, err := readMemStatus(pid)
		if err != nil {
			return nil, err
		}
		r.RSS.AfterQueries = &m
	}
	r.evaluate()
	return r, nil
}

func maxInt(l []int) int {
	m := 0
	for _, v := range l {
		m = max(m, v)
	}
	return m
}
