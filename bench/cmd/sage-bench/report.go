package main

import (
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"os"
	"runtime"
	"slices"
	"strings"
	"time"
)

// Targets of issue "sage-daemon: MCP memory server" (builtin embedder).
const (
	TargetSavesPerSecond = 500.0
	TargetSearchP95MS    = 20.0
	// TargetSearchMemories is the store size the search target is set for.
	TargetSearchMemories = 100_000
)

// report is everything one run measured.
type report struct {
	Date    time.Time     `json:"date"`
	Command string        `json:"command"`
	Machine machine       `json:"machine"`
	Daemon  daemonInfo    `json:"daemon"`
	Load    loads         `json:"load_average"`
	Stored  int64         `json:"memories_in_store"`
	Seed    seedResult    `json:"seed"`
	Queries []phaseResult `json:"queries"`
	RSS     rss           `json:"daemon_rss"`
	Targets []target      `json:"targets"`
}

// daemonInfo describes the daemon measured, from get_status.
type daemonInfo struct {
	Started  bool   `json:"started"` // false: an existing one (-daemon-url)
	Version  string `json:"version"`
	Postgres string `json:"postgres"`
	Pgvector string `json:"pgvector"`
	Embedder string `json:"embedder"`
	Model    string `json:"embedding_model"`
	Pending  int64  `json:"pending_embeddings"`
}

// machine describes where the benchmark ran.
type machine struct {
	CPUs      int    `json:"cpus"`
	CPUModel  string `json:"cpu_model"`
	MemoryKiB int64  `json:"memory_kib"`
	OS        string `json:"os"`
	Go        string `json:"go"`
}

// loads are the 1-minute load averages at the phases' starts and end.
type loads struct {
	Start     float64 `json:"start"`
	AfterSeed float64 `json:"after_seed"`
	End       float64 `json:"end"`
}

// rss is the daemon's memory after seeding and after the queries; nil when
// its process is unknown.
type rss struct {
	AfterSeed    *memStatus `json:"after_seed,omitempty"`
	AfterQueries *memStatus `json:"after_queries,omitempty"`
}

// target is one goal and whether the run met it.
type target struct {
	Name  string  `json:"name"`
	Goal  string  `json:"goal"`
	Value float64 `json:"value"`
	Met   bool    `json:"met"`
	Note  string  `json:"note,omitempty"`
}

// evaluate sets r.Targets.
func (r *report) evaluate() {
	r.Targets = nil
	if r.Seed.Memories > 0 {
		r.Targets = append(r.Targets, target{
			Name: "save_conversation throughput", Goal: fmt.Sprintf(">= %.0f saves/s", TargetSavesPerSecond),
			Value: r.Seed.PerSecond, Met: r.Seed.PerSecond >= TargetSavesPerSecond,
		})
	}
	for _, q := range r.Queries {
		if q.Tool != toolSearch || q.Concurrency != 1 {
			continue // the target is for one client; the others inform
		}
		t := target{
			Name: "search_memory p95 (one client)", Goal: fmt.Sprintf("<= %.0f ms", TargetSearchP95MS),
			Value: q.Latency.P95, Met: q.Latency.P95 <= TargetSearchP95MS,
		}
		if r.Stored < TargetSearchMemories {
			t.Note = fmt.Sprintf("the target is set for %d memories; this store has %d", TargetSearchMemories, r.Stored)
		}
		r.Targets = append(r.Targets, t)
	}
}

// writeJSON writes r as indented JSON.
func (r *report) writeJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

// writeMarkdown writes r as markdown tables.
func (r *report) writeMarkdown(w io.Writer) error {
	var b strings.Builder
	mid := r.markdownHeader(&b)
	r.markdownSeed(&b)
	r.markdownQueries(&b)
	r.markdownMemory(&b, mid)
	r.markdownTargets(&b)
	_, err := io.WriteString(w, b.String())
	return err
}

// markdownHeader writes the machine, daemon and load lines; it returns the
// name of the middle measurement point.
func (r *report) markdownHeader(b *strings.Builder) (mid string) {
	fmt.Fprintf(b, "%s (%s UTC)\n\n", strings.TrimSpace("sage-bench "+r.Command), r.Date.UTC().Format("2006-01-02 15:04"))
	fmt.Fprintf(b, "- machine: %d CPUs (%s), %.1f GiB, %s, %s\n", r.Machine.CPUs, r.Machine.CPUModel,
		float64(r.Machine.MemoryKiB)/(1<<20), r.Machine.OS, r.Machine.Go)
	d := r.Daemon
	how := "started by sage-bench on a fresh database"
	if !d.Started {
		how = "already running (-daemon-url)"
	}
	fmt.Fprintf(b, "- sage-daemon %s, %s; PostgreSQL %s, pgvector %s; embedder %s (%s)\n",
		d.Version, how, d.Postgres, d.Pgvector, d.Embedder, d.Model)
	mid = "after seeding"
	if r.Seed.Memories == 0 {
		mid = "before the queries"
	}
	fmt.Fprintf(b, "- load average (1 min): %.2f at start, %.2f %s, %.2f at the end\n", r.Load.Start, r.Load.AfterSeed, mid, r.Load.End)
	fmt.Fprintf(b, "- memories in the store during the queries: %d (%d embeddings pending)\n", r.Stored, d.Pending)
	return mid
}

