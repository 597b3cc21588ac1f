package postgres_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	sage "github.com/sage-mcp/sage/daemon"
	"github.com/sage-mcp/sage/daemon/postgres"
)

// MustRemember stores notes (content per session) in project and returns
// their ids in order.
func MustRemember(t testing.TB, svc sage.Service, project string, notes ...[2]string) []int64 {
	t.Helper()
	var ids []int64
	for _, n := range notes {
		r, err := svc.Remember(context.Background(), sage.Note{Content: n[1], SessionID: n[0], Project: project})
		if err != nil {
			t.Fatalf("remember %q: %v", n[1], err)
		}
		ids = append(ids, r.ID)
	}
	return ids
}

// MustInject runs Inject and fails the test on error.
func MustInject(t testing.TB, svc sage.Service, q sage.InjectQuery) sage.Injected {
	t.Helper()
	out, err := svc.Inject(context.Background(), q)
	if err != nil {
		t.Fatalf("inject %q: %v", q.Query, err)
	}
	return out
}

// MustInjections lists the audit and fails the test on error.
func MustInjections(t testing.TB, svc sage.Service, f sage.InjectionFilter) []sage.Injection {
	t.Helper()
	got, err := svc.Injections(context.Background(), f)
	if err != nil {
		t.Fatalf("injections: %v", err)
	}
	return got
}

func TestInjectRecords(t *testing.T) {
	svc, _ := MustService(t)
	ids := MustRemember(t, svc, "shop",
		[2]string{"old", "The checkout service retries Stripe webhooks with exponential backoff."},
		[2]string{"old", "Deploys of the shop go through the blue-green pipeline on Fridays."})
	prompt := "How does the checkout service retry Stripe webhooks? " + strings.Repeat("详细说明", 60)
	base := sage.InjectQuery{ContextQuery: sage.ContextQuery{Query: prompt, MaxResults: 8, MaxChars: 2000,
		Filter: sage.Filter{Project: "shop"}}, Source: sage.SourceHook, SessionID: "now"}

	dry := base
	dry.DryRun = true
	if out := MustInject(t, svc, dry); out.Text == "" || out.Recorded != 0 {
		t.Fatalf("dry run: text %q, recorded %d; want a block and no record", out.Text, out.Recorded)
	}
	if got := MustInjections(t, svc, sage.InjectionFilter{}); len(got) != 0 {
		t.Fatalf("dry run recorded %d injections", len(got))
	}

	out := MustInject(t, svc, base)
	if out.Recorded == 0 || !strings.Contains(out.Text, "Stripe webhooks") {
		t.Fatalf("inject: recorded %d, text %q", out.Recorded, out.Text)
	}
	got := MustInjections(t, svc, sage.InjectionFilter{})
	if len(got) != 1 {
		t.Fatalf("got %d injections, want 1", len(got))
	}
	in := got[0]
	switch {
	case in.ID != out.Recorded, in.Source != sage.SourceHook, in.SessionID != "now", in.Project != "shop":
		t.Errorf("record %+v: want id %d, source hook, session now, project shop", in, out.Recorded)
	case in.PromptHash != postgres.PromptHash(prompt) || len(in.PromptHash) != 64:
		t.Errorf("prompt hash %q, want SHA-256 of the prompt", in.PromptHash)
	case in.PromptHead != string([]rune(prompt)[:sage.MaxPromptHead]):
		t.Errorf("prompt head %q: want the first %d runes", in.PromptHead, sage.MaxPromptHead)
	case in.Chars != utf8.RuneCountInString(out.Text):
		t.Errorf("chars %d, want %d", in.Chars, utf8.RuneCountInString(out.Text))
	case len(in.Memories) != len(out.Items) || in.Memories[0].ID != ids[0]:
		t.Errorf("memories %+v, want the %d injected, %d first", in.Memories, len(out.Items), ids[0])
	case time.Since(in.At) > time.Minute:
		t.Errorf("at %v: not now", in.At)
	}
	for i, m := range in.Memories {
		it := out.Items[i]
		if m.Score != it.Score || m.Keyword != it.Keyword || m.Vector != it.Vector {
			t.Errorf("memory %d recorded as %+v, injected as score %v keyword %+v vector %+v", m.ID, m, it.Score, it.Keyword, it.Vector)
		}
	}
}

