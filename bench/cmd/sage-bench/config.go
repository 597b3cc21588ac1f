package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Environment variables; the flag of the same meaning wins over each.
const (
	EnvDatabaseURL = "SAGE_BENCH_DATABASE_URL"
	EnvDaemonURL   = "SAGE_BENCH_DAEMON_URL"
	EnvToken       = "SAGE_BENCH_TOKEN"
)

// Defaults and limits of Config.
const (
	DefaultMemories    = 10000
	DefaultQueries     = 1000
	DefaultClients     = 8
	DefaultWarmup      = 50
	DefaultSeed        = 1
	DefaultStartupWait = 2 * time.Minute
	MaxMemories        = 10_000_000
	MaxQueries         = 1_000_000
	MaxConcurrency     = 256
)

// Config is what one benchmark run does.
type Config struct {
	// Memories is how many turns to seed with save_conversation (-n).
	Memories int
	// Clients is how many MCP clients save concurrently (-clients).
	Clients int
	// Queries is how many search_memory (per concurrency level) and
	// get_context calls are measured (-queries).
	Queries int
	// SearchConcurrency lists the concurrency levels of search_memory
	// (-search-concurrency, e.g. "1,4").
	SearchConcurrency []int
	// ContextConcurrency is the concurrency of get_context.
	ContextConcurrency int
	// Warmup calls run before each query phase and are not measured.
	Warmup int
	// Seed makes the corpus and the queries reproducible.
	Seed uint64
	// NoSeed skips seeding: the queries are about a store seeded by an
	// earlier run with the same -n and -seed (with -daemon-url, or a kept
	// database). Matching queries still match: the texts depend only on
	// -seed and -n.
	NoSeed bool

	// DatabaseURL names the PostgreSQL server (with pgvector) on which a
	// fresh database is created for the daemon and dropped after (-database-url,
	// SAGE_BENCH_DATABASE_URL).
	DatabaseURL string
	// Keep keeps that database after the run (for EXPLAIN ANALYZE).
	Keep bool
	// Analyze runs ANALYZE on the memories table after seeding, as
	// autovacuum would have done on a store in steady state.
	Analyze bool
	// DaemonBin is a sage-daemon binary to run; empty builds
	// ./daemon/cmd/sage-daemon with "go build" into a temporary directory.
	DaemonBin string
	// StartupWait bounds how long the daemon may take to become ready.
	StartupWait time.Duration

	// DaemonURL is an already running daemon to benchmark instead
	// (-daemon-url, SAGE_BENCH_DAEMON_URL); Token is its bearer token
	// (-token, SAGE_BENCH_TOKEN) and DaemonPID its process id for RSS.
	DaemonURL string
	Token     string
	DaemonPID int

	// JSON prints the report as JSON instead of a markdown table.
	JSON bool
	// CPUProfile writes a CPU profile of the benchmark client to this file.
	CPUProfile string
	// Quiet silences the progress lines on stderr.
	Quiet bool
}

// defaultConfig returns the defaults.
func defaultConfig() Config {
	return Config{
		Memories:           DefaultMemories,
		Clients:            DefaultClients,
		Queries:            DefaultQueries,
		SearchConcurrency:  []int{1, 4},
		ContextConcurrency: 1,
		Warmup:             DefaultWarmup,
		Seed:               DefaultSeed,
		Analyze:            true,
		StartupWait:        DefaultStartupWait,
	}
}

