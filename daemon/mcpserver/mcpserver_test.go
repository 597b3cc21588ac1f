package mcpserver

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/modelcontextprotocol/go-sdk/auth"
	"github.com/modelcontextprotocol/go-sdk/mcp"

	sage "github.com/sage-mcp/sage/daemon"
	"github.com/sage-mcp/sage/daemon/embed"
	"github.com/sage-mcp/sage/daemon/postgres"
	"github.com/sage-mcp/sage/daemon/postgres/postgrestest"
	"github.com/sage-mcp/sage/shared/api"
	"github.com/sage-mcp/sage/testkit/pgtest"
)

// transports are the two ways the handler serves clients.
var transports = []struct {
	name string
	opts Options
}{
	{"stateless", Options{}},
	{"stateful", Options{Stateful: true}},
}

// forEachTransport runs test, in parallel, on a fresh service served by
// each transport.
func forEachTransport(t *testing.T, test func(t *testing.T, url string)) {
	for _, tr := range transports {
		t.Run(tr.name, func(t *testing.T) {
			t.Parallel()
			test(t, MustServe(t, MustService(t), tr.opts))
		})
	}
}

// TestTools calls every tool end to end: a go-sdk client, the Streamable
// HTTP handler behind bearer auth, the PostgreSQL memory service.
func TestTools(t *testing.T) {
	for _, tr := range transports {
		t.Run(tr.name, func(t *testing.T) {
			t.Parallel()
			cs := MustClient(t, MustServe(t, MustService(t), tr.opts), tokenAlpha)
			if tr.opts.Stateful == (cs.ID() == "") {
				t.Errorf("session id %q with Stateful=%v", cs.ID(), tr.opts.Stateful)
			}
			testRememberTurn(t, cs)
			testRemember(t, cs)
			testSearchMemory(t, cs)
			testSearchContext(t, cs)
			testManageSession(t, cs)
			testExportSession(t, cs)
			testForget(t, cs)
			testGetStatus(t, cs)
			testRecall(t, cs)
		})
	}
}

// testRememberTurn saves turns with remember(kind=turn), which was the
// tool save_conversation.
func testRememberTurn(t *testing.T, cs *mcp.ClientSession) {
	args := map[string]any{
		"kind":            "turn",
		"content":         "How do we run the database for development?",
		"response":        "Run PostgreSQL 15 with pgvector through docker compose up -d pg.",
		"session_id":      "s-dev",
		"project":         "sage",
		"metadata":        map[string]any{"turn": 1},
		"occurred_at":     "2026-03-01T10:00:00+01:00",
		"idempotency_key": "s-dev:1",
	}
	var first, again api.SaveResult
	MustCall(t, cs, ToolRemember, args, &first)
	MustCall(t, cs, ToolRemember, args, &again)
	if first.ID <= 0 || first.Deduplicated || again.ID != first.ID || !again.Deduplicated {
		t.Fatalf("save then save again = %+v, %+v; want one id, the second deduplicated", first, again)
	}
	// Without a key, the same session and text are deduplicated too.
	plain := map[string]any{"kind": "turn", "content": "what port?", "response": "17800", "session_id": "s-dev", "project": "sage", "occurred_at": "2026-03-01"}
	var p1, p2 api.SaveResult
	MustCall(t, cs, ToolRemember, plain, &p1)
	MustCall(t, cs, ToolRemember, plain, &p2)
	if p2.ID != p1.ID || !p2.Deduplicated {
		t.Errorf("same turn without key saved twice: %+v, %+v", p1, p2)
	}

	long := strings.Repeat("x", sage.MaxIDBytes+1)
	tests := []struct {
		name string
		args map[string]any
		want []string
	}{
		{"empty turn", map[string]any{"kind": "turn", "content": " ", "response": ""}, []string{"invalid content", "required"}},
		{"missing content", map[string]any{"kind": "turn", "response": "hi"}, []string{"invalid content: is required"}},
		{"bad time", map[string]any{"kind": "turn", "content": "a", "response": "b", "occurred_at": "yesterday"}, []string{"invalid occurred_at", "RFC 3339"}},
		{"session id too long", map[string]any{"kind": "turn", "content": "a", "response": "b", "session_id": long}, []string{"invalid session_id", "limit of 256"}},
		{"metadata not an object", map[string]any{"kind": "turn", "content": "a", "response": "b", "metadata": []int{1}}, []string{"invalid metadata: must be a JSON object"}},
		{"metadata too large", map[string]any{"kind": "turn", "content": "a", "response": "b", "metadata": map[string]string{"x": strings.Repeat("m", sage.MaxMetadataBytes)}}, []string{"invalid metadata", "limit"}},
		{"turn too large", map[string]any{"kind": "turn", "content": strings.Repeat("p", sage.MaxContentBytes/2+1), "response": strings.Repeat("r", sage.MaxContentBytes/2+1)}, []string{"invalid response", "limit of 1048576"}},
		{"NUL", map[string]any{"kind": "turn", "content": "a\x00b", "response": "b"}, []string{"invalid content", "NUL"}},
		{"tags on a turn", map[string]any{"kind": "turn", "content": "a", "response": "b", "tags": []string{"x"}}, []string{"invalid tags", "kind=turn"}},
		{"response of a note", map[string]any{"content": "a", "response": "b"}, []string{"invalid response", "kind=turn"}},
	}
	for _, tt := range tests {
		MustFail(t, cs, ToolRemember, tt.args, tt.want...)
	}
	// Only the prompt, or only the reply, is a turn too.
	var only api.SaveResult
	MustCall(t, cs, ToolRemember, map[string]any{"kind": "turn", "content": "", "response": "a reply alone", "session_id": "s-dev", "project": "sage", "occurred_at": "2026-02-28"}, &only)
	MustCall(t, cs, ToolForget, map[string]any{"ids": []int64{only.ID}}, nil)
	// Nothing of the failed saves was stored.
	var st api.Status
	MustCall(t, cs, ToolGetStatus, nil, &st)
	if st.Memories != 2 {
		t.Errorf("%d memories after two saves (and failed ones), want 2", st.Memories)
	}
}

