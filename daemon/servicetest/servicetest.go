// Package servicetest is the contract suite of sage.Service: every
// implementation runs it (postgres does, from its tests) to show that it
// keeps the promises of the interface, failure paths included.
package servicetest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	sage "github.com/sage-mcp/sage/daemon"
)

// Factory returns a new, empty Service for t.
type Factory func(t *testing.T) sage.Service

// Run runs the contract suite against services made by newService. Each
// subtest gets a service of its own.
func Run(t *testing.T, newService Factory) {
	tests := []struct {
		name string
		fn   func(*testing.T, sage.Service)
	}{
		{"SaveTurn", testSaveTurn},
		{"SaveTurnInvalid", testSaveTurnInvalid},
		{"SaveTurns", testSaveTurns},
		{"SaveTurnsAtomic", testSaveTurnsAtomic},
		{"Remember", testRemember},
		{"Search", testSearch},
		{"SearchFilters", testSearchFilters},
		{"SearchNearDuplicates", testSearchNearDuplicates},
		{"SearchInvalid", testSearchInvalid},
		{"Context", testContext},
		{"GlobalMemories", testGlobalMemories},
		{"Forget", testForget},
		{"Sessions", testSessions},
		{"ExportImport", testExportImport},
		{"Status", testStatus},
		{"Reindex", testReindex},
		{"Namespaces", testNamespaces},
		{"ConcurrentSaves", testConcurrentSaves},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.fn(t, newService(t))
		})
	}
}

var base = time.Date(2026, 11, 20, 9, 0, 0, 0, time.UTC)

// MustSaveTurn saves t and fails the test on error.
func MustSaveTurn(t *testing.T, s sage.Service, ctx context.Context, turn sage.Turn) sage.SaveResult {
	t.Helper()
	r, err := s.SaveTurn(ctx, turn)
	return mustSaved(t, fmt.Sprintf("SaveTurn(%q)", turn.UserPrompt), r, err)
}

// MustRemember saves n and fails the test on error.
func MustRemember(t *testing.T, s sage.Service, ctx context.Context, n sage.Note) sage.SaveResult {
	t.Helper()
	r, err := s.Remember(ctx, n)
	return mustSaved(t, fmt.Sprintf("Remember(%q)", n.Content), r, err)
}

// mustSaved returns r, the result of call, and fails the test on error or
// on an id that is not positive.
func mustSaved(t *testing.T, call string, r sage.SaveResult, err error) sage.SaveResult {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", call, err)
	}
	if r.ID <= 0 {
		t.Fatalf("%s: id %d", call, r.ID)
	}
	return r
}

// MustSearch searches and fails the test on error.
func MustSearch(t *testing.T, s sage.Service, ctx context.Context, q sage.SearchQuery) []sage.Result {
	t.Helper()
	res, err := s.Search(ctx, q)
	if err != nil {
		t.Fatalf("Search(%q, %s): %v", q.Query, q.Mode, err)
	}
	return res
}

// MustStatus returns the status and fails the test on error.
func MustStatus(t *testing.T, s sage.Service, ctx context.Context) sage.Status {
	t.Helper()
	st, err := s.Status(ctx)
	if err != nil {
		t.Fatalf("Status: %v", err)
	}
	return st
}

// wantInvalid fails t unless err is an *InputError on field.
func wantInvalid(t *testing.T, err error, field string) {
	t.Helper()
	var ie *sage.InputError
	if !errors.As(err, &ie) || !errors.Is(err, sage.ErrInvalid) {
		t.Fatalf("error = %v, want an *InputError on %q", err, field)
	}
	if ie.Field != field {
		t.Fatalf("error field = %q (%v), want %q", ie.Field, err, field)
	}
}

func ids(rs []sage.Result) []int64 {
	out := make([]int64, len(rs))
	for i, r := range rs {
		out[i] = r.ID
	}
	return out
}

func contains(rs []sage.Result, id int64) bool {
	for _, r := range rs {
		if r.ID == id {
			return true
		}
	}
	return false
}

func testSaveTurn(t *testing.T, s sage.Service) {
	ctx := context.Background()
	turn := sage.Turn{
		IdempotencyKey: "s1:1", SessionID: "s1", Project: "sage",
		UserPrompt: "Which port does the daemon listen on?", AssistantResponse: "Port 17800 by default.",
		Metadata: json.RawMessage(`{"cwd":"/src/sage"}`), OccurredAt: base,
	}
	first := MustSaveTurn(t, s, ctx, turn)
	if first.Deduplicated {
		t.Fatal("first save reported as deduplicated")
	}

	// Same idempotency key, even with other content: the first id.
	again := turn
	again.AssistantResponse = "something else"
	if r := MustSaveTurn(t, s, ctx, again); r.ID != first.ID || !r.Deduplicated {
		t.Fatalf("same key: %+v, want id %d deduplicated", r, first.ID)
	}
	// Same session and content without a key: the first id.
	nokey := turn
	nokey.IdempotencyKey = ""
	if r := MustSaveTurn(t, s, ctx, nokey); r.ID != first.ID || !r.Deduplicated {
		t.Fatalf("same content: %+v, want id %d deduplicated", r, first.ID)
	}
	// Same content in another session is another memory.
	other := nokey
	other.SessionID = "s2"
	if r := MustSaveTurn(t, s, ctx, other); r.ID == first.ID || r.Deduplicated {
		t.Fatalf("other session: %+v, want a new memory", r)
	}

	ms, err := s.SessionMemories(ctx, "s1")
	if err != nil {
		t.Fatal(err)
	}
	if len(ms) != 1 {
		t.Fatalf("session s1 has %d memories, want 1", len(ms))
	}
	m := ms[0]
	if m.ID != first.ID || m.Kind != sage.KindTurn || m.Project != "sage" || m.SessionID != "s1" || m.IdempotencyKey != "s1:1" {
		t.Fatalf("stored memory = %+v", m)
	}
	if !strings.Contains(m.Text, turn.UserPrompt) || !strings.Contains(m.Text, turn.AssistantResponse) {
		t.Fatalf("stored text %q lacks the prompt or the response", m.Text)
	}
	if !m.OccurredAt.Equal(base) || m.CreatedAt.IsZero() || m.ContentHash == "" {
		t.Fatalf("times/hash: occurred %v created %v hash %q", m.OccurredAt, m.CreatedAt, m.ContentHash)
	}
	var meta map[string]any
	if err := json.Unmarshal(m.Metadata, &meta); err != nil || meta["cwd"] != "/src/sage" {
		t.Fatalf("metadata = %s (%v)", m.Metadata, err)
	}

	// Zero OccurredAt means now.
	before := time.Now().Add(-time.Minute)
	r := MustSaveTurn(t, s, ctx, sage.Turn{SessionID: "s3", UserPrompt: "now?"})
	ms, _ = s.SessionMemories(ctx, "s3")
	if len(ms) != 1 || ms[0].ID != r.ID || ms[0].OccurredAt.Before(before) {
		t.Fatalf("occurred_at of a turn without one = %+v", ms)
	}
}