// loadConfig fills a Config from the defaults, then the environment, then
// args (flags win).
func loadConfig(args []string, getenv func(string) string, stderr io.Writer) (Config, error) {
	cfg := defaultConfig()
	cfg.DatabaseURL = getenv(EnvDatabaseURL)
	cfg.DaemonURL = getenv(EnvDaemonURL)
	cfg.Token = getenv(EnvToken)

	fs := flag.NewFlagSet("sage-bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "usage: sage-bench [flags]\n\n"+
			"Starts sage-daemon (built from ./daemon/cmd/sage-daemon) against a fresh database on the\n"+
			"PostgreSQL server of -database-url, seeds -n memories with save_conversation over MCP,\n"+
			"measures search_memory and get_context latency and the daemon's RSS, and drops the\n"+
			"database. With -daemon-url it uses a running daemon as is instead (and adds -n memories).\n\nflags:\n")
		fs.PrintDefaults()
	}
	fs.IntVar(&cfg.Memories, "n", cfg.Memories, "memories (turns) to seed")
	fs.IntVar(&cfg.Clients, "clients", cfg.Clients, "concurrent MCP clients while seeding")
	fs.IntVar(&cfg.Queries, "queries", cfg.Queries, "measured calls per query phase")
	conc := fs.String("search-concurrency", joinInts(cfg.SearchConcurrency), "comma-separated concurrency levels of the search_memory phases")
	fs.IntVar(&cfg.ContextConcurrency, "context-concurrency", cfg.ContextConcurrency, "concurrency of the get_context phase")
	fs.IntVar(&cfg.Warmup, "warmup", cfg.Warmup, "unmeasured calls before each query phase")
	fs.Uint64Var(&cfg.Seed, "seed", cfg.Seed, "seed of the corpus and the queries")
	fs.BoolVar(&cfg.NoSeed, "no-seed", cfg.NoSeed, "do not seed: query a store seeded earlier with the same -n and -seed (needs -daemon-url)")
	fs.StringVar(&cfg.DatabaseURL, "database-url", cfg.DatabaseURL, "PostgreSQL server URL (a fresh database is created on it and dropped after; env "+EnvDatabaseURL+")")
	fs.BoolVar(&cfg.Keep, "keep", cfg.Keep, "keep the benchmark database after the run")
	fs.BoolVar(&cfg.Analyze, "analyze", cfg.Analyze, "ANALYZE the memories table after seeding (own database only)")
	fs.StringVar(&cfg.DaemonBin, "daemon-bin", cfg.DaemonBin, "sage-daemon binary to run (default: go build ./daemon/cmd/sage-daemon)")
	fs.DurationVar(&cfg.StartupWait, "startup-wait", cfg.StartupWait, "how long the daemon may take to become ready")
	fs.StringVar(&cfg.DaemonURL, "daemon-url", cfg.DaemonURL, "benchmark this running daemon instead of starting one (env "+EnvDaemonURL+")")
	fs.StringVar(&cfg.Token, "token", cfg.Token, "bearer token of -daemon-url (env "+EnvToken+")")
	fs.IntVar(&cfg.DaemonPID, "daemon-pid", cfg.DaemonPID, "process id of -daemon-url, to report its RSS")
	fs.BoolVar(&cfg.JSON, "json", cfg.JSON, "print the report as JSON")
	fs.StringVar(&cfg.CPUProfile, "cpuprofile", cfg.CPUProfile, "write a CPU profile of the benchmark client to this file")
	fs.BoolVar(&cfg.Quiet, "q", cfg.Quiet, "no progress lines on stderr")
	if err := fs.Parse(args); err != nil {
		return cfg, err
	}
	if fs.NArg() > 0 {
		return cfg, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	levels, err := parseInts(*conc)
	if err != nil {
		return cfg, fmt.Errorf("-search-concurrency: %w", err)
	}
	cfg.SearchConcurrency = levels
	return cfg, nil
}

// Validate reports every problem of c.
func (c Config) Validate() error {
	var errs []error
	check := func(ok bool, format string, a ...any) {
		if !ok {
			errs = append(errs, fmt.Errorf(format, a...))
		}
	}
	check(c.Memories >= 1 && c.Memories <= MaxMemories, "-n must be 1..%d, not %d", MaxMemories, c.Memories)
	check(c.Clients >= 1 && c.Clients <= MaxConcurrency, "-clients must be 1..%d, not %d", MaxConcurrency, c.Clients)
	check(c.Queries >= 1 && c.Queries <= MaxQueries, "-queries must be 1..%d, not %d", MaxQueries, c.Queries)
	check(c.Warmup >= 0 && c.Warmup <= MaxQueries, "-warmup must be 0..%d, not %d", MaxQueries, c.Warmup)
	check(len(c.SearchConcurrency) > 0, "-search-concurrency needs at least one level")
	for _, l := range c.SearchConcurrency {
		check(l >= 1 && l <= MaxConcurrency, "-search-concurrency levels must be 1..%d, not %d", MaxConcurrency, l)
	}
	check(c.ContextConcurrency >= 1 && c.ContextConcurrency <= MaxConcurrency, "-context-concurrency must be 1..%d, not %d", MaxConcurrency, c.ContextConcurrency)
	check(c.StartupWait > 0, "-startup-wait must be positive")
	if c.DaemonURL != "" {
		u, err := url.Parse(c.DaemonURL)
		check(err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != "", "-daemon-url must be an http(s) URL like http://127.0.0.1:17800")
		check(c.Token != "", "-daemon-url needs -token (or %s)", EnvToken)
		check(c.DaemonPID >= 0, "-daemon-pid must not be negative")
	} else {
		check(c.DatabaseURL != "", "-database-url (or %s) is required: a PostgreSQL server with pgvector, e.g. postgres://postgres@127.0.0.1:5432/postgres", EnvDatabaseURL)
		if c.DatabaseURL != "" {
			u, err := url.Parse(c.DatabaseURL)
			check(err == nil && (u.Scheme == "postgres" || u.Scheme == "postgresql"), "-database-url must be a postgres:// URL")
		}
		check(c.DaemonPID == 0, "-daemon-pid goes with -daemon-url")
		check(!c.NoSeed, "-no-seed goes with -daemon-url: a fresh database has nothing to query")
	}
	return errors.Join(errs...)
}

func parseInts(s string) ([]int, error) {
	var out []int
	for f := range strings.SplitSeq(s, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		n, err := strconv.Atoi(f)
		if err != nil {
			return nil, fmt.Errorf("%q is not a number", f)
		}
		out = append(out, n)
	}
	return out, nil
}

func joinInts(l []int) string {
	s := make([]string, len(l))
	for i, n := range l {
		s[i] = strconv.Itoa(n)
	}
	return strings.Join(s, ",")
}
