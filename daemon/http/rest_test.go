package http_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	sage "github.com/sage-mcp/sage/daemon"
	sagehttp "github.com/sage-mcp/sage/daemon/http"
	"github.com/sage-mcp/sage/shared/api"
)

func TestRESTMemories(t *testing.T) {
	t.Parallel()
	st, u, key := MustREST(t)

	// Turns: batched and idempotent.
	turns := api.SaveTurnsRequest{Turns: []api.Turn{
		{IdempotencyKey: "s1:1", SessionID: "s1", Project: "sage", UserPrompt: "how do we store vectors", AssistantResponse: "halfvec with hnsw"},
		{IdempotencyKey: "s1:2", SessionID: "s1", Project: "sage", UserPrompt: "and full text", AssistantResponse: "tsvector"},
	}}
	var first, again api.SaveTurnsResponse
	MustDo(t, "POST", u+"/turns", key, turns).MustStatus(t, 200).MustJSON(t, &first)
	MustDo(t, "POST", u+"/turns", key, turns).MustStatus(t, 200).MustJSON(t, &again)
	if len(first.Results) != 2 || first.Results[0].Deduplicated || !again.Results[0].Deduplicated || again.Results[1].ID != first.Results[1].ID {
		t.Fatalf("turns: first %+v, again %+v", first, again)
	}
	var note api.SaveResult
	MustDo(t, "POST", u+"/notes", key, api.Note{Content: "decided: halfvec storage", Kind: "decision", Tags: []string{"db"}, Project: "sage"}).
		MustStatus(t, 200).MustJSON(t, &note)

	// Search with filters.
	var sr api.SearchResponse
	MustDo(t, "GET", u+"/search?q=halfvec&mode=keyword&kind=decision&tag=db&project=sage&limit=5", key, nil).MustStatus(t, 200).MustJSON(t, &sr)
	if len(sr.Results) != 1 || sr.Results[0].ID != note.ID {
		t.Fatalf("filtered search %+v", sr)
	}
	for _, bad := range []string{"mode=fuzzy", "limit=-1", "since=yesterday", "kind=poem"} {
		r := MustDo(t, "GET", u+"/search?q=x&"+bad, key, nil).MustStatus(t, 400)
		var eb api.ErrorBody
		r.MustJSON(t, &eb)
		if eb.Error.Code != api.CodeInvalid || eb.Error.Message == "" {
			t.Fatalf("%s: %s", bad, r.Body)
		}
	}
	var cr api.ContextResponse
	MustDo(t, "GET", u+"/context?q=halfvec&max_chars=300", key, nil).MustStatus(t, 200).MustJSON(t, &cr)
	if cr.Context == "" || len([]rune(cr.Context)) > 300 {
		t.Fatalf("context %q", cr.Context)
	}

	// Sessions.
	var ss api.SessionsResponse
	MustDo(t, "GET", u+"/sessions?project=sage", key, nil).MustStatus(t, 200).MustJSON(t, &ss)
	if len(ss.Sessions) != 1 || ss.Sessions[0].ID != "s1" {
		t.Fatalf("sessions %+v", ss)
	}
	var renamed api.Session
	MustDo(t, "PATCH", u+"/sessions/s1", key, map[string]string{"title": "storage design"}).MustStatus(t, 200).MustJSON(t, &renamed)
	if renamed.Title != "storage design" {
		t.Fatalf("renamed %+v", renamed)
	}
	var detail struct {
		api.Session
		Items []api.Memory `json:"items"`
	}
	MustDo(t, "GET", u+"/sessions/s1", key, nil).MustStatus(t, 200).MustJSON(t, &detail)
	if detail.Title != "storage design" || len(detail.Items) != 2 {
		t.Fatalf("session detail %+v", detail)
	}
	MustDo(t, "PATCH", u+"/sessions/s1", key, `{"title":"x","extra":1}`).MustStatus(t, 400)

	// Export, then import into another namespace: same memories.
	exp := MustDo(t, "GET", u+"/export", key, nil).MustStatus(t, 200)
	lines := 0
	sc := bufio.NewScanner(bytes.NewReader(exp.Body))
	for sc.Scan() {
		var m api.Memory
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatalf("export line %q: %v", sc.Text(), err)
		}
		lines++
	}
	if lines != 3 {
		t.Fatalf("export has %d lines, want 3:\n%s", lines, exp.Body)
	}
	other := st.MustKey(t, "other")
	var ir api.ImportResponse
	MustDo(t, "POST", u+"/import", other, exp.Body).MustStatus(t, 200).MustJSON(t, &ir)
	if ir.Imported != 3 {
		t.Fatalf("import %+v", ir)
	}
	MustDo(t, "POST", u+"/import", other, exp.Body).MustStatus(t, 200).MustJSON(t, &ir)
	if ir.Imported != 0 || ir.Deduplicated != 3 {
		t.Fatalf("import again %+v (want idempotent)", ir)
	}
	r := MustDo(t, "POST", u+"/import", other, string(exp.Body)+"{not json}\n").MustStatus(t, 400)
	if !strings.Contains(string(r.Body), "line 4") {
		t.Fatalf("bad import line: %s", r.Body)
	}

	// Forget.
	var fr struct{ Deleted int64 }
	MustDo(t, "DELETE", u+"/memories/"+itoa(note.ID), key, nil).MustStatus(t, 200).MustJSON(t, &fr)
	if fr.Deleted != 1 {
		t.Fatalf("delete memory %+v", fr)
	}
	MustDo(t, "DELETE", u+"/memories/"+itoa(note.ID), key, nil).MustStatus(t, 404)
	MustDo(t, "DELETE", u+"/memories/abc", key, nil).MustStatus(t, 400)
	MustDo(t, "DELETE", u+"/sessions/s1", key, nil).MustStatus(t, 200).MustJSON(t, &fr)
	if fr.Deleted != 2 {
		t.Fatalf("delete session %+v", fr)
	}
	MustDo(t, "POST", u+"/forget", key, map[string]any{}).MustStatus(t, 400)
	var status api.Status
	MustDo(t, "GET", u+"/status", key, nil).MustStatus(t, 200).MustJSON(t, &status)
	if status.Memories != 0 || status.Embedder == "" || status.Version == "" {
		t.Fatalf("status %+v", status)
	}
}