func testSaveTurnInvalid(t *testing.T, s sage.Service) {
	ctx := context.Background()
	tests := []struct {
		name  string
		turn  sage.Turn
		field string
	}{
		{"empty", sage.Turn{SessionID: "s"}, "user_prompt"},
		{"too long", sage.Turn{UserPrompt: strings.Repeat("x", sage.MaxContentBytes+1)}, "user_prompt"},
		{"bad metadata", sage.Turn{UserPrompt: "x", Metadata: json.RawMessage(`[`)}, "metadata"},
		{"long session", sage.Turn{UserPrompt: "x", SessionID: strings.Repeat("s", sage.MaxIDBytes+1)}, "session_id"},
		{"NUL", sage.Turn{UserPrompt: "a\x00b"}, "user_prompt"},
	}
	for _, tt := range tests {
		_, err := s.SaveTurn(ctx, tt.turn)
		wantInvalid(t, err, tt.field)
	}
	if st := MustStatus(t, s, ctx); st.Memories != 0 || st.Sessions != 0 {
		t.Fatalf("invalid turns stored something: %+v", st)
	}
	// The largest turn allowed is stored whole.
	big := sage.Turn{SessionID: "big", UserPrompt: strings.Repeat("word ", sage.MaxContentBytes/10), AssistantResponse: strings.Repeat("ok ", sage.MaxContentBytes/10)}
	MustSaveTurn(t, s, ctx, big)
	ms, err := s.SessionMemories(ctx, "big")
	if err != nil || len(ms) != 1 || !strings.Contains(ms[0].Text, strings.TrimSpace(big.AssistantResponse)) {
		t.Fatalf("big turn not stored whole: %v", err)
	}
}

func testSaveTurns(t *testing.T, s sage.Service) {
	ctx := context.Background()
	ts := []sage.Turn{
		{IdempotencyKey: "b:1", SessionID: "b", UserPrompt: "first", AssistantResponse: "one", OccurredAt: base},
		{IdempotencyKey: "b:2", SessionID: "b", UserPrompt: "second", AssistantResponse: "two", OccurredAt: base.Add(time.Minute)},
		{IdempotencyKey: "b:1", SessionID: "b", UserPrompt: "first", AssistantResponse: "one", OccurredAt: base}, // repeat in the batch
	}
	res, err := s.SaveTurns(ctx, ts)
	if err != nil {
		t.Fatal(err)
	}
	if len(res) != 3 || res[0].Deduplicated || res[1].Deduplicated || !res[2].Deduplicated || res[2].ID != res[0].ID || res[0].ID == res[1].ID {
		t.Fatalf("SaveTurns = %+v", res)
	}
	// Replaying the batch stores nothing new.
	res2, err := s.SaveTurns(ctx, ts)
	if err != nil {
		t.Fatal(err)
	}
	for i := range res2 {
		if res2[i].ID != res[i].ID || !res2[i].Deduplicated {
			t.Fatalf("replay %d = %+v, want %+v deduplicated", i, res2[i], res[i])
		}
	}
	ms, err := s.SessionMemories(ctx, "b")
	if err != nil || len(ms) != 2 || ms[0].ID != res[0].ID || ms[1].ID != res[1].ID {
		t.Fatalf("session b = %+v, %v", ms, err)
	}

	_, err = s.SaveTurns(ctx, nil)
	wantInvalid(t, err, "turns")
	many := make([]sage.Turn, sage.MaxBatch+1)
	for i := range many {
		many[i] = sage.Turn{UserPrompt: fmt.Sprint("turn ", i)}
	}
	_, err = s.SaveTurns(ctx, many)
	wantInvalid(t, err, "turns")
	if st := MustStatus(t, s, ctx); st.Memories != 2 {
		t.Fatalf("memories = %d, want 2", st.Memories)
	}
	// The largest batch goes through.
	res, err = s.SaveTurns(ctx, many[:sage.MaxBatch])
	if err != nil || len(res) != sage.MaxBatch {
		t.Fatalf("SaveTurns(MaxBatch) = %d results, %v", len(res), err)
	}
	if st := MustStatus(t, s, ctx); st.Memories != 2+sage.MaxBatch {
		t.Fatalf("memories = %d, want %d", st.Memories, 2+sage.MaxBatch)
	}
}

