package tokenize

import (
	"testing"
	"time"
)

// BenchmarkParseTime parses prompts that say no time (most of them) and
// some that do.
func BenchmarkParseTime(b *testing.B) {
	now := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	qs := []string{
		"How does the outbox retry a failed save to the daemon?",
		"Please refactor this handler so the tests stop flaking on CI",
		"我们上周关于数据库迁移是怎么决定的？",
		"what did we decide about the HNSW index parameters",
		"What did Maria say last week about her new job?",
		"When did we switch the embedder to e5 in March 2026?",
	}
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		ParseTime(qs[i%len(qs)], now)
	}
}

// FuzzMayHaveDate checks that the cheap test never hides a date: when it
// says no, no pattern matches.
func FuzzMayHaveDate(f *testing.F) {
	for _, s := range []string{"yesterday", "on Monday", "2 weeks ago", "in March", "Last WEEK", "in 2024", "昨天",
		"the day before yesterday", "how do I stop the server", "ſince", "maybe later", "三月", "2025-06"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, q string) {
		if mayHaveDate(q) {
			return
		}
		for i, p := range datePatterns {
			if p.re.MatchString(q) {
				t.Fatalf("mayHaveDate(%q) = false, but pattern %d (%s) matches", q, i, p.re)
			}
		}
	})
}