func TestInjectFilters(t *testing.T) {
	svc, _ := MustService(t)
	ids := MustRemember(t, svc, "infra",
		[2]string{"current", "The staging cluster runs Kubernetes 1.31 behind an nginx ingress."},
		[2]string{"earlier", "The staging cluster was upgraded to Kubernetes 1.31 last sprint."})
	q := func(mod func(*sage.InjectQuery)) sage.InjectQuery {
		q := sage.InjectQuery{ContextQuery: sage.ContextQuery{Query: "Which Kubernetes version runs the staging cluster?",
			MaxResults: 8, MaxChars: 2000, Filter: sage.Filter{Project: "infra"}}, DryRun: true}
		mod(&q)
		return q
	}
	tests := []struct {
		name   string
		q      sage.InjectQuery
		want   []int64
		reason string // of the first candidate refused
	}{
		{"no filter", q(func(*sage.InjectQuery) {}), ids, ""},
		// Context drops the excluded session and low scores before its
		// limit; a dry run lists them after the others, with the reason.
		{"exclude session", q(func(q *sage.InjectQuery) { q.ExcludeSession = "current" }), ids[1:], "from this session"},
		{"min score", q(func(q *sage.InjectQuery) { q.MinScore = 100 }), nil, "< min_score 100"},
		{"max results", q(func(q *sage.InjectQuery) { q.MaxResults = 1 }), ids[:1], ""},
		{"max chars", q(func(q *sage.InjectQuery) { q.MaxChars = 10 }), nil, "no room within max_chars"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out := MustInject(t, svc, tt.q)
			got := map[int64]bool{}
			for _, it := range out.Items {
				got[it.ID] = true
			}
			if tt.want != nil && (len(got) != len(tt.want) || !got[tt.want[0]]) || tt.want == nil && len(got) > 0 {
				t.Errorf("items %v, want %v", got, tt.want)
			}
			refused := ""
			for _, c := range out.Candidates {
				if !c.Passed && refused == "" {
					refused = c.Reason
				}
				if c.Passed != got[c.ID] {
					t.Errorf("candidate %d passed=%v but injected=%v", c.ID, c.Passed, got[c.ID])
				}
			}
			if tt.reason != "" && !strings.Contains(refused, tt.reason) {
				t.Errorf("refusal %q, want one with %q", refused, tt.reason)
			}
			if tt.reason == "" && refused != "" {
				t.Errorf("refused %q, want every candidate in", refused)
			}
			if len(out.Candidates) != min(len(ids), tt.q.MaxResults) {
				t.Errorf("%d candidates, want %d", len(out.Candidates), min(len(ids), tt.q.MaxResults))
			}
			for _, c := range out.Candidates {
				if (c.SessionID == tt.q.ExcludeSession || c.Score < tt.q.MinScore) && (c.Passed || !strings.Contains(c.Reason, tt.reason)) {
					t.Errorf("candidate %d (session %q, score %.3f): passed %v, reason %q; want refused for %q", c.ID, c.SessionID, c.Score, c.Passed, c.Reason, tt.reason)
				}
			}
		})
	}

	// Outside a dry run the filtered memories are not candidates: the
	// limit is filled with usable ones.
	real := q(func(q *sage.InjectQuery) { q.ExcludeSession, q.DryRun, q.MaxResults = "current", false, 1 })
	out := MustInject(t, svc, real)
	if len(out.Items) != 1 || out.Items[0].ID != ids[1] || len(out.Candidates) != 1 {
		t.Errorf("exclude session with max 1: items %+v, %d candidates; want memory %d alone", out.Items, len(out.Candidates), ids[1])
	}
}