func testRemember(t *testing.T, cs *mcp.ClientSession) {
	var r api.SaveResult
	MustCall(t, cs, ToolRemember, map[string]any{
		"content": "Decision: embeddings default to the builtin feature-hashing embedder, no network needed.",
		"kind":    "decision", "tags": []string{"embed", "design"}, "project": "sage",
		"metadata": map[string]any{"by": "lead"}, "session_id": "s-design",
	}, &r)
	if r.ID <= 0 || r.Deduplicated {
		t.Fatalf("remember = %+v", r)
	}
	MustCall(t, cs, ToolRemember, map[string]any{"content": "我们用 PostgreSQL 和 pgvector 存储长期记忆", "kind": "fact", "project": "sage", "session_id": "s-design"}, nil)
	MustCall(t, cs, ToolRemember, map[string]any{"content": "The user likes hiking in the Alps", "project": "life"}, nil)

	tags := make([]string, sage.MaxTags+1)
	for i := range tags {
		tags[i] = fmt.Sprint("t", i)
	}
	tests := []struct {
		name string
		args map[string]any
		want []string
	}{
		{"empty", map[string]any{"content": "  "}, []string{"invalid content", "required"}},
		{"bad kind", map[string]any{"content": "x", "kind": "idea"}, []string{"invalid kind: must be one of note, decision, fact, todo, turn"}},
		{"too many tags", map[string]any{"content": "x", "tags": tags}, []string{"invalid tags", "at most 32 tags"}},
		{"tag too long", map[string]any{"content": "x", "tags": []string{strings.Repeat("t", sage.MaxTagBytes+1)}}, []string{"invalid tags", "limit of 64"}},
		{"empty tag", map[string]any{"content": "x", "tags": []string{" "}}, []string{"invalid tags", "empty"}},
		{"bad date", map[string]any{"content": "x", "occurred_at": "2026-13-45"}, []string{"invalid occurred_at"}},
		{"wrong type", map[string]any{"content": 42}, []string{"invalid content: must be a string"}},
		{"unknown argument", map[string]any{"content": "x", "importance": 3}, []string{"unknown argument importance: remember takes content, idempotency_key,"}},
		{"unknown arguments", map[string]any{"content": "x", "zz": 1, "aa": 2}, []string{"unknown argument aa, zz: remember takes"}},
	}
	for _, tt := range tests {
		MustFail(t, cs, ToolRemember, tt.args, tt.want...)
	}
}

