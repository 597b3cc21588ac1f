package main

import (
	"math/rand/v2"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	sage "github.com/sage-mcp/sage/daemon"
)

func MustCorpus(t *testing.T, n int) *corpus {
	t.Helper()
	c := newCorpus(7, "test-run", n)
	if c.n != n || len(c.bySess) != n || c.Sessions() == 0 {
		t.Fatalf("corpus of %d turns: n=%d, %d sessions", n, c.n, c.Sessions())
	}
	return c
}

func hasHan(s string) bool {
	for _, r := range s {
		if unicode.Is(unicode.Han, r) {
			return true
		}
	}
	return false
}

func TestCorpusDeterministic(t *testing.T) {
	a, b := MustCorpus(t, 500), MustCorpus(t, 500)
	for _, i := range []int{0, 1, 250, 499} {
		if a.Turn(i) != b.Turn(i) {
			t.Errorf("turn %d differs between two corpora of the same seed", i)
		}
	}
	other := newCorpus(8, "test-run", 500)
	if a.Turn(3) == other.Turn(3) {
		t.Error("turn 3 is the same with another seed")
	}
	qa, qb := a.Queries(1, 50), b.Queries(1, 50)
	for i := range qa {
		if qa[i] != qb[i] {
			t.Fatalf("query %d differs: %+v vs %+v", i, qa[i], qb[i])
		}
	}
}

func TestCorpusTurnsAreValidAndVaried(t *testing.T) {
	const n = 3000
	c := MustCorpus(t, n)
	texts := map[string]int{}
	projects := map[string]bool{}
	var zh, en int
	prev := map[string]turn{}
	for i := range n {
		tu := c.Turn(i)
		st := sage.Turn{SessionID: tu.SessionID, Project: tu.Project, UserPrompt: tu.UserPrompt,
			AssistantResponse: tu.AssistantResponse, OccurredAt: tu.OccurredAt, IdempotencyKey: tu.IdempotencyKey}
		if err := st.Validate(); err != nil {
			t.Fatalf("turn %d is invalid: %v", i, err)
		}
		if !utf8.ValidString(tu.UserPrompt) || !utf8.ValidString(tu.AssistantResponse) {
			t.Fatalf("turn %d is not UTF-8", i)
		}
		if strings.Contains(tu.UserPrompt+tu.AssistantResponse, "{") {
			t.Fatalf("turn %d has an unfilled slot: %q", i, tu.UserPrompt+tu.AssistantResponse)
		}
		key := tu.SessionID + "\x00" + tu.UserPrompt + "\x00" + tu.AssistantResponse
		if j, ok := texts[key]; ok {
			t.Fatalf("turns %d and %d are identical in one session", j, i)
		}
		texts[key] = i
		projects[tu.Project] = true
		if hasHan(tu.AssistantResponse) {
			zh++
		} else {
			en++
		}
		if p, ok := prev[tu.SessionID]; ok && !tu.OccurredAt.After(p.OccurredAt) {
			t.Fatalf("turn %d is not later than the previous turn of its session", i)
		}
		prev[tu.SessionID] = tu
	}
	if len(prev) < 30 {
		t.Errorf("%d sessions in %d turns; want many", len(prev), n)
	}
	if len(projects) < 10 {
		t.Errorf("%d projects; want many", len(projects))
	}
	if zh < n/10 || en < n/2 {
		t.Errorf("%d Chinese and %d English turns; want both, mostly English", zh, en)
	}
	first, last := c.Turn(0).OccurredAt, c.Turn(n-1).OccurredAt
	if last.Sub(first) < 300*24*3600e9 {
		t.Errorf("history spans %v; want more than 300 days", last.Sub(first))
	}
}

func TestCorpusQueries(t *testing.T) {
	c := MustCorpus(t, 2000)
	qs := c.Queries(3, 1000)
	kinds := map[string]int{}
	filtered := 0
	for _, q := range qs {
		if strings.TrimSpace(q.Text) == "" || len(q.Text) > sage.MaxQueryBytes {
			t.Fatalf("query %q is empty or too long", q.Text)
		}
		kinds[q.Kind]++
		if q.Project != "" {
			filtered++
		}
	}
	for _, k := range []string{"matching", "vague", "unrelated"} {
		if kinds[k] < 100 {
			t.Errorf("%d %s queries of 1000; want at least 100", kinds[k], k)
		}
	}
	if filtered < 200 || filtered > 500 {
		t.Errorf("%d of 1000 queries filter by project; want about a third", filtered)
	}
	// Matching queries quote a stored turn.
	all := strings.Builder{}
	for i := range c.n {
		tu := c.Turn(i)
		all.WriteString(tu.UserPrompt + " " + tu.AssistantResponse + "\n")
	}
	for _, q := range qs {
		if q.Kind == "matching" && !strings.Contains(all.String(), q.Text) {
			t.Fatalf("matching query %q quotes no turn", q.Text)
		}
	}
}

func TestExcerpt(t *testing.T) {
	for _, text := range []string{
		"one two three four five six seven eight nine ten",
		"我给函数加了重试，最多重试三次，使用指数退避。",
		"短",
	} {
		for k := range 20 {
			got := excerpt(rand.New(rand.NewPCG(uint64(k), 1)), text)
			if got == "" && len([]rune(text)) > 1 {
				t.Errorf("excerpt of %q is empty", text)
			}
			if !strings.Contains(text, got) {
				t.Errorf("excerpt %q is not part of %q", got, text)
			}
		}
	}
}
