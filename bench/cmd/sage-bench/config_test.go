package main

import (
	"bufio"
	"io"
	"os"
	"slices"
	"strings"
	"testing"
	"time"
)

func env(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

func MustLoad(t *testing.T, args []string, e map[string]string) Config {
	t.Helper()
	cfg, err := loadConfig(args, env(e), io.Discard)
	if err != nil {
		t.Fatalf("loadConfig(%q): %v", args, err)
	}
	return cfg
}

func TestLoadConfigPrecedence(t *testing.T) {
	const envURL, flagURL = "postgres://env@h/db", "postgres://flag@h/db"
	cfg := MustLoad(t, nil, map[string]string{EnvDatabaseURL: envURL})
	if cfg.DatabaseURL != envURL || cfg.Memories != DefaultMemories || !slices.Equal(cfg.SearchConcurrency, []int{1, 4}) || !cfg.Analyze {
		t.Errorf("defaults + env: %+v", cfg)
	}
	cfg = MustLoad(t, []string{"-database-url", flagURL, "-n", "100000", "-search-concurrency", "1, 2,8", "-json"},
		map[string]string{EnvDatabaseURL: envURL})
	if cfg.DatabaseURL != flagURL || cfg.Memories != 100000 || !slices.Equal(cfg.SearchConcurrency, []int{1, 2, 8}) || !cfg.JSON {
		t.Errorf("flags must win: %+v", cfg)
	}
	cfg = MustLoad(t, nil, map[string]string{EnvDaemonURL: "http://127.0.0.1:17800", EnvToken: "secret-token-123456"})
	if cfg.DaemonURL != "http://127.0.0.1:17800" || cfg.Token != "secret-token-123456" {
		t.Errorf("daemon from env: %+v", cfg)
	}
}

func TestLoadConfigErrors(t *testing.T) {
	for _, args := range [][]string{
		{"-n", "many"},
		{"-search-concurrency", "1,x"},
		{"extra"},
		{"-no-such-flag"},
	} {
		if _, err := loadConfig(args, env(nil), io.Discard); err == nil {
			t.Errorf("loadConfig(%q) accepted", args)
		}
	}
}

func TestValidate(t *testing.T) {
	ok := defaultConfig()
	ok.DatabaseURL = "postgres://postgres@127.0.0.1:5432/postgres"
	for _, tc := range []struct {
		name string
		edit func(c *Config)
		want string // "" means valid
	}{
		{"defaults with a database", func(c *Config) {}, ""},
		{"running daemon", func(c *Config) {
			c.DatabaseURL, c.DaemonURL, c.Token, c.DaemonPID = "", "http://127.0.0.1:17800", "t0ken-t0ken-t0ken", 42
		}, ""},
		{"no database", func(c *Config) { c.DatabaseURL = "" }, "-database-url"},
		{"not postgres", func(c *Config) { c.DatabaseURL = "mysql://x/y" }, "postgres:// URL"},
		{"zero memories", func(c *Config) { c.Memories = 0 }, "-n must be"},
		{"too many memories", func(c *Config) { c.Memories = MaxMemories + 1 }, "-n must be"},
		{"zero clients", func(c *Config) { c.Clients = 0 }, "-clients"},
		{"zero queries", func(c *Config) { c.Queries = 0 }, "-queries"},
		{"negative warmup", func(c *Config) { c.Warmup = -1 }, "-warmup"},
		{"no levels", func(c *Config) { c.SearchConcurrency = nil }, "at least one level"},
		{"bad level", func(c *Config) { c.SearchConcurrency = []int{1, 0} }, "levels must be"},
		{"bad context concurrency", func(c *Config) { c.ContextConcurrency = MaxConcurrency + 1 }, "-context-concurrency"},
		{"no startup wait", func(c *Config) { c.StartupWait = 0 }, "-startup-wait"},
		{"daemon without token", func(c *Config) { c.DaemonURL = "http://127.0.0.1:17800" }, "needs -token"},
		{"daemon url not http", func(c *Config) { c.DaemonURL, c.Token = "127.0.0.1:17800", "x" }, "http(s) URL"},
		{"pid without daemon", func(c *Config) { c.DaemonPID = 7 }, "-daemon-pid goes with"},
		{"no seed without daemon", func(c *Config) { c.NoSeed = true }, "-no-seed goes with"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := ok
			c.SearchConcurrency = slices.Clone(ok.SearchConcurrency)
			tc.edit(&c)
			err := c.Validate()
			switch {
			case tc.want == "" && err != nil:
				t.Errorf("Validate: %v", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Errorf("Validate = %v; want an error about %q", err, tc.want)
			}
			if err != nil && strings.Contains(err.Error(), c.Token) && c.Token != "" {
				t.Errorf("error shows the token: %v", err)
			}
		})
	}
}

func TestSummarize(t *testing.T) {
	ms := func(n ...int) []time.Duration {
		out := make([]time.Duration, len(n))
		for i, v := range n {
			out[i] = time.Duration(v) * time.Millisecond
		}
		return out
	}
	hundred := make([]int, 100)
	for i := range hundred {
		hundred[i] = 100 - i // 100..1, unsorted
	}
	for _, tc := range []struct {
		name string
		in   []time.Duration
		want latency
	}{
		{"empty", nil, latency{}},
		{"one", ms(7), latency{Count: 1, Mean: 7, P50: 7, P95: 7, P99: 7, Max: 7}},
		{"hundred", ms(hundred...), latency{Count: 100, Mean: 50.5, P50: 50, P95: 95, P99: 99, Max: 100}},
		{"ten", ms(10, 1, 2, 3, 4, 5, 6, 7, 8, 9), latency{Count: 10, Mean: 5.5, P50: 5, P95: 10, P99: 10, Max: 10}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := summarize(tc.in); got != tc.want {
				t.Errorf("summarize = %+v; want %+v", got, tc.want)
			}
		})
	}
}