func testSearchMemory(t *testing.T, cs *mcp.ClientSession) {
	var res api.SearchResponse
	MustCall(t, cs, ToolSearchMemory, map[string]any{"query": "which embedder is the default"}, &res)
	if len(res.Results) == 0 {
		t.Fatal("search found nothing")
	}
	top := res.Results[0]
	if !strings.Contains(top.Text, "builtin feature-hashing") || top.ID <= 0 || top.Score <= 0 ||
		top.Kind != "decision" || top.Project != "sage" || top.SessionID != "s-design" ||
		top.OccurredAt.IsZero() || top.CreatedAt.IsZero() || string(top.Metadata) != `{"by":"lead"}` ||
		strings.Join(top.Tags, ",") != "embed,design" {
		t.Errorf("top result %+v", top)
	}
	for i := 1; i < len(res.Results); i++ {
		if res.Results[i].Score > res.Results[i-1].Score {
			t.Errorf("results not ranked: %v after %v", res.Results[i].Score, res.Results[i-1].Score)
		}
	}

	// Chinese, every mode.
	for _, mode := range []string{"hybrid", "semantic", "keyword"} {
		MustCall(t, cs, ToolSearchMemory, map[string]any{"query": "长期记忆", "mode": mode}, &res)
		if len(res.Results) == 0 || !strings.Contains(res.Results[0].Text, "长期记忆") {
			t.Errorf("mode %s: %+v", mode, res.Results)
		}
	}

	// Filters.
	filters := []struct {
		name string
		args map[string]any
		ok   func(api.Memory) bool
	}{
		{"project", map[string]any{"project": "life"}, func(m api.Memory) bool { return m.Project == "life" }},
		{"session", map[string]any{"session_id": "s-dev"}, func(m api.Memory) bool { return m.SessionID == "s-dev" }},
		{"kind", map[string]any{"kind": "fact"}, func(m api.Memory) bool { return m.Kind == "fact" }},
		{"tags", map[string]any{"tags": []string{"design"}}, func(m api.Memory) bool { return strings.Contains(strings.Join(m.Tags, ","), "design") }},
		{"since date", map[string]any{"since": "2026-03-02"}, func(m api.Memory) bool { return !m.OccurredAt.Before(time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC)) }},
		{"until date (whole day)", map[string]any{"until": "2026-03-01"}, func(m api.Memory) bool { return m.SessionID == "s-dev" }},
	}
	for _, f := range filters {
		args := map[string]any{"query": "PostgreSQL database embedder hiking port", "limit": 100}
		for k, v := range f.args {
			args[k] = v
		}
		MustCall(t, cs, ToolSearchMemory, args, &res)
		if len(res.Results) == 0 {
			t.Errorf("filter %s: no results", f.name)
		}
		for _, m := range res.Results {
			if !f.ok(m) {
				t.Errorf("filter %s let through %+v", f.name, m)
			}
		}
	}
	MustCall(t, cs, ToolSearchMemory, map[string]any{"query": "database", "limit": 1}, &res)
	if len(res.Results) != 1 {
		t.Errorf("limit 1: %d results", len(res.Results))
	}

	tests := []struct {
		name string
		args map[string]any
		want []string
	}{
		{"empty query", map[string]any{"query": ""}, []string{"invalid query", "required"}},
		{"query too long", map[string]any{"query": strings.Repeat("q", sage.MaxQueryBytes+1)}, []string{"invalid query", "limit of 4096"}},
		{"limit too big", map[string]any{"query": "x", "limit": 101}, []string{"invalid limit: must be between 1 and 100"}},
		{"limit not an integer", map[string]any{"query": "x", "limit": 0.5}, []string{"invalid limit: must be an integer"}},
		{"limit negative", map[string]any{"query": "x", "limit": -1}, []string{"invalid limit"}},
		{"bad mode", map[string]any{"query": "x", "mode": "fuzzy"}, []string{"invalid mode: must be one of hybrid, semantic, keyword"}},
		{"bad since", map[string]any{"query": "x", "since": "last week"}, []string{"invalid since", "2026-01-02"}},
		{"until before since", map[string]any{"query": "x", "since": "2026-03-02", "until": "2026-03-01"}, []string{"invalid until", "before since"}},
		{"bad kind", map[string]any{"query": "x", "kind": "thought"}, []string{"invalid kind: must be one of turn, note"}},
	}
	for _, tt := range tests {
		MustFail(t, cs, ToolSearchMemory, tt.args, tt.want...)
	}
}