// markdownSeed writes the seeding table, when the run seeded.
func (r *report) markdownSeed(b *strings.Builder) {
	if s := r.Seed; s.Memories > 0 {
		fmt.Fprintf(b, "\n| seeding (save_conversation over MCP) | value |\n| --- | --- |\n")
		fmt.Fprintf(b, "| memories | %d in %d sessions (%.1f MB of text, %d deduplicated) |\n", s.Memories, s.Sessions, float64(s.TextBytes)/1e6, s.Deduplicated)
		fmt.Fprintf(b, "| clients | %d |\n", s.Clients)
		fmt.Fprintf(b, "| time | %.1f s |\n", s.Seconds)
		fmt.Fprintf(b, "| **throughput** | **%.0f saves/s** |\n", s.PerSecond)
		fmt.Fprintf(b, "| latency p50 / p95 / p99 | %.1f / %.1f / %.1f ms |\n", s.Latency.P50, s.Latency.P95, s.Latency.P99)
		fmt.Fprintf(b, "| CPU per save (client / daemon / PostgreSQL) | %s |\n", s.CPU)
	}
}

// markdownQueries writes the latency tables.
func (r *report) markdownQueries(b *strings.Builder) {
	fmt.Fprintf(b, "\n| tool | concurrency | calls | project filter | non-empty | calls/s | mean | p50 | p95 | p99 | max | CPU per call (client / daemon / PostgreSQL) |\n")
	fmt.Fprintf(b, "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |\n")
	for _, q := range r.Queries {
		l := q.Latency
		fmt.Fprintf(b, "| %s | %d | %d | %d | %d | %.0f | %.1f ms | %.1f ms | **%.1f ms** | %.1f ms | %.1f ms | %s |\n",
			q.Tool, q.Concurrency, q.Calls, q.Filtered, q.NonEmpty, q.PerSecond, l.Mean, l.P50, l.P95, l.P99, l.Max, q.CPU)
	}
	for _, q := range r.Queries {
		if len(q.ByKind) == 0 || q.Concurrency != 1 {
			continue
		}
		fmt.Fprintf(b, "\n| %s, concurrency %d, by query | calls | p50 | p95 | p99 |\n| --- | ---: | ---: | ---: | ---: |\n", q.Tool, q.Concurrency)
		for _, k := range slices.Sorted(maps.Keys(q.ByKind)) {
			l := q.ByKind[k]
			fmt.Fprintf(b, "| %s | %d | %.1f ms | %.1f ms | %.1f ms |\n", k, l.Count, l.P50, l.P95, l.P99)
		}
	}
}

// markdownMemory writes the daemon's memory use at mid and at the end.
func (r *report) markdownMemory(b *strings.Builder, mid string) {
	fmt.Fprintf(b, "\n| daemon memory | VmRSS | VmHWM |\n| --- | ---: | ---: |\n")
	for _, m := range []struct {
		name string
		v    *memStatus
	}{{mid, r.RSS.AfterSeed}, {"after the queries", r.RSS.AfterQueries}} {
		if m.v == nil {
			fmt.Fprintf(b, "| %s | unknown | unknown |\n", m.name)
			continue
		}
		fmt.Fprintf(b, "| %s | %.1f MiB | %.1f MiB |\n", m.name, float64(m.v.VmRSSKiB)/1024, float64(m.v.VmHWMKiB)/1024)
	}
}

// markdownTargets writes the targets and whether they were met.
func (r *report) markdownTargets(b *strings.Builder) {
	fmt.Fprintf(b, "\n| target | goal | measured | met |\n| --- | --- | ---: | --- |\n")
	for _, t := range r.Targets {
		met := "yes"
		if !t.Met {
			met = "**no**"
		}
		if t.Note != "" {
			met += " (" + t.Note + ")"
		}
		fmt.Fprintf(b, "| %s | %s | %.1f | %s |\n", t.Name, t.Goal, t.Value, met)
	}
}

// describeMachine reads /proc for the CPU model and memory.
func describeMachine() machine {
	m := machine{CPUs: runtime.NumCPU(), OS: runtime.GOOS + "/" + runtime.GOARCH, Go: runtime.Version()}
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for line := range strings.Lines(string(b)) {
			if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
				m.CPUModel = strings.TrimSpace(v)
				break
			}
		}
	}
	if b, err := os.ReadFile("/proc/meminfo"); err == nil {
		for line := range strings.Lines(string(b)) {
			if rest, ok := strings.CutPrefix(line, "MemTotal:"); ok {
				fmt.Sscan(rest, &m.MemoryKiB)
				break
			}
		}
	}
	if b, err := os.ReadFile("/etc/os-release"); err == nil {
		for line := range strings.Lines(string(b)) {
			if v, ok := strings.CutPrefix(line, "PRETTY_NAME="); ok {
				m.OS = strings.Trim(strings.TrimSpace(v), `"`) + " " + runtime.GOARCH
				break
			}
		}
	}
	return m
}

// loadAverage returns the 1-minute load average, or -1.
func loadAverage() float64 {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return -1
	}
	var l float64
	if _, err := fmt.Sscan(string(b), &l); err != nil {
		return -1
	}
	return l
}

// String formats c as "client / daemon / PostgreSQL" milliseconds.
func (c *cpuPerCall) String() string {
	if c == nil {
		return "unknown"
	}
	f := func(v *float64) string {
		if v == nil {
			return "?"
		}
		return fmt.Sprintf("%.2f", *v)
	}
	return fmt.Sprintf("%.2f / %s / %s ms", c.Client, f(c.Daemon), f(c.Postgres))
}