func testSaveTurnsAtomic(t *testing.T, s sage.Service) {
	ctx := context.Background()
	ts := []sage.Turn{
		{SessionID: "a", UserPrompt: "fine"},
		{SessionID: "a", UserPrompt: "also fine"},
		{SessionID: "a", UserPrompt: ""}, // invalid
	}
	_, err := s.SaveTurns(ctx, ts)
	wantInvalid(t, err, "turns[2].user_prompt")
	if st := MustStatus(t, s, ctx); st.Memories != 0 || st.Sessions != 0 {
		t.Fatalf("a failed batch stored something: %+v", st)
	}
	if _, err := s.Session(ctx, "a"); !errors.Is(err, sage.ErrNotFound) {
		t.Fatalf("Session(a) = %v, want ErrNotFound", err)
	}
}

func testRemember(t *testing.T, s sage.Service) {
	ctx := context.Background()
	r := MustRemember(t, s, ctx, sage.Note{Content: "The team chose PostgreSQL over SQLite for concurrent writers.", Kind: sage.KindDecision, Tags: []string{"db", "design"}, Project: "sage"})
	if r.Deduplicated {
		t.Fatal("first note deduplicated")
	}
	if r2 := MustRemember(t, s, ctx, sage.Note{Content: "the team chose postgresql over sqlite  for concurrent writers.", Kind: sage.KindDecision}); r2.ID != r.ID || !r2.Deduplicated {
		t.Fatalf("same content (case, spaces) = %+v, want %d deduplicated", r2, r.ID)
	}
	k := MustRemember(t, s, ctx, sage.Note{IdempotencyKey: "note-1", Content: "plain note"})
	if r3 := MustRemember(t, s, ctx, sage.Note{IdempotencyKey: "note-1", Content: "changed"}); r3.ID != k.ID || !r3.Deduplicated {
		t.Fatalf("same key = %+v, want %d deduplicated", r3, k.ID)
	}
	res := MustSearch(t, s, ctx, sage.SearchQuery{Query: "plain note", Mode: sage.ModeKeyword})
	if len(res) == 0 || res[0].ID != k.ID || res[0].Kind != sage.KindNote {
		t.Fatalf("default kind: %+v", res)
	}
	res = MustSearch(t, s, ctx, sage.SearchQuery{Query: "PostgreSQL SQLite", Filter: sage.Filter{Tags: []string{"design", "db"}}})
	if len(res) != 1 || res[0].ID != r.ID || res[0].Kind != sage.KindDecision || len(res[0].Tags) != 2 {
		t.Fatalf("note by tags: %+v", res)
	}
	_, err := s.Remember(ctx, sage.Note{Content: " "})
	wantInvalid(t, err, "content")
	_, err = s.Remember(ctx, sage.Note{Content: "x", Kind: "poem"})
	wantInvalid(t, err, "kind")
	_, err = s.Remember(ctx, sage.Note{Content: "x", Tags: make([]string, sage.MaxTags+1)})
	wantInvalid(t, err, "tags")
	if st := MustStatus(t, s, ctx); st.Memories != 2 {
		t.Fatalf("memories = %d, want 2", st.Memories)
	}
}

func seedSearch(t *testing.T, s sage.Service, ctx context.Context) map[string]int64 {
	t.Helper()
	out := map[string]int64{}
	add := func(name string, n sage.Note) {
		out[name] = MustRemember(t, s, ctx, n).ID
	}
	add("hnsw", sage.Note{Content: "pgvector HNSW index: raise hnsw.ef_search for better recall", Project: "sage", SessionID: "s1", Kind: sage.KindFact, Tags: []string{"pg"}, OccurredAt: base})
	add("docker", sage.Note{Content: "The daemon runs in Docker Compose next to the pgvector image", Project: "sage", SessionID: "s1", Kind: sage.KindNote, OccurredAt: base.Add(time.Hour)})
	add("bread", sage.Note{Content: "Sourdough bread needs a long cold proof in the fridge", Project: "kitchen", SessionID: "s2", Kind: sage.KindNote, Tags: []string{"baking"}, OccurredAt: base.Add(-48 * time.Hour)})
	add("oven", sage.Note{Content: "Preheat the oven with the Dutch oven inside for bread", Project: "kitchen", SessionID: "s2", Kind: sage.KindTodo, Tags: []string{"baking", "oven"}, OccurredAt: base.Add(-24 * time.Hour)})
	add("release", sage.Note{Content: "Release v1.2 of the daemon on Friday after the pgvector upgrade", Project: "sage", SessionID: "s3", Kind: sage.KindDecision, OccurredAt: base.Add(48 * time.Hour)})
	return out
}

func testSearch(t *testing.T, s sage.Service) {
	ctx := context.Background()
	seed := seedSearch(t, s, ctx)
	for _, mode := range []sage.Mode{"", sage.ModeHybrid, sage.ModeSemantic, sage.ModeKeyword} {
		res := MustSearch(t, s, ctx, sage.SearchQuery{Query: "sourdough bread proof", Mode: mode})
		if len(res) == 0 || res[0].ID != seed["bread"] {
			t.Errorf("mode %q: top = %v, want bread %d", mode, ids(res), seed["bread"])
		}
		for i := 1; i < len(res); i++ {
			if res[i].Score > res[i-1].Score {
				t.Errorf("mode %q: scores not descending: %v then %v", mode, res[i-1].Score, res[i].Score)
			}
		}
		res = MustSearch(t, s, ctx, sage.SearchQuery{Query: "pgvector", Mode: mode, Limit: 2})
		if len(res) != 2 {
			t.Errorf("mode %q: limit 2 gave %d results", mode, len(res))
		}
	}
	if res := MustSearch(t, s, ctx, sage.SearchQuery{Query: "zebra giraffe", Mode: sage.ModeKeyword}); len(res) != 0 {
		t.Errorf("keyword search for absent words = %v", ids(res))
	}
	// A result carries the whole memory.
	res := MustSearch(t, s, ctx, sage.SearchQuery{Query: "Dutch oven preheat", Limit: 1})
	if len(res) != 1 || res[0].ID != seed["oven"] || res[0].Project != "kitchen" || res[0].SessionID != "s2" || res[0].Kind != sage.KindTodo || len(res[0].Tags) != 2 || res[0].OccurredAt.IsZero() {
		t.Errorf("result = %+v", res)
	}
}