// testSearchContext: search_memory with max_chars, which was the tool
// get_context.
func testSearchContext(t *testing.T, cs *mcp.ClientSession) {
	for _, maxChars := range []int{60, 400, sage.DefaultMaxChars} {
		args := map[string]any{"query": "how do we run PostgreSQL for development", "project": "sage", "max_chars": maxChars}
		var c SearchMemoryOutput
		res := MustCall(t, cs, ToolSearchMemory, args, &c)
		limit := maxChars
		if n := utf8.RuneCountInString(c.Context); n > limit || (n == 0 && maxChars != 60) {
			t.Errorf("max_chars %d: context of %d chars", maxChars, n)
		}
		if c.Context == "" && len(c.Results) > 0 && !strings.Contains(text(res), "max_chars=60") {
			t.Errorf("max_chars %d: empty block, text %q", maxChars, text(res))
		}
		if c.Context != "" && text(res) != c.Context {
			t.Errorf("max_chars %d: text content %q is not the context block %q", maxChars, text(res), c.Context)
		}
		if maxChars != 60 && (len(c.Results) == 0 || !strings.Contains(c.Context, "docker compose")) {
			t.Errorf("max_chars %d: context %q, %d items", maxChars, c.Context, len(c.Results))
		}
		for _, it := range c.Results {
			if it.Project != "sage" {
				t.Errorf("project filter let through %+v", it)
			}
		}
	}
	var none SearchMemoryOutput
	res := MustCall(t, cs, ToolSearchMemory, map[string]any{"query": "anything", "project": "no-such-project", "max_chars": 100}, &none)
	if none.Context != "" || len(none.Results) != 0 || text(res) != "No relevant memories." {
		t.Errorf("empty context: %+v / %q", none, text(res))
	}
	// An empty query with max_chars: the latest memories.
	var latest SearchMemoryOutput
	MustCall(t, cs, ToolSearchMemory, map[string]any{"query": "", "project": "sage", "max_chars": 4000, "limit": 1}, &latest)
	if len(latest.Results) != 1 || latest.Context == "" {
		t.Errorf("latest: %+v", latest)
	}
	MustFail(t, cs, ToolSearchMemory, map[string]any{"query": "x", "max_chars": sage.MaxMaxChars + 1}, "invalid max_chars: must be between 1 and 64000")
	MustFail(t, cs, ToolSearchMemory, map[string]any{"query": "x", "max_chars": -1}, "invalid max_chars")
	MustFail(t, cs, ToolSearchMemory, map[string]any{"query": "x", "max_results": 5}, "unknown argument max_results")
	MustFail(t, cs, ToolSearchMemory, map[string]any{"query": strings.Repeat("q", sage.MaxQueryBytes+1), "max_chars": 100}, "invalid query")
}