func TestInjectionsFilterAndNamespace(t *testing.T) {
	svc, _ := MustService(t)
	MustRemember(t, svc, "", [2]string{"x", "Grafana dashboards live in the ops repository under dashboards/."})
	inject := func(ctx context.Context, session string) {
		t.Helper()
		_, err := svc.Inject(ctx, sage.InjectQuery{ContextQuery: sage.ContextQuery{Query: "where are the Grafana dashboards"},
			Source: sage.SourceHook, SessionID: session})
		if err != nil {
			t.Fatal(err)
		}
	}
	ctx := context.Background()
	inject(ctx, "a")
	inject(ctx, "b")
	inject(ctx, "a")
	inject(sage.WithNamespace(ctx, "other"), "a") // finds nothing there: no record
	tests := []struct {
		f    sage.InjectionFilter
		want int
	}{
		{sage.InjectionFilter{}, 3},
		{sage.InjectionFilter{SessionID: "a"}, 2},
		{sage.InjectionFilter{SessionID: "b"}, 1},
		{sage.InjectionFilter{SessionID: "a", Limit: 1}, 1},
		{sage.InjectionFilter{SessionID: "none"}, 0},
	}
	for _, tt := range tests {
		got := MustInjections(t, svc, tt.f)
		if len(got) != tt.want {
			t.Errorf("%+v: %d injections, want %d", tt.f, len(got), tt.want)
		}
		for i := 1; i < len(got); i++ {
			if got[i].ID > got[i-1].ID {
				t.Errorf("%+v: not most recent first", tt.f)
			}
		}
	}
	if got := MustInjections(t, svc, sage.InjectionFilter{}); len(got) > 0 && got[0].SessionID != "a" {
		t.Errorf("most recent first: got session %q", got[0].SessionID)
	}
	if got, _ := svc.Injections(sage.WithNamespace(ctx, "other"), sage.InjectionFilter{}); len(got) != 0 {
		t.Errorf("namespace other sees %d injections", len(got))
	}
	if _, err := svc.Injections(ctx, sage.InjectionFilter{Limit: sage.MaxLimit + 1}); err == nil {
		t.Error("limit beyond MaxLimit accepted")
	}
}

func TestPruneInjections(t *testing.T) {
	tests := []struct {
		name     string
		r        postgres.AuditRetention
		oldRows  int // recorded, then aged 40 days
		newRows  int
		want     int
		wantGone int64
	}{
		{"by age", postgres.AuditRetention{MaxAge: 30 * 24 * time.Hour}, 2, 3, 3, 2},
		{"by rows", postgres.AuditRetention{MaxRows: 2}, 0, 5, 2, 3},
		{"both", postgres.AuditRetention{MaxAge: 24 * time.Hour, MaxRows: 2}, 3, 3, 2, 4},
		{"defaults", postgres.AuditRetention{}, 1, 2, 2, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			svc, db := MustService(t)
			MustRemember(t, svc, "", [2]string{"x", "The release checklist lives in docs/release.md."})
			ctx := context.Background()
			record := func(n int) {
				for i := range n {
					q := sage.InjectQuery{ContextQuery: sage.ContextQuery{Query: fmt.Sprintf("release checklist %d", i)}}
					if out := MustInject(t, svc, q); out.Recorded == 0 {
						t.Fatal("nothing recorded")
					}
				}
			}
			record(tt.oldRows)
			if _, err := db.Pool().Exec(ctx, `UPDATE injections SET at = at - interval '40 days'`); err != nil {
				t.Fatal(err)
			}
			record(tt.newRows)
			n, err := svc.PruneInjections(ctx, tt.r)
			if err != nil {
				t.Fatal(err)
			}
			got := MustInjections(t, svc, sage.InjectionFilter{Limit: sage.MaxLimit})
			if n != tt.wantGone || len(got) != tt.want {
				t.Errorf("pruned %d, left %d; want %d and %d", n, len(got), tt.wantGone, tt.want)
			}
			for _, in := range got {
				if time.Since(in.At) > 24*time.Hour && tt.r.MaxAge != 0 {
					t.Errorf("kept an injection of %v", in.At)
				}
			}
		})
	}
}

func TestRunAuditPrune(t *testing.T) {
	svc, _ := MustService(t)
	MustRemember(t, svc, "", [2]string{"x", "The release checklist lives in docs/release.md."})
	for range 3 {
		MustInject(t, svc, sage.InjectQuery{ContextQuery: sage.ContextQuery{Query: "release checklist"}})
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		// A long interval: only the first prune, at once, can run.
		svc.RunAuditPrune(ctx, postgres.AuditRetention{MaxRows: 1}, time.Hour)
	}()
	// Wait for the prune to have happened (polling the table, not sleeping).
	deadline := time.Now().Add(30 * time.Second)
	for len(MustInjections(t, svc, sage.InjectionFilter{})) != 1 {
		if time.Now().After(deadline) {
			t.Fatal("the background prune did not run")
		}
		select {
		case <-done:
			t.Fatal("RunAuditPrune returned early")
		default:
		}
	}
	cancel()
	<-done
}