// testSearchNearDuplicates: memories that say the same thing (the same turn
// saved in several sessions, or with other punctuation) appear once in
// results, and the limit still fills up with other memories, however many
// copies rank before them.
func testSearchNearDuplicates(t *testing.T, s sage.Service) {
	ctx := context.Background()
	text := "We moved the nightly backup to three in the morning because the index rebuild ran at two and both fought for the disk"
	variants := []string{text, text, strings.ToUpper(text[:1]) + text[1:] + "!"}
	for i := range 20 {
		variants = append(variants, text+strings.Repeat(".", i+2))
	}
	var dups []int64
	for i, v := range variants {
		r := MustSaveTurn(t, s, ctx, sage.Turn{SessionID: fmt.Sprint("dup-", i), UserPrompt: "why did the backup move?", AssistantResponse: v})
		if r.Deduplicated {
			t.Fatalf("turn in session dup-%d deduplicated: different sessions keep their own copy", i)
		}
		dups = append(dups, r.ID)
	}
	other := MustRemember(t, s, ctx, sage.Note{Content: "The nightly backup writes to the second disk since the rebuild moved."}).ID
	more := MustRemember(t, s, ctx, sage.Note{Content: "Backup retention is thirty days, the morning job prunes older ones."}).ID
	for _, mode := range []sage.Mode{sage.ModeHybrid, sage.ModeSemantic, sage.ModeKeyword} {
		res := MustSearch(t, s, ctx, sage.SearchQuery{Query: "nightly backup moved morning index rebuild disk", Mode: mode, Limit: 3})
		got := ids(res)
		n := 0
		for _, id := range got {
			if slices.Contains(dups, id) {
				n++
			}
		}
		if n != 1 || len(got) != 3 || !slices.Contains(got, other) || !slices.Contains(got, more) {
			t.Errorf("mode %q: %v; want one of the near-duplicates %v, then %d and %d", mode, got, dups, other, more)
		}
	}
}

func testSearchFilters(t *testing.T, s sage.Service) {
	ctx := context.Background()
	seed := seedSearch(t, s, ctx)
	tests := []struct {
		name string
		f    sage.Filter
		want []string // exactly these, in any order
	}{
		{"project", sage.Filter{Project: "kitchen"}, []string{"bread", "oven"}},
		{"session", sage.Filter{SessionID: "s1"}, []string{"hnsw", "docker"}},
		{"kinds", sage.Filter{Kinds: []sage.Kind{sage.KindTodo, sage.KindDecision}}, []string{"oven", "release"}},
		{"tags all", sage.Filter{Tags: []string{"baking", "oven"}}, []string{"oven"}},
		{"tag", sage.Filter{Tags: []string{"baking"}}, []string{"bread", "oven"}},
		{"since", sage.Filter{Since: base.Add(30 * time.Minute)}, []string{"docker", "release"}},
		{"until", sage.Filter{Until: base.Add(-time.Hour)}, []string{"bread", "oven"}},
		{"range", sage.Filter{Since: base, Until: base.Add(time.Hour)}, []string{"hnsw", "docker"}},
		{"none", sage.Filter{Project: "nope"}, nil},
	}
	// A query that matches every memory in some way (semantic always
	// returns neighbours), so the filter alone decides.
	query := "pgvector daemon bread oven sourdough release Docker HNSW"
	for _, tt := range tests {
		for _, mode := range []sage.Mode{sage.ModeHybrid, sage.ModeSemantic, sage.ModeKeyword} {
			res := MustSearch(t, s, ctx, sage.SearchQuery{Query: query, Mode: mode, Filter: tt.f, Limit: 10})
			got := map[int64]bool{}
			for _, r := range res {
				got[r.ID] = true
			}
			want := map[int64]bool{}
			for _, n := range tt.want {
				want[seed[n]] = true
			}
			if len(got) != len(want) {
				t.Errorf("%s/%s: got %v, want %v", tt.name, mode, ids(res), tt.want)
				continue
			}
			for id := range want {
				if !got[id] {
					t.Errorf("%s/%s: got %v, want %v", tt.name, mode, ids(res), tt.want)
				}
			}
		}
	}
}

func testSearchInvalid(t *testing.T, s sage.Service) {
	ctx := context.Background()
	tests := []struct {
		q     sage.SearchQuery
		field string
	}{
		{sage.SearchQuery{Query: ""}, "query"},
		{sage.SearchQuery{Query: strings.Repeat("q", sage.MaxQueryBytes+1)}, "query"},
		{sage.SearchQuery{Query: "q", Limit: sage.MaxLimit + 1}, "limit"},
		{sage.SearchQuery{Query: "q", Limit: -1}, "limit"},
		{sage.SearchQuery{Query: "q", Mode: "magic"}, "mode"},
		{sage.SearchQuery{Query: "q", Filter: sage.Filter{Kinds: []sage.Kind{"poem"}}}, "kinds"},
		{sage.SearchQuery{Query: "q", Filter: sage.Filter{Since: base, Until: base.Add(-time.Second)}}, "until"},
	}
	for _, tt := range tests {
		_, err := s.Search(ctx, tt.q)
		wantInvalid(t, err, tt.field)
	}
	// Queries of only punctuation or stop words are valid and find nothing
	// by keyword.
	for _, q := range []string{"?!", "the of and", "'\"&|!():*<>"} {
		if _, err := s.Search(ctx, sage.SearchQuery{Query: q}); err != nil {
			t.Errorf("Search(%q) = %v", q, err)
		}
		if res := MustSearch(t, s, ctx, sage.SearchQuery{Query: q, Mode: sage.ModeKeyword}); len(res) != 0 {
			t.Errorf("Search(%q) on an empty store = %v", q, ids(res))
		}
	}
}