func testManageSession(t *testing.T, cs *mcp.ClientSession) {
	var out ManageSessionOutput
	MustCall(t, cs, ToolManageSession, map[string]any{"action": "list"}, &out)
	ids := map[string]api.Session{}
	for _, s := range out.Sessions {
		ids[s.ID] = s
	}
	if s, ok := ids["s-dev"]; !ok || s.Memories != 2 || s.Project != "sage" {
		t.Fatalf("list: %+v", out.Sessions)
	}
	MustCall(t, cs, ToolManageSession, map[string]any{"action": "list", "project": "sage", "limit": 1}, &out)
	if len(out.Sessions) != 1 {
		t.Errorf("list limit 1: %+v", out.Sessions)
	}
	MustCall(t, cs, ToolManageSession, map[string]any{"action": "info", "session_id": "s-dev"}, &out)
	if out.Session == nil || out.Session.ID != "s-dev" || out.Session.Memories != 2 {
		t.Errorf("info: %+v", out)
	}
	MustCall(t, cs, ToolManageSession, map[string]any{"action": "rename", "session_id": "s-dev", "title": "Dev database"}, &out)
	if out.Session == nil || out.Session.Title != "Dev database" {
		t.Errorf("rename: %+v", out)
	}

	tests := []struct {
		name string
		args map[string]any
		want []string
	}{
		{"info unknown", map[string]any{"action": "info", "session_id": "nope"}, []string{`no session "nope" in this namespace`}},
		{"rename unknown", map[string]any{"action": "rename", "session_id": "nope", "title": "x"}, []string{`no session "nope" in this namespace`}},
		{"info without id", map[string]any{"action": "info"}, []string{"invalid session_id", "required"}},
		{"rename without title", map[string]any{"action": "rename", "session_id": "s-dev"}, []string{"invalid title", "required"}},
		{"title too long", map[string]any{"action": "rename", "session_id": "s-dev", "title": strings.Repeat("t", MaxTitleBytes+1)}, []string{"invalid title", "limit of 256"}},
		{"bad action", map[string]any{"action": "archive", "session_id": "s-dev"}, []string{"invalid action: must be one of list, info, rename, export"}},
		{"delete is forget", map[string]any{"action": "delete", "session_id": "s-dev"}, []string{"invalid action: must be one of list, info, rename, export"}},
		{"no action", map[string]any{}, []string{"invalid action: is required"}},
		{"list limit", map[string]any{"action": "list", "limit": 1000}, []string{"invalid limit: must be between 1 and 100"}},
	}
	for _, tt := range tests {
		MustFail(t, cs, ToolManageSession, tt.args, tt.want...)
	}
}

// testExportSession: manage_session(export), which was the tool
// export_session.
func testExportSession(t *testing.T, cs *mcp.ClientSession) {
	var out ManageSessionOutput
	res := MustCall(t, cs, ToolManageSession, map[string]any{"action": "export", "session_id": "s-dev"}, &out)
	if out.Format != "markdown" || out.Memories != 2 || out.Session == nil || out.Session.Title != "Dev database" ||
		!strings.HasPrefix(out.Content, "# Dev database\n") || !strings.Contains(out.Content, "docker compose up -d pg") ||
		text(res) != out.Content {
		t.Errorf("markdown export: %+v", out)
	}
	// Time order: "what port?" (2026-03-01, midnight UTC) came before the
	// keyed turn (2026-03-01T10:00+01:00).
	if strings.Index(out.Content, "what port?") > strings.Index(out.Content, "How do we run") {
		t.Errorf("export not in time order:\n%s", out.Content)
	}
	MustCall(t, cs, ToolManageSession, map[string]any{"action": "export", "session_id": "s-dev", "format": "json"}, &out)
	var doc api.SessionExport
	if err := json.Unmarshal([]byte(out.Content), &doc); err != nil {
		t.Fatalf("json export: %v\n%s", err, out.Content)
	}
	if doc.Session.ID != "s-dev" || len(doc.Memories) != 2 || doc.Memories[1].IdempotencyKey != "s-dev:1" || compact(doc.Memories[1].Metadata) != `{"turn":1}` {
		t.Errorf("json export: %+v", doc)
	}
	MustFail(t, cs, ToolManageSession, map[string]any{"action": "export", "session_id": "nope"}, `no session "nope" in this namespace`)
	MustFail(t, cs, ToolManageSession, map[string]any{"action": "export", "session_id": "s-dev", "format": "pdf"}, "invalid format: must be one of markdown, json")
	MustFail(t, cs, ToolManageSession, map[string]any{"action": "export", "session_id": ""}, "invalid session_id")
}

