package main

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"
)

func sampleReport(seeded bool) *report {
	d := 3.5
	r := &report{
		Date: time.Date(2026, 11, 26, 23, 0, 0, 0, time.UTC), Command: "-n 100000",
		Machine: machine{CPUs: 2, CPUModel: "AMD EPYC", MemoryKiB: 24 << 20, OS: "Debian 12 amd64", Go: "go1.26"},
		Daemon:  daemonInfo{Started: true, Version: "dev", Postgres: "15.20", Pgvector: "0.8.0", Embedder: "builtin", Model: "builtin-384"},
		Load:    loads{Start: 2, AfterSeed: 3, End: 4},
		Stored:  100000,
		Queries: []phaseResult{
			{Tool: toolSearch, Concurrency: 1, Calls: 1000, Latency: latency{Count: 1000, P50: 9, P95: 18.5, P99: 30},
				ByKind: map[string]latency{"matching": {Count: 500, P95: 19}}, CPU: &cpuPerCall{Client: 1, Daemon: &d}},
			{Tool: toolSearch, Concurrency: 4, Calls: 1000, Latency: latency{Count: 1000, P95: 80}},
			{Tool: toolContext, Concurrency: 1, Calls: 1000, Latency: latency{Count: 1000, P95: 25}},
		},
		RSS: rss{AfterSeed: &memStatus{VmRSSKiB: 30720, VmHWMKiB: 40960}},
	}
	if seeded {
		r.Seed = seedResult{Memories: 100000, Sessions: 2400, Clients: 8, Seconds: 250, PerSecond: 400}
	}
	r.evaluate()
	return r
}

func TestEvaluate(t *testing.T) {
	r := sampleReport(true)
	if len(r.Targets) != 2 {
		t.Fatalf("targets: %+v", r.Targets)
	}
	if save := r.Targets[0]; save.Met || save.Value != 400 {
		t.Errorf("400 saves/s must miss the target: %+v", save)
	}
	// Only one client counts for the search target; 18.5 ms meets it.
	if s := r.Targets[1]; !s.Met || s.Value != 18.5 || s.Note != "" {
		t.Errorf("search target: %+v", s)
	}
	r.Stored = 10000
	r.evaluate()
	if !strings.Contains(r.Targets[1].Note, "100000 memories") {
		t.Errorf("a small store must be noted: %+v", r.Targets[1])
	}
	if r := sampleReport(false); len(r.Targets) != 1 || r.Targets[0].Name != "search_memory p95 (one client)" {
		t.Errorf("without seeding only the search target: %+v", r.Targets)
	}
}

func TestWriteMarkdown(t *testing.T) {
	for _, seeded := range []bool{true, false} {
		var b bytes.Buffer
		if err := sampleReport(seeded).writeMarkdown(&b); err != nil {
			t.Fatal(err)
		}
		md := b.String()
		for _, want := range []string{
			"| search_memory | 1 | 1000 |", "**18.5 ms**", "| get_context | 1 | 1000 |",
			"| matching | 500 |", "1.00 / 3.50 / ? ms", "| after the queries | unknown | unknown |",
			"| 30.0 MiB | 40.0 MiB |", "load average (1 min): 2.00",
		} {
			if !strings.Contains(md, want) {
				t.Errorf("seeded=%v: markdown lacks %q:\n%s", seeded, want, md)
			}
		}
		if got := strings.Contains(md, "**400 saves/s**") && strings.Contains(md, "| save_conversation throughput | >= 500 saves/s | 400.0 | **no** |"); got != seeded {
			t.Errorf("seeded=%v: seeding rows present=%v:\n%s", seeded, got, md)
		}
	}
}

func TestWriteJSON(t *testing.T) {
	var b bytes.Buffer
	if err := sampleReport(true).writeJSON(&b); err != nil {
		t.Fatal(err)
	}
	var back report
	if err := json.Unmarshal(b.Bytes(), &back); err != nil {
		t.Fatal(err)
	}
	if back.Seed.PerSecond != 400 || len(back.Queries) != 3 || back.Queries[0].ByKind["matching"].P95 != 19 || *back.Queries[0].CPU.Daemon != 3.5 {
		t.Errorf("JSON round trip: %+v", back)
	}
}