func testContext(t *testing.T, s sage.Service) {
	ctx := context.Background()
	empty, err := s.Context(ctx, sage.ContextQuery{Query: "anything"})
	if err != nil || empty.Text != "" || len(empty.Items) != 0 {
		t.Fatalf("context of an empty store = %+v, %v", empty, err)
	}
	long := strings.Repeat("长文本记忆内容，包含很多汉字。", 300) // multi-byte runes
	var want []int64
	for i := 0; i < 5; i++ {
		r := MustRemember(t, s, ctx, sage.Note{Content: fmt.Sprintf("记忆 %d 数据库 pgvector %s", i, long), Project: "p", SessionID: "sess", OccurredAt: base.Add(time.Duration(i) * time.Minute)})
		want = append(want, r.ID)
	}
	MustRemember(t, s, ctx, sage.Note{Content: "short note about pgvector tuning", OccurredAt: base})
	for _, max := range []int{1, 10, 60, 100, 500, 4000, sage.MaxMaxChars} {
		c, err := s.Context(ctx, sage.ContextQuery{Query: "pgvector 数据库", MaxChars: max})
		if err != nil {
			t.Fatal(err)
		}
		if n := utf8.RuneCountInString(c.Text); n > max {
			t.Errorf("MaxChars %d: block has %d runes", max, n)
		}
		if !utf8.ValidString(c.Text) {
			t.Errorf("MaxChars %d: block is not valid UTF-8", max)
		}
		if max >= 100 && (len(c.Items) == 0 || c.Text == "") {
			t.Errorf("MaxChars %d: empty block", max)
		}
		for _, it := range c.Items {
			if !strings.Contains(c.Text, it.OccurredAt.Format("2006-01-02")) {
				t.Errorf("MaxChars %d: item %d not dated in the block", max, it.ID)
			}
		}
	}
	// Default MaxChars.
	c, err := s.Context(ctx, sage.ContextQuery{Query: "pgvector"})
	if err != nil || utf8.RuneCountInString(c.Text) > sage.DefaultMaxChars || len(c.Items) == 0 {
		t.Fatalf("default context: %d runes, %d items, %v", utf8.RuneCountInString(c.Text), len(c.Items), err)
	}
	// MaxResults bounds the items.
	c, err = s.Context(ctx, sage.ContextQuery{Query: "pgvector", MaxResults: 2, MaxChars: sage.MaxMaxChars})
	if err != nil || len(c.Items) != 2 {
		t.Fatalf("MaxResults 2: %d items, %v", len(c.Items), err)
	}
	// An empty query gives the most recent memories.
	c, err = s.Context(ctx, sage.ContextQuery{MaxResults: 1, MaxChars: 1000})
	if err != nil || len(c.Items) != 1 || c.Items[0].ID != want[4] {
		t.Fatalf("recent context = %+v, %v", c.Items, err)
	}
	_, err = s.Context(ctx, sage.ContextQuery{Query: "x", MaxChars: sage.MaxMaxChars + 1})
	wantInvalid(t, err, "max_chars")
	_, err = s.Context(ctx, sage.ContextQuery{Query: "x", MaxResults: -1})
	wantInvalid(t, err, "max_results")
}

// testGlobalMemories: memories without a project are context in every
// project, and a search with IncludeGlobal brings them along with the
// project's; without it a project filter keeps to the project.
func testGlobalMemories(t *testing.T, s sage.Service) {
	ctx := context.Background()
	a := MustRemember(t, s, ctx, sage.Note{Content: "use tabs for indentation in project alpha", Kind: sage.KindDecision, Project: "alpha", OccurredAt: base})
	b := MustRemember(t, s, ctx, sage.Note{Content: "use spaces for indentation in project beta", Kind: sage.KindDecision, Project: "beta", OccurredAt: base.Add(time.Minute)})
	g := MustRemember(t, s, ctx, sage.Note{Content: "the user wants indentation explained briefly", Kind: sage.KindDecision, OccurredAt: base.Add(2 * time.Minute)})
	todo := MustRemember(t, s, ctx, sage.Note{Content: "todo: document the indentation rules", Kind: sage.KindTodo, OccurredAt: base.Add(3 * time.Minute)})

	sorted := func(rs []sage.Result) []int64 {
		out := ids(rs)
		slices.Sort(out)
		return out
	}
	for _, mode := range []sage.Mode{sage.ModeHybrid, sage.ModeSemantic, sage.ModeKeyword} {
		searches := []struct {
			name string
			f    sage.Filter
			want []int64
		}{
			{"project only", sage.Filter{Project: "alpha"}, []int64{a.ID}},
			{"project and global", sage.Filter{Project: "alpha", IncludeGlobal: true}, []int64{a.ID, g.ID, todo.ID}},
			{"project and global decisions", sage.Filter{Project: "beta", IncludeGlobal: true, Kinds: []sage.Kind{sage.KindDecision}}, []int64{b.ID, g.ID}},
			{"no project: all", sage.Filter{IncludeGlobal: true}, []int64{a.ID, b.ID, g.ID, todo.ID}},
		}
		for _, tt := range searches {
			rs := MustSearch(t, s, ctx, sage.SearchQuery{Query: "indentation", Mode: mode, Limit: 10, Filter: tt.f})
			if got := sorted(rs); !slices.Equal(got, tt.want) {
				t.Errorf("%s, %s: ids %v, want %v", mode, tt.name, got, tt.want)
			}
		}
	}
	// Context: a project's context holds the global memories, with a query
	// and without (the latest memories).
	for _, q := range []string{"indentation", ""} {
		c, err := s.Context(ctx, sage.ContextQuery{Query: q, MaxChars: sage.MaxMaxChars, Filter: sage.Filter{Project: "alpha"}})
		if err != nil {
			t.Fatal(err)
		}
		if got, want := sorted(c.Items), []int64{a.ID, g.ID, todo.ID}; !slices.Equal(got, want) {
			t.Errorf("context of alpha (query %q): ids %v, want %v", q, got, want)
		}
		if !strings.Contains(c.Text, "explained briefly") || strings.Contains(c.Text, "project beta") {
			t.Errorf("context of alpha (query %q):\n%s", q, c.Text)
		}
	}
	// The mode of a context query is the search's.
	c, err := s.Context(ctx, sage.ContextQuery{Query: "indentation", Mode: sage.ModeKeyword, Filter: sage.Filter{Project: "beta"}})
	if err != nil || len(c.Items) != 3 {
		t.Errorf("keyword context of beta: %+v, %v", c.Items, err)
	}
}