func testForget(t *testing.T, cs *mcp.ClientSession) {
	var r api.SaveResult
	MustCall(t, cs, ToolRemember, map[string]any{"content": "temporary zebra memory", "project": "tmp"}, &r)
	var out ForgetOutput
	MustCall(t, cs, ToolForget, map[string]any{"ids": []int64{r.ID}}, &out)
	if out.Deleted != 1 {
		t.Errorf("forget ids: %+v", out)
	}
	MustCall(t, cs, ToolForget, map[string]any{"ids": []int64{r.ID}}, &out)
	if out.Deleted != 0 {
		t.Errorf("forget again: %+v", out)
	}
	var res api.SearchResponse
	MustCall(t, cs, ToolSearchMemory, map[string]any{"query": "zebra", "mode": "keyword"}, &res)
	if len(res.Results) != 0 {
		t.Errorf("forgotten memory still found: %+v", res.Results)
	}
	MustCall(t, cs, ToolRemember, map[string]any{"kind": "turn", "content": "a", "response": "b", "session_id": "s-gone"}, nil)
	MustCall(t, cs, ToolRemember, map[string]any{"kind": "turn", "content": "c", "response": "d", "session_id": "s-gone"}, nil)
	MustCall(t, cs, ToolForget, map[string]any{"session_id": "s-gone"}, &out)
	if out.Deleted != 2 {
		t.Errorf("forget session: %+v", out)
	}
	MustFail(t, cs, ToolManageSession, map[string]any{"action": "info", "session_id": "s-gone"}, `no session "s-gone"`)
	MustFail(t, cs, ToolForget, map[string]any{"session_id": "s-gone"}, `no session "s-gone"`)

	ids := make([]int64, sage.MaxForgetIDs+1)
	for i := range ids {
		ids[i] = int64(i + 1)
	}
	tests := []struct {
		name string
		args map[string]any
		want []string
	}{
		{"nothing", map[string]any{}, []string{"invalid ids", "give ids or a session_id"}},
		{"both", map[string]any{"ids": []int64{1}, "session_id": "s"}, []string{"invalid ids", "not both"}},
		{"bad id", map[string]any{"ids": []int64{0}}, []string{"invalid ids"}},
		{"too many", map[string]any{"ids": ids}, []string{"invalid ids", "at most 1000 ids"}},
	}
	for _, tt := range tests {
		MustFail(t, cs, ToolForget, tt.args, tt.want...)
	}
}

func testGetStatus(t *testing.T, cs *mcp.ClientSession) {
	var st api.Status
	MustCall(t, cs, ToolGetStatus, map[string]any{}, &st)
	if st.Version == "" || st.PostgresVersion == "" || st.PgvectorVersion == "" ||
		st.Embedder != "builtin" || st.EmbeddingModel == "" || st.Dimensions != embed.DefaultDimensions ||
		st.Memories < 4 || st.Sessions < 2 || st.Namespace != "alpha" || st.UptimeSeconds <= 0 {
		t.Errorf("status %+v", st)
	}
	MustFail(t, cs, ToolGetStatus, map[string]any{"verbose": true}, "unknown argument verbose: get_status takes no arguments")
}

func testRecall(t *testing.T, cs *mcp.ClientSession) {
	ctx := context.Background()
	ps, err := cs.ListPrompts(ctx, nil)
	if err != nil || len(ps.Prompts) != 1 || ps.Prompts[0].Name != PromptRecall {
		t.Fatalf("prompts %+v, %v", ps, err)
	}
	for _, arg := range []string{"topic", "query"} {
		res, err := cs.GetPrompt(ctx, &mcp.GetPromptParams{Name: PromptRecall, Arguments: map[string]string{arg: "development database"}})
		if err != nil {
			t.Fatalf("recall (%s): %v", arg, err)
		}
		if len(res.Messages) != 1 || res.Messages[0].Role != "user" {
			t.Fatalf("recall messages %+v", res.Messages)
		}
		if tc, ok := res.Messages[0].Content.(*mcp.TextContent); !ok || !strings.Contains(tc.Text, "docker compose up -d pg") {
			t.Errorf("recall (%s) text: %+v", arg, res.Messages[0].Content)
		}
	}
	res, err := cs.GetPrompt(ctx, &mcp.GetPromptParams{Name: PromptRecall, Arguments: map[string]string{"topic": "quantum chromodynamics", "project": "no-such"}})
	if err != nil || !strings.Contains(res.Messages[0].Content.(*mcp.TextContent).Text, "no memories") {
		t.Errorf("recall of nothing: %+v, %v", res, err)
	}
	if _, err := cs.GetPrompt(ctx, &mcp.GetPromptParams{Name: PromptRecall, Arguments: map[string]string{}}); err == nil || !strings.Contains(err.Error(), "topic") {
		t.Errorf("recall without topic: %v", err)
	}
}