func TestParseMemStatus(t *testing.T) {
	for _, tc := range []struct {
		name, in string
		want     memStatus
		ok       bool
	}{
		{"linux", "Name:\tsage-daemon\nVmPeak:\t  900000 kB\nVmHWM:\t   40960 kB\nVmRSS:\t   30720 kB\nThreads:\t9\n", memStatus{VmRSSKiB: 30720, VmHWMKiB: 40960}, true},
		{"missing", "Name:\tx\nVmRSS:\t 1 kB\n", memStatus{}, false},
		{"odd unit", "VmHWM:\t 1 MB\nVmRSS:\t 1 kB\n", memStatus{}, false},
		{"not a number", "VmHWM:\t x kB\nVmRSS:\t 1 kB\n", memStatus{}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := parseMemStatus("status", bufio.NewScanner(strings.NewReader(tc.in)))
			if (err == nil) != tc.ok || (tc.ok && got != tc.want) {
				t.Errorf("parseMemStatus = %+v, %v; want %+v (ok=%v)", got, err, tc.want, tc.ok)
			}
		})
	}
}

func TestReadMemStatusOfSelf(t *testing.T) {
	m, err := readMemStatus(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	if m.VmRSSKiB <= 0 || m.VmHWMKiB < m.VmRSSKiB {
		t.Errorf("own memory: %+v", m)
	}
}

func TestParseStatTicks(t *testing.T) {
	for _, tc := range []struct {
		name, in string
		want     int64
		ok       bool
	}{
		{"plain", "1234 (sage-daemon) S 1 1234 1234 0 -1 4194560 900 0 0 0 250 75 0 0 20 0 9 0 100 2019356 7271 18446744073709551615", 325, true},
		{"spaces in name", "99 (post gres: x) R 1 99 99 0 -1 0 0 0 0 0 10 5 0 0 20 0 1 0 5 1 1 1", 15, true},
		{"short", "99 (x) R 1 2", 0, false},
		{"no name", "garbage", 0, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := parseStatTicks(tc.in)
			if (err == nil) != tc.ok || got != tc.want {
				t.Errorf("parseStatTicks = %d, %v; want %d (ok=%v)", got, err, tc.want, tc.ok)
			}
		})
	}
}