func testForget(t *testing.T, s sage.Service) {
	ctx := context.Background()
	a := MustSaveTurn(t, s, ctx, sage.Turn{SessionID: "f1", UserPrompt: "alpha turn about kayaks"})
	b := MustSaveTurn(t, s, ctx, sage.Turn{SessionID: "f1", UserPrompt: "beta turn about kayaks"})
	MustSaveTurn(t, s, ctx, sage.Turn{SessionID: "f2", UserPrompt: "gamma turn about kayaks"})
	MustSaveTurn(t, s, ctx, sage.Turn{SessionID: "f2", UserPrompt: "delta turn about kayaks"})

	n, err := s.Forget(ctx, sage.ForgetRequest{IDs: []int64{a.ID, 999999999}})
	if err != nil || n != 1 {
		t.Fatalf("Forget(ids) = %d, %v; want 1", n, err)
	}
	for _, mode := range []sage.Mode{sage.ModeHybrid, sage.ModeKeyword, sage.ModeSemantic} {
		if res := MustSearch(t, s, ctx, sage.SearchQuery{Query: "alpha kayaks", Mode: mode}); contains(res, a.ID) {
			t.Fatalf("%s search still finds a forgotten memory", mode)
		}
	}
	// Forgetting the last memory of a session removes the session.
	if n, err := s.Forget(ctx, sage.ForgetRequest{IDs: []int64{b.ID}}); err != nil || n != 1 {
		t.Fatalf("Forget(b) = %d, %v", n, err)
	}
	if _, err := s.Session(ctx, "f1"); !errors.Is(err, sage.ErrNotFound) {
		t.Fatalf("empty session still there: %v", err)
	}
	n, err = s.Forget(ctx, sage.ForgetRequest{SessionID: "f2"})
	if err != nil || n != 2 {
		t.Fatalf("Forget(session) = %d, %v; want 2", n, err)
	}
	if _, err := s.Session(ctx, "f2"); !errors.Is(err, sage.ErrNotFound) {
		t.Fatalf("forgotten session still there: %v", err)
	}
	if _, err := s.Forget(ctx, sage.ForgetRequest{SessionID: "f2"}); !errors.Is(err, sage.ErrNotFound) {
		t.Fatalf("Forget(unknown session) = %v, want ErrNotFound", err)
	}
	_, err = s.Forget(ctx, sage.ForgetRequest{})
	wantInvalid(t, err, "ids")
	_, err = s.Forget(ctx, sage.ForgetRequest{IDs: make([]int64, sage.MaxForgetIDs+1)})
	wantInvalid(t, err, "ids")
	if st := MustStatus(t, s, ctx); st.Memories != 0 || st.Sessions != 0 {
		t.Fatalf("after forgetting all: %+v", st)
	}
}

func testSessions(t *testing.T, s sage.Service) {
	ctx := context.Background()
	MustSaveTurn(t, s, ctx, sage.Turn{SessionID: "old", Project: "p1", UserPrompt: "Set up the build pipeline", OccurredAt: base})
	MustSaveTurn(t, s, ctx, sage.Turn{SessionID: "old", Project: "p1", UserPrompt: "Add caching", OccurredAt: base.Add(time.Hour)})
	MustSaveTurn(t, s, ctx, sage.Turn{SessionID: "new", Project: "p2", UserPrompt: "Write the README", OccurredAt: base.Add(2 * time.Hour)})
	MustSaveTurn(t, s, ctx, sage.Turn{SessionID: "old", Project: "p1", UserPrompt: "Earlier question", OccurredAt: base.Add(-time.Hour)})

	all, err := s.Sessions(ctx, "", 0)
	if err != nil || len(all) != 2 || all[0].ID != "new" || all[1].ID != "old" {
		t.Fatalf("Sessions = %+v, %v", all, err)
	}
	old := all[1]
	if old.Memories != 3 || !old.FirstAt.Equal(base.Add(-time.Hour)) || !old.LastAt.Equal(base.Add(time.Hour)) || old.Project != "p1" || old.Title == "" {
		t.Fatalf("session old = %+v", old)
	}
	if p1, err := s.Sessions(ctx, "p1", 10); err != nil || len(p1) != 1 || p1[0].ID != "old" {
		t.Fatalf("Sessions(p1) = %+v, %v", p1, err)
	}
	if one, err := s.Sessions(ctx, "", 1); err != nil || len(one) != 1 || one[0].ID != "new" {
		t.Fatalf("Sessions(limit 1) = %+v, %v", one, err)
	}
	_, err = s.Sessions(ctx, "", sage.MaxLimit+1)
	wantInvalid(t, err, "limit")

	got, err := s.Session(ctx, "old")
	if err != nil || got.ID != "old" || got.Memories != 3 {
		t.Fatalf("Session(old) = %+v, %v", got, err)
	}
	if _, err := s.Session(ctx, "missing"); !errors.Is(err, sage.ErrNotFound) {
		t.Fatalf("Session(missing) = %v", err)
	}
	if err := s.RenameSession(ctx, "old", "Build pipeline"); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.Session(ctx, "old"); got.Title != "Build pipeline" {
		t.Fatalf("title = %q", got.Title)
	}
	if err := s.RenameSession(ctx, "missing", "x"); !errors.Is(err, sage.ErrNotFound) {
		t.Fatalf("RenameSession(missing) = %v", err)
	}
	wantInvalid(t, s.RenameSession(ctx, "old", strings.Repeat("t", 10000)), "title")

	ms, err := s.SessionMemories(ctx, "old")
	if err != nil || len(ms) != 3 {
		t.Fatalf("SessionMemories = %d, %v", len(ms), err)
	}
	for i := 1; i < len(ms); i++ {
		if ms[i].OccurredAt.Before(ms[i-1].OccurredAt) {
			t.Fatal("SessionMemories not in time order")
		}
	}
	if !strings.Contains(ms[0].Text, "Earlier question") {
		t.Fatalf("first memory = %q", ms[0].Text)
	}
	if _, err := s.SessionMemories(ctx, "missing"); !errors.Is(err, sage.ErrNotFound) {
		t.Fatalf("SessionMemories(missing) = %v", err)
	}
}

