package tokenize

import (
	"bytes"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Window is a span of time, from Since (included) to Until (excluded).
type Window struct {
	Since, Until time.Time
}

// datePattern is one way of saying when, in English or Chinese (or
// Japanese), with the window it means at time now.
type datePattern struct {
	re     *regexp.Regexp
	window func(m []string, now time.Time) (Window, bool)
}

const (
	monthNames = `january|february|march|april|may|june|july|august|september|october|november|december`
	monthAbbr  = `jan|feb|mar|apr|jun|jul|aug|sept|sep|oct|nov|dec`
	cnNum      = `[0-9一二两三四五六七八九十]`
	weekdays   = `monday|tuesday|wednesday|thursday|friday|saturday|sunday`
)

// Patterns are tried in order; the first that matches gives the window.
// "Today" is not one: a prompt says it of the work at hand ("let's finish
// this today") far more often than of what to recall.
// Month names alone are ambiguous in English ("may", "march"): they count
// only with a year, a day, or a preposition before them.
var datePatterns = []datePattern{
	{re(`\b(\d{4})-(\d{1,2})-(\d{1,2})\b`), func(m []string, _ time.Time) (Window, bool) {
		return dayOf(atoi(m[1]), atoi(m[2]), atoi(m[3]))
	}},
	{re(`\b(\d{4})[-/](\d{1,2})\b`), func(m []string, _ time.Time) (Window, bool) {
		return monthOf(atoi(m[1]), atoi(m[2]))
	}},
	{re(`\b(?:on\s+)?(` + monthNames + `|` + monthAbbr + `)\.?\s+(\d{1,2})(?:st|nd|rd|th)?,?\s+(\d{4})\b`), func(m []string, _ time.Time) (Window, bool) {
		return dayOf(atoi(m[3]), monthNumber(m[1]), atoi(m[2]))
	}},
	{re(`\b(?:on\s+)?(?:the\s+)?(\d{1,2})(?:st|nd|rd|th)?\s+(?:of\s+)?(` + monthNames + `|` + monthAbbr + `)\.?,?\s+(\d{4})\b`), func(m []string, _ time.Time) (Window, bool) {
		return dayOf(atoi(m[3]), monthNumber(m[2]), atoi(m[1]))
	}},
	{re(`\b(?:(?:in|during|of)\s+)?(` + monthNames + `|` + monthAbbr + `)\.?,?\s+(?:of\s+)?(\d{4})\b`), func(m []string, _ time.Time) (Window, bool) {
		return monthOf(atoi(m[2]), monthNumber(m[1]))
	}},
	{re(`\b(?:in|during|since|early|late|mid|last|this)\s+(` + monthNames + `)\b`), func(m []string, now time.Time) (Window, bool) {
		return lastMonthNamed(now, monthNumber(m[1]))
	}},
	{re(`\b(?:in|during)\s+((?:19|20)\d{2})\b`), func(m []string, _ time.Time) (Window, bool) {
		y := atoi(m[1])
		return Window{date(y, 1, 1), date(y+1, 1, 1)}, true
	}},
	{re(`\bthe\s+day\s+before\s+yesterday\b`), func(_ []string, now time.Time) (Window, bool) { return daysAgo(now, 2), true }},
	{re(`\byesterday\b`), func(_ []string, now time.Time) (Window, bool) { return daysAgo(now, 1), true }},
	{re(`\b(last|this|past|previous)\s+(week|month|year)\b`), func(m []string, now time.Time) (Window, bool) {
		n := 1
		if strings.EqualFold(m[1], "this") {
			n = 0
		}
		if strings.EqualFold(m[1], "past") {
			return pastSpan(now, strings.ToLower(m[2])), true
		}
		return spanAgo(now, strings.ToLower(m[2]), n), true
	}},
	{re(`\b(\d+|a|an|one|two|three|four|five|six|seven|eight|nine|ten)\s+(day|week|month|year)s?\s+ago\b`), func(m []string, now time.Time) (Window, bool) {
		n := englishNumber(m[1])
		if strings.EqualFold(m[2], "day") {
			return daysAgo(now, n), true
		}
		return spanAgo(now, strings.ToLower(m[2]), n), true
	}},
	{re(`\b(?:last|on)\s+(` + weekdays + `)\b`), func(m []string, now time.Time) (Window, bool) {
		back := (int(now.Weekday()) - weekdayNumber(m[1]) + 7) % 7
		if back == 0 {
			back = 7
		}
		return daysAgo(now, back), true
	}},
	// Chinese and Japanese.
	{re(`前天|一昨日`), func(_ []string, now time.Time) (Window, bool) { return daysAgo(now, 2), true }},
	{re(`昨天|昨日|昨晚`), func(_ []string, now time.Time) (Window, bool) { return daysAgo(now, 1), true }},
	{re(`上上(?:个)?(?:周|星期|礼拜)`), func(_ []string, now time.Time) (Window, bool) { return spanAgo(now, "week", 2), true }},
	{re(`上(?:个)?(?:周|星期|礼拜)|先週`), func(_ []string, now time.Time) (Window, bool) { return spanAgo(now, "week", 1), true }},
	{re(`(?:本|这个?)(?:周|星期|礼拜)|今週`), func(_ []string, now time.Time) (Window, bool) { return spanAgo(now, "week", 0), true }},
	{re(`上(?:个)?月|先月`), func(_ []string, now time.Time) (Window, bool) { return spanAgo(now, "month", 1), true }},
	{re(`(?:本|这个)月|今月`), func(_ []string, now time.Time) (Window, bool) { return spanAgo(now, "month", 0), true }},
	{re(`前年`), func(_ []string, now time.Time) (Window, bool) { return spanAgo(now, "year", 2), true }},
	{re(`去年|昨年`), func(_ []string, now time.Time) (Window, bool) { return spanAgo(now, "year", 1), true }},
	{re(`今年`), func(_ []string, now time.Time) (Window, bool) { return spanAgo(now, "year", 0), true }},
	{re(`(\d{4})年(` + cnNum + `{1,3})月(?:(` + cnNum + `{1,3})[日号])?`), func(m []string, _ time.Time) (Window, bool) {
		if m[3] != "" {
			return dayOf(atoi(m[1]), chineseNumber(m[2]), chineseNumber(m[3]))
		}
		return monthOf(atoi(m[1]), chineseNumber(m[2]))
	}},
	{re(`(\d{4})年`), func(m []string, _ time.Time) (Window, bool) {
		y := atoi(m[1])
		return Window{date(y, 1, 1), date(y+1, 1, 1)}, true
	}},
	{re(`(` + cnNum + `{1,3})(?:天|日)前`), func(m []string, now time.Time) (Window, bool) {
		return daysAgo(now, chineseNumber(m[1])), true
	}},
	{re(`(` + cnNum + `{1,3})(?:个)?(?:周|星期|礼拜)前`), func(m []string, now time.Time) (Window, bool) {
		return spanAgo(now, "week", chineseNumber(m[1])), true
	}},
	{re(`(` + cnNum + `{1,3})个月前`), func(m []string, now time.Time) (Window, bool) {
		return spanAgo(now, "month", chineseNumber(m[1])), true
	}},
	{re(`(` + cnNum + `{1,3})月(?:份)?(?:(` + cnNum + `{1,3})[日号])?`), func(m []string, now time.Time) (Window, bool) {
		mo := chineseNumber(m[1])
		w, ok := lastMonthNamed(now, mo)
		if !ok || m[2] == "" {
			return w, ok
		}
		return dayOf(w.Since.Year(), mo, chineseNumber(m[2]))
	}},
}

func re(s string) *regexp.Regexp { return regexp.MustCompile(`(?i)` + s) }

// dateWords are words one of which every English pattern without a digit
// holds ("yesterday", "monday"… hold "day"; month names only count in
// pattern 6 in full).
var dateWords = append([]string{"day", "week", "month", "year", "ago"}, strings.Split(monthNames, "|")...)

// mayHaveDate is false only when no pattern can match q: q has no digit,
// no character beyond ASCII (the Chinese and Japanese patterns, and the
// Unicode letters (?i) folds onto ASCII ones, like the Kelvin sign K) and
// none of dateWords. It spares most prompts, which say no time, the ~20
// regular expressions (FuzzMayHaveDate checks it never hides a match).
func mayHaveDate(q string) bool {
	var low []byte
	for i := 0; i < len(q); i++ {
		c := q[i]
		switch {
		case c >= utf8.RuneSelf, c >= '0' && c <= '9':
			return true
		case c >= 'A' && c <= 'Z':
			c += 'a' - 'A'
		}
		low = append(low, c)
	}
	for _, w := range dateWords {
		if bytes.Contains(low, []byte(w)) {
			return true
		}
	}
	return false
}

// ParseTime finds the first phrase of q that says when ("last week", "in
// March", "2025-06", "yesterday", "昨天", "上周", "三月") and returns the
// window it means at time now (in now's location), and q without that
// phrase. ok is false, and rest is q, when q says no time.
func ParseTime(q string, now time.Time) (rest string, w Window, ok bool) {
	if !mayHaveDate(q) {
		return q, Window{}, false
	}
	for _, p := range datePatterns {
		loc := p.re.FindStringSubmatchIndex(q)
		if loc == nil {
			continue
		}
		m := make([]string, len(loc)/2)
		for i := range m {
			if loc[2*i] >= 0 {
				m[i] = q[loc[2*i]:loc[2*i+1]]
			}
		}
		w, ok := p.window(m, now)
		if !ok {
			continue
		}
		w.Since, w.Until = inLoc(w.Since, now.Location()), inLoc(w.Until, now.Location())
		rest := strings.Join(strings.Fields(q[:loc[0]]+" "+q[loc[1]:]), " ")
		return rest, w, true
	}
	return q, Window{}, false
}

// inLoc is the same wall-clock time as t (built in UTC) in loc.
func inLoc(t time.Time, loc *time.Location) time.Time {
	return time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, loc)
}