func TestRESTReindexStreams(t *testing.T) {
	t.Parallel()
	st := MustStack(t, sagehttp.Options{}, "")
	admin, plain := st.MustKey(t, "default", sage.ScopeAdmin), st.MustKey(t, "default")
	MustDo(t, "POST", st.URL+"/api/v1/notes", plain, api.Note{Content: "something to reindex"}).MustStatus(t, 200)
	MustDo(t, "POST", st.URL+"/api/v1/reindex", plain, nil).MustStatus(t, 403)
	r := MustDo(t, "POST", st.URL+"/api/v1/reindex", admin, nil).MustStatus(t, 200)
	lines := strings.Split(strings.TrimSpace(string(r.Body)), "\n")
	var last struct {
		Done, Total int64
		Finished    bool
	}
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), &last); err != nil || !last.Finished {
		t.Fatalf("reindex stream %q: %v", r.Body, err)
	}
	if ct := r.Header.Get("Content-Type"); ct != "application/x-ndjson" {
		t.Fatalf("Content-Type %q", ct)
	}
}

func TestMetrics(t *testing.T) {
	t.Parallel()
	st := MustStack(t, sagehttp.Options{}, "")
	key := st.MustKey(t, "default")
	MustDo(t, "POST", st.URL+"/api/v1/notes", key, api.Note{Content: "measure me"}).MustStatus(t, 200)
	cs := MustMCP(t, st.URL, key)
	// No wait needed: every metric checked below is recorded before the
	// answer is written (the MCP one by a go-sdk middleware, before the SDK
	// sends the result; the others before the handler returns).
	MustTool(t, cs, "get_status", map[string]any{})
	// The test client is on loopback: no token needed by default.
	r := MustDo(t, "GET", st.URL+"/metrics", "", nil).MustStatus(t, 200)
	for _, want := range []string{
		`sage_http_requests_total{code="200",method="POST",route="/api/v1/notes"} 1`,
		`sage_mcp_request_duration_seconds_count{method="tools/call",tool="get_status"} 1`,
		`sage_service_call_duration_seconds_count{method="Remember",outcome="ok"} 1`,
		`sage_embedder_duration_seconds_count{outcome="ok",provider="builtin"}`,
		`sage_db_pool_max_conns`,
		`sage_ready 1`,
	} {
		if !strings.Contains(string(r.Body), want) {
			t.Errorf("metrics lack %s", want)
		}
	}
	// With SAGE_METRICS=token, an admin token is needed even on loopback.
	locked := MustStack(t, sagehttp.Options{Metrics: sagehttp.MetricsToken}, "")
	MustDo(t, "GET", locked.URL+"/metrics", "", nil).MustStatus(t, 401)
	MustDo(t, "GET", locked.URL+"/metrics", locked.MustKey(t, "default"), nil).MustStatus(t, 403)
	MustDo(t, "GET", locked.URL+"/metrics", locked.MustKey(t, "default", sage.ScopeAdmin), nil).MustStatus(t, 200)
}