func testExportImport(t *testing.T, s sage.Service) {
	ctx := context.Background()
	seed := seedSearch(t, s, ctx)
	var out []sage.Memory
	if err := s.Export(ctx, sage.Filter{}, func(m sage.Memory) error { out = append(out, m); return nil }); err != nil {
		t.Fatal(err)
	}
	if len(out) != len(seed) {
		t.Fatalf("exported %d, want %d", len(out), len(seed))
	}
	for i := 1; i < len(out); i++ {
		if out[i].OccurredAt.Before(out[i-1].OccurredAt) {
			t.Fatal("export not oldest first")
		}
	}
	var kitchen int
	if err := s.Export(ctx, sage.Filter{Project: "kitchen"}, func(sage.Memory) error { kitchen++; return nil }); err != nil || kitchen != 2 {
		t.Fatalf("export kitchen = %d, %v", kitchen, err)
	}
	stop := errors.New("stop")
	calls := 0
	if err := s.Export(ctx, sage.Filter{}, func(sage.Memory) error { calls++; return stop }); !errors.Is(err, stop) || calls != 1 {
		t.Fatalf("export with failing fn = %v after %d calls", err, calls)
	}

	// Into another namespace: everything imported, then all deduplicated.
	other := sage.WithNamespace(ctx, "import-target")
	res, err := s.Import(other, out)
	if err != nil || res.Imported != len(out) || res.Deduplicated != 0 {
		t.Fatalf("Import = %+v, %v", res, err)
	}
	res, err = s.Import(other, out)
	if err != nil || res.Imported != 0 || res.Deduplicated != len(out) {
		t.Fatalf("re-Import = %+v, %v", res, err)
	}
	var back []sage.Memory
	if err := s.Export(other, sage.Filter{}, func(m sage.Memory) error { back = append(back, m); return nil }); err != nil {
		t.Fatal(err)
	}
	if len(back) != len(out) {
		t.Fatalf("round trip: %d memories, want %d", len(back), len(out))
	}
	for i := range back {
		a, b := out[i], back[i]
		if a.Text != b.Text || a.Kind != b.Kind || a.Project != b.Project || a.SessionID != b.SessionID ||
			!a.OccurredAt.Equal(b.OccurredAt) || strings.Join(a.Tags, ",") != strings.Join(b.Tags, ",") || b.Namespace != "import-target" {
			t.Fatalf("round trip %d: %+v != %+v", i, b, a)
		}
	}
	if r := MustSearch(t, s, other, sage.SearchQuery{Query: "sourdough"}); len(r) == 0 || r[0].Text != out[2].Text && !strings.Contains(r[0].Text, "Sourdough") {
		t.Fatalf("imported memories not searchable: %+v", r)
	}

	// One bad memory: nothing imported.
	bad := []sage.Memory{{Text: "good one", Kind: sage.KindNote}, {Text: "", Kind: sage.KindNote}}
	_, err = s.Import(sage.WithNamespace(ctx, "bad"), bad)
	wantInvalid(t, err, "memories[1].text")
	if st := MustStatus(t, s, sage.WithNamespace(ctx, "bad")); st.Memories != 0 {
		t.Fatalf("failed import stored %d", st.Memories)
	}
	_, err = s.Import(ctx, make([]sage.Memory, sage.MaxBatch+1))
	wantInvalid(t, err, "memories")
}

func testStatus(t *testing.T, s sage.Service) {
	ctx := sage.WithNamespace(context.Background(), "status-ns")
	st := MustStatus(t, s, ctx)
	if st.Namespace != "status-ns" || st.Version == "" || st.PostgresVersion == "" || st.PgvectorVersion == "" ||
		st.Embedder == "" || st.EmbeddingModel == "" || st.Dimensions <= 0 || st.Memories != 0 || st.Uptime < 0 {
		t.Fatalf("Status = %+v", st)
	}
	MustSaveTurn(t, s, ctx, sage.Turn{SessionID: "x", UserPrompt: "one"})
	MustSaveTurn(t, s, ctx, sage.Turn{SessionID: "y", UserPrompt: "two"})
	MustRemember(t, s, ctx, sage.Note{Content: "three"})
	st = MustStatus(t, s, ctx)
	if st.Memories != 3 || st.Sessions != 2 || st.PendingEmbeddings != 0 {
		t.Fatalf("Status after saves = %+v", st)
	}
}