func date(y, m, d int) time.Time { return time.Date(y, time.Month(m), d, 0, 0, 0, 0, time.UTC) }

func dayOf(y, m, d int) (Window, bool) {
	if m < 1 || m > 12 || d < 1 || d > 31 || y < 1 {
		return Window{}, false
	}
	s := date(y, m, d)
	if s.Month() != time.Month(m) { // 31 February
		return Window{}, false
	}
	return Window{s, s.AddDate(0, 0, 1)}, true
}

func monthOf(y, m int) (Window, bool) {
	if m < 1 || m > 12 || y < 1 {
		return Window{}, false
	}
	s := date(y, m, 1)
	return Window{s, s.AddDate(0, 1, 0)}, true
}

// lastMonthNamed is the latest month m that has begun by now.
func lastMonthNamed(now time.Time, m int) (Window, bool) {
	y := now.Year()
	if m > int(now.Month()) {
		y--
	}
	return monthOf(y, m)
}

func daysAgo(now time.Time, n int) Window {
	s := date(now.Year(), int(now.Month()), now.Day()).AddDate(0, 0, -n)
	return Window{s, s.AddDate(0, 0, 1)}
}

// spanAgo is the calendar week (from Monday), month or year n of them
// before the current one.
func spanAgo(now time.Time, unit string, n int) Window {
	today := date(now.Year(), int(now.Month()), now.Day())
	switch unit {
	case "week":
		monday := today.AddDate(0, 0, -((int(today.Weekday()) + 6) % 7))
		s := monday.AddDate(0, 0, -7*n)
		return Window{s, s.AddDate(0, 0, 7)}
	case "month":
		s := date(now.Year(), int(now.Month()), 1).AddDate(0, -n, 0)
		return Window{s, s.AddDate(0, 1, 0)}
	}
	s := date(now.Year()-n, 1, 1)
	return Window{s, s.AddDate(1, 0, 0)}
}

