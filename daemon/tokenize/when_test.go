package tokenize_test

import (
	"testing"
	"time"

	"github.com/sage-mcp/sage/daemon/tokenize"
)

func TestParseTime(t *testing.T) {
	// Wednesday 15 April 2026.
	now := time.Date(2026, 4, 15, 10, 30, 0, 0, time.UTC)
	day := func(y, m, d int) time.Time { return time.Date(y, time.Month(m), d, 0, 0, 0, 0, time.UTC) }
	for _, c := range []struct {
		q            string
		rest         string
		since, until time.Time // zero: no time in q
	}{
		{"what did we decide last week", "what did we decide", day(2026, 4, 6), day(2026, 4, 13)},
		{"What did Caroline do in March?", "What did Caroline do ?", day(2026, 3, 1), day(2026, 4, 1)},
		{"deploy notes in May", "deploy notes", day(2025, 5, 1), day(2025, 6, 1)},
		{"release 2025-06", "release", day(2025, 6, 1), day(2025, 7, 1)},
		{"bug fixed on 2025-06-03", "bug fixed on", day(2025, 6, 3), day(2025, 6, 4)},
		{"what happened yesterday", "what happened", day(2026, 4, 14), day(2026, 4, 15)},
		{"the day before yesterday I said", "I said", day(2026, 4, 13), day(2026, 4, 14)},
		{"May 7, 2023 support group", "support group", day(2023, 5, 7), day(2023, 5, 8)},
		{"on 8 May 2023", "", day(2023, 5, 8), day(2023, 5, 9)},
		{"what happened in May 2023", "what happened", day(2023, 5, 1), day(2023, 6, 1)},
		{"June 2023", "", day(2023, 6, 1), day(2023, 7, 1)},
		{"the outage in 2024", "the outage", day(2024, 1, 1), day(2025, 1, 1)},
		{"this month's invoices", "'s invoices", day(2026, 4, 1), day(2026, 5, 1)},
		{"two weeks ago", "", day(2026, 3, 30), day(2026, 4, 6)},
		{"3 days ago", "", day(2026, 4, 12), day(2026, 4, 13)},
		{"last Friday's meeting", "'s meeting", day(2026, 4, 10), day(2026, 4, 11)},
		{"past week", "", day(2026, 4, 9), day(2026, 4, 16)},
		{"我昨天做了什么", "我 做了什么", day(2026, 4, 14), day(2026, 4, 15)},
		{"上周讨论的数据库问题", "讨论的数据库问题", day(2026, 4, 6), day(2026, 4, 13)},
		{"三月去了哪里", "去了哪里", day(2026, 3, 1), day(2026, 4, 1)},
		{"十二月的会议", "的会议", day(2025, 12, 1), day(2026, 1, 1)},
		{"2025年6月的发布", "的发布", day(2025, 6, 1), day(2025, 7, 1)},
		{"2023年五月八日", "", day(2023, 5, 8), day(2023, 5, 9)},
		{"上个月的账单", "的账单", day(2026, 3, 1), day(2026, 4, 1)},
		{"去年的旅行", "的旅行", day(2025, 1, 1), day(2026, 1, 1)},
		{"三天前", "", day(2026, 4, 12), day(2026, 4, 13)},
		{"昨日は東京", "は東京", day(2026, 4, 14), day(2026, 4, 15)},
		// No time said: "may" as a verb, "march" as a noun, a bare number.
		{"may I ask something", "may I ask something", time.Time{}, time.Time{}},
		{"the march was long", "the march was long", time.Time{}, time.Time{}},
		{"port 2024 is busy", "port 2024 is busy", time.Time{}, time.Time{}},
		{"三个月的计划", "三个月的计划", time.Time{}, time.Time{}},
	} {
		rest, w, ok := tokenize.ParseTime(c.q, now)
		if ok != !c.since.IsZero() || rest != c.rest || !w.Since.Equal(c.since) || !w.Until.Equal(c.until) {
			t.Errorf("ParseTime(%q) = %q, [%s, %s), %v; want %q, [%s, %s)", c.q, rest,
				w.Since.Format(time.DateOnly), w.Until.Format(time.DateOnly), ok, c.rest,
				c.since.Format(time.DateOnly), c.until.Format(time.DateOnly))
		}
	}
}