func testReindex(t *testing.T, s sage.Service) {
	ctx := context.Background()
	seedSearch(t, s, ctx)
	var last sage.ReindexProgress
	calls := 0
	if err := s.Reindex(ctx, func(p sage.ReindexProgress) { last = p; calls++ }); err != nil {
		t.Fatal(err)
	}
	// Nothing to do: every vector is of the current model.
	if calls == 0 || last.Done != 0 || last.Total != 0 {
		t.Fatalf("reindex with nothing to do: %+v after %d calls", last, calls)
	}
	if err := s.Reindex(ctx, nil); err != nil {
		t.Fatalf("Reindex(nil progress) = %v", err)
	}
}

func testNamespaces(t *testing.T, s sage.Service) {
	a := sage.WithNamespace(context.Background(), "alice")
	b := sage.WithNamespace(context.Background(), "bob")
	ra := MustSaveTurn(t, s, a, sage.Turn{IdempotencyKey: "k", SessionID: "shared", Project: "p", UserPrompt: "alice secret: the vault code is 4321"})
	// The same key and session in another namespace is another memory.
	rb := MustSaveTurn(t, s, b, sage.Turn{IdempotencyKey: "k", SessionID: "shared", Project: "p", UserPrompt: "bob note about gardening"})
	if ra.ID == rb.ID || rb.Deduplicated {
		t.Fatalf("namespaces share memories: %+v %+v", ra, rb)
	}
	for _, mode := range []sage.Mode{sage.ModeHybrid, sage.ModeSemantic, sage.ModeKeyword} {
		if res := MustSearch(t, s, b, sage.SearchQuery{Query: "alice vault code secret", Mode: mode}); contains(res, ra.ID) {
			t.Errorf("%s search in bob finds alice's memory", mode)
		}
	}
	if c, _ := s.Context(b, sage.ContextQuery{Query: "vault code"}); strings.Contains(c.Text, "4321") {
		t.Error("bob's context shows alice's memory")
	}
	if c, _ := s.Context(b, sage.ContextQuery{}); strings.Contains(c.Text, "4321") {
		t.Error("bob's recent context shows alice's memory")
	}
	ms, err := s.SessionMemories(b, "shared")
	if err != nil || len(ms) != 1 || ms[0].ID != rb.ID {
		t.Fatalf("bob's session = %+v, %v", ms, err)
	}
	var exported []sage.Memory
	_ = s.Export(b, sage.Filter{}, func(m sage.Memory) error { exported = append(exported, m); return nil })
	if len(exported) != 1 || exported[0].ID != rb.ID {
		t.Errorf("bob exports %d memories", len(exported))
	}
	if n, err := s.Forget(b, sage.ForgetRequest{IDs: []int64{ra.ID}}); err != nil || n != 0 {
		t.Errorf("bob forgot alice's memory: %d, %v", n, err)
	}
	if err := s.RenameSession(b, "shared", "bob's"); err != nil {
		t.Fatal(err)
	}
	if x, _ := s.Session(a, "shared"); x.Title == "bob's" {
		t.Error("bob renamed alice's session")
	}
	if st := MustStatus(t, s, a); st.Memories != 1 || st.Sessions != 1 {
		t.Errorf("alice's status = %+v", st)
	}
	if res := MustSearch(t, s, a, sage.SearchQuery{Query: "vault code"}); !contains(res, ra.ID) {
		t.Error("alice cannot find her own memory")
	}
	if st := MustStatus(t, s, context.Background()); st.Memories != 0 || st.Namespace != sage.DefaultNamespace {
		t.Errorf("default namespace status = %+v", st)
	}
}

func testConcurrentSaves(t *testing.T, s sage.Service) {
	ctx := context.Background()
	const workers, each = 50, 4
	var wg sync.WaitGroup
	errs := make(chan error, workers*each*2)
	var mu sync.Mutex
	firstIDs := map[string]map[int64]bool{}
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := 0; i < each; i++ {
				// Distinct turns, plus one turn every worker saves (the same key).
				if _, err := s.SaveTurn(ctx, sage.Turn{IdempotencyKey: fmt.Sprintf("w%d:%d", w, i), SessionID: fmt.Sprintf("sess-%d", w%5), UserPrompt: fmt.Sprintf("worker %d turn %d", w, i)}); err != nil {
					errs <- err
				}
				r, err := s.SaveTurn(ctx, sage.Turn{IdempotencyKey: fmt.Sprintf("common:%d", i), SessionID: "common", UserPrompt: fmt.Sprintf("common turn %d", i)})
				if err != nil {
					errs <- err
					continue
				}
				mu.Lock()
				key := fmt.Sprint(i)
				if firstIDs[key] == nil {
					firstIDs[key] = map[int64]bool{}
				}
				firstIDs[key][r.ID] = true
				mu.Unlock()
			}
		}(w)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatalf("concurrent save: %v", err)
	}
	for k, set := range firstIDs {
		if len(set) != 1 {
			t.Fatalf("common turn %s stored under %d ids", k, len(set))
		}
	}
	st := MustStatus(t, s, ctx)
	if want := int64(workers*each + each); st.Memories != want {
		t.Fatalf("memories = %d, want %d", st.Memories, want)
	}
	if st.Sessions != 6 {
		t.Fatalf("sessions = %d, want 6", st.Sessions)
	}
	common, err := s.Session(ctx, "common")
	if err != nil || common.Memories != each {
		t.Fatalf("common session = %+v, %v", common, err)
	}
}