// pastSpan is the last 7 days, 31 days or 365 days up to today.
func pastSpan(now time.Time, unit string) Window {
	end := date(now.Year(), int(now.Month()), now.Day()).AddDate(0, 0, 1)
	days := map[string]int{"week": 7, "month": 31, "year": 365}[unit]
	return Window{end.AddDate(0, 0, -days), end}
}

func atoi(s string) int {
	n, err := strconv.Atoi(s)
	if err != nil {
		return -1
	}
	return n
}

func monthNumber(s string) int {
	s = strings.ToLower(s)
	for i, name := range strings.Split(monthNames, "|") {
		if strings.HasPrefix(name, s[:min(3, len(s))]) {
			return i + 1
		}
	}
	return -1
}

func weekdayNumber(s string) int {
	for i, name := range strings.Split("sunday|"+weekdays, "|") {
		if strings.EqualFold(name, s) {
			return i % 7
		}
	}
	return 0
}

func englishNumber(s string) int {
	s = strings.ToLower(s)
	if n := atoi(s); n >= 0 {
		return n
	}
	for i, w := range []string{"zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten"} {
		if s == w {
			return i
		}
	}
	return 1 // a, an
}

// chineseNumber reads 1 to 99 in digits or in Chinese numerals (三, 十二,
// 二十五, 两).
func chineseNumber(s string) int {
	if n := atoi(s); n >= 0 {
		return n
	}
	digit := func(r rune) int {
		for i, d := range []rune("零一二三四五六七八九") {
			if d == r {
				return i
			}
		}
		return -100 // not a numeral: the result is out of every range
	}
	rs := []rune(s)
	switch {
	case len(rs) == 1 && rs[0] == '十':
		return 10
	case len(rs) == 1 && rs[0] == '两':
		return 2
	case len(rs) == 1:
		return digit(rs[0])
	case len(rs) == 2 && rs[0] == '十':
		return 10 + digit(rs[1])
	case len(rs) == 2 && rs[1] == '十':
		return 10 * digit(rs[0])
	case len(rs) == 3 && rs[1] == '十':
		return 10*digit(rs[0]) + digit(rs[2])
	}
	return -1
}

// whenQuestion matches questions that ask when something happened.
var whenQuestion = re(`\bwhen\b|\bwhat\s+(?:time|date|day|month|year)\b|\bwhich\s+(?:day|date|month|year|week)\b|\bhow\s+long\s+ago\b|什么时候|何时|哪天|哪一天|几号|哪年|哪一年|几月|哪个月|いつ`)

// AsksWhen reports whether q asks when something happened.
func AsksWhen(q string) bool { return whenQuestion.MatchString(q) }

// TimeTerms are the search terms of words that place an event in time
// ("yesterday", "last week", "on Saturday", "昨天"): a memory holding one
// answers a "when" question better than one that does not.
var TimeTerms = func() []string {
	seen := map[string]bool{}
	var out []string
	for _, t := range Terms(`yesterday today tonight tomorrow ago week weekend weekends month year morning afternoon evening night
		monday tuesday wednesday thursday friday saturday sunday ` + strings.ReplaceAll(monthNames, "|", " ") + `
		昨天 今天 明天 前天 上周 下周 周末 去年 今年 明年 上个月 下个月 昨日 今日 先週 来週 週末`) {
		if !seen[t] && len([]rune(t)) > 1 {
			seen[t] = true
			out = append(out, t)
		}
	}
	return out
}()