// TestNamespaceIsolation: two tokens of two namespaces share one daemon
// and see nothing of each other.
func TestNamespaceIsolation(t *testing.T) {
	forEachTransport(t, testNamespaceIsolation)
}

func testNamespaceIsolation(t *testing.T, url string) {
	alpha, beta, none := MustClient(t, url, tokenAlpha), MustClient(t, url, tokenBeta), MustClient(t, url, tokenNoNS)

	var a api.SaveResult
	MustCall(t, alpha, ToolRemember, map[string]any{"kind": "turn", "content": "secret alpha plan", "response": "the walrus protocol", "session_id": "shared-id"}, &a)
	MustCall(t, beta, ToolRemember, map[string]any{"content": "beta walrus notes", "session_id": "shared-id"}, nil)

	var res api.SearchResponse
	MustCall(t, beta, ToolSearchMemory, map[string]any{"query": "walrus protocol", "limit": 100}, &res)
	for _, m := range res.Results {
		if m.ID == a.ID || strings.Contains(m.Text, "alpha") {
			t.Errorf("beta sees alpha's memory %+v", m)
		}
	}
	if len(res.Results) != 1 {
		t.Errorf("beta found %d memories, want its own 1", len(res.Results))
	}
	MustCall(t, none, ToolSearchMemory, map[string]any{"query": "walrus", "limit": 100}, &res)
	if len(res.Results) != 0 {
		t.Errorf("the default namespace sees %+v", res.Results)
	}

	// Beta cannot delete alpha's memory, nor see alpha's session.
	var f ForgetOutput
	MustCall(t, beta, ToolForget, map[string]any{"ids": []int64{a.ID}}, &f)
	if f.Deleted != 0 {
		t.Errorf("beta deleted %d of alpha's memories", f.Deleted)
	}
	var ms ManageSessionOutput
	MustCall(t, beta, ToolManageSession, map[string]any{"action": "info", "session_id": "shared-id"}, &ms)
	if ms.Session == nil || ms.Session.Memories != 1 {
		t.Errorf("beta's session: %+v", ms.Session)
	}
	var ex ManageSessionOutput
	MustCall(t, beta, ToolManageSession, map[string]any{"action": "export", "session_id": "shared-id"}, &ex)
	if strings.Contains(ex.Content, "alpha") {
		t.Errorf("beta's export holds alpha's memory:\n%s", ex.Content)
	}
	MustFail(t, none, ToolManageSession, map[string]any{"action": "info", "session_id": "shared-id"}, "no session")

	var sa, sb, sn api.Status
	MustCall(t, alpha, ToolGetStatus, nil, &sa)
	MustCall(t, beta, ToolGetStatus, nil, &sb)
	MustCall(t, none, ToolGetStatus, nil, &sn)
	if sa.Namespace != "alpha" || sa.Memories != 1 || sb.Namespace != "beta" || sb.Memories != 1 || sn.Namespace != sage.DefaultNamespace || sn.Memories != 0 {
		t.Errorf("statuses: %+v / %+v / %+v", sa, sb, sn)
	}
	// The context and the recall prompt stay in the namespace too.
	var c SearchMemoryOutput
	MustCall(t, beta, ToolSearchMemory, map[string]any{"query": "secret alpha plan walrus", "max_chars": 4000}, &c)
	if strings.Contains(c.Context, "alpha plan") {
		t.Errorf("beta's context holds alpha's memory: %q", c.Context)
	}
}

// TestStatelessSurvivesRestart: a client keeps working when the handler
// behind it is replaced (a daemon restart, or another replica); a stateful
// handler loses the session.
func TestStatelessSurvivesRestart(t *testing.T) {
	svc := MustService(t)
	for _, tr := range transports {
		t.Run(tr.name, func(t *testing.T) {
			var current atomic.Pointer[http.Handler]
			swap := func() {
				h := auth.RequireBearerToken(verify, nil)(Handler(svc, tr.opts))
				current.Store(&h)
			}
			swap()
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { (*current.Load()).ServeHTTP(w, r) }))
			t.Cleanup(srv.Close)
			cs := MustClient(t, srv.URL, tokenAlpha)
			MustCall(t, cs, ToolGetStatus, nil, nil)
			swap() // "restart"
			res, err := cs.CallTool(context.Background(), &mcp.CallToolParams{Name: ToolGetStatus})
			switch {
			case !tr.opts.Stateful && (err != nil || res.IsError):
				t.Errorf("stateless call after restart: %v %+v", err, res)
			case tr.opts.Stateful && err == nil:
				t.Errorf("stateful call after restart succeeded; the session should be gone")
			}
		})
	}
}

// TestUnavailable: with PostgreSQL down, tools say so and what to do.
func TestUnavailable(t *testing.T) {
	srv := pgtest.StartServer(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	db, err := postgres.Open(ctx, srv.URL(), postgres.Options{ConnectTimeout: 2 * time.Second})
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	t.Cleanup(db.Close)
	emb, _ := embed.NewBuiltin(0)
	cs := MustClient(t, MustServe(t, postgres.NewMemoryService(db, emb, nil), Options{}), tokenAlpha)
	MustCall(t, cs, ToolRemember, map[string]any{"content": "before the outage"}, nil)

	srv.Stop()
	const want = "the Sage database is unavailable; check that PostgreSQL is running (docker compose ps) — the call was not applied"
	MustFail(t, cs, ToolRemember, map[string]any{"content": "during the outage"}, want)
	MustFail(t, cs, ToolSearchMemory, map[string]any{"query": "outage"}, want)
	MustFail(t, cs, ToolGetStatus, nil, want)

	srv.Start()
	var res api.SearchResponse
	deadline := time.Now().Add(30 * time.Second)
	for {
		r := call(t, cs, ToolSearchMemory, map[string]any{"query": "outage", "mode": "keyword"})
		if !r.IsError {
			b, _ := json.Marshal(r.StructuredContent)
			_ = json.Unmarshal(b, &res)
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("still failing after restart: %s", text(r))
		}
		time.Sleep(200 * time.Millisecond)
	}
	if len(res.Results) != 1 || res.Results[0].Text != "before the outage" {
		t.Errorf("after the outage: %+v (the failed remember must not be stored)", res.Results)
	}
}

// TestEmbedderFailure: with the embedding provider refusing the API key,
// saving still works (the vector is left pending) and semantic search says
// what is wrong without leaking the key.
func TestEmbedderFailure(t *testing.T) {
	const key = "sk-mcp-test-SECRET"
	provider := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		http.Error(w, `{"error":{"message":"Incorrect API key provided: `+key+`"}}`, http.StatusUnauthorized)
	}))
	t.Cleanup(provider.Close)
	emb, err := embed.New(embed.Config{Provider: "openai", URL: provider.URL, Model: "m", Dimensions: 8, APIKey: key, MaxRetries: -1}, nil)
	if err != nil {
		t.Fatalf("embedder: %v", err)
	}
	cs := MustClient(t, MustServe(t, postgres.NewMemoryService(postgrestest.MustOpen(t), emb, nil), Options{}), tokenAlpha)

	res := call(t, cs, ToolRemember, map[string]any{"content": "kept while the embedder is down"})
	if res.IsError && !strings.Contains(text(res), "authentication failed: check SAGE_EMBED_API_KEY") {
		t.Errorf("remember with a failing embedder: %s", text(res))
	}
	msg := MustFail(t, cs, ToolSearchMemory, map[string]any{"query": "embedder", "mode": "semantic"},
		"the embedding provider failed", "authentication failed: check SAGE_EMBED_API_KEY", "mode=keyword")
	if strings.Contains(msg, key) {
		t.Errorf("the API key leaked: %s", msg)
	}
}

// compact returns JSON without insignificant space.
func compact(raw json.RawMessage) string {
	var b bytes.Buffer
	if err := json.Compact(&b, raw); err != nil {
		return "invalid JSON: " + err.Error()
	}
	return b.String()
}
