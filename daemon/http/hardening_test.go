package http_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	sage "github.com/sage-mcp/sage/daemon"
	sagehttp "github.com/sage-mcp/sage/daemon/http"
	"github.com/sage-mcp/sage/shared/api"
)

// mustError fails t unless r is the JSON error body with code, and its
// message holds every one of want.
func (r response) mustError(t *testing.T, status int, code string, want ...string) {
	t.Helper()
	r.MustStatus(t, status)
	var eb api.ErrorBody
	r.MustJSON(t, &eb)
	if eb.Error.Code != code {
		t.Fatalf("%s %s: code %q, want %q; body %s", r.Request.Method, r.Request.URL, eb.Error.Code, code, r.Body)
	}
	for _, w := range want {
		if !strings.Contains(eb.Error.Message, w) {
			t.Fatalf("%s %s: message %q lacks %q", r.Request.Method, r.Request.URL, eb.Error.Message, w)
		}
	}
}

// TestRESTRefusesBadText: input PostgreSQL cannot store, times out of
// range, invalid Unicode and empty titles get 400 and the JSON error that
// names the field, from the same validators as the MCP tools.
func TestRESTRefusesBadText(t *testing.T) {
	t.Parallel()
	st := MustStack(t, sagehttp.Options{}, "")
	key, admin := st.MustKey(t, "default"), st.MustKey(t, "default", sage.ScopeAdmin)
	u := st.URL + api.Version
	MustDo(t, "POST", u+"/turns", key, api.SaveTurnsRequest{Turns: []api.Turn{{SessionID: "s1", UserPrompt: "hello", AssistantResponse: "hi"}}}).MustStatus(t, 200)

	tests := []struct {
		name, method, path, token, body string
		field                           string // the message starts with it
	}{
		{"sessions project NUL", "GET", "/sessions?project=%00", key, "", "project"},
		{"sessions project bad UTF-8", "GET", "/sessions?project=%ff", key, "", "project"},
		{"session id NUL", "GET", "/sessions/a%00b", key, "", "session_id"},
		{"rename session id NUL", "PATCH", "/sessions/%00", key, `{"title":"x"}`, "session_id"},
		{"delete session id NUL", "DELETE", "/sessions/%00", key, "", "session_id"},
		{"issue token name NUL", "POST", "/tokens", admin, `{"name":"a\u0000"}`, "name"},
		{"revoke token id NUL", "DELETE", "/tokens/%00", admin, "", "id"},
		{"search project bad UTF-8", "GET", "/search?q=x&project=%ff", key, "", "project"},
		{"context session NUL", "GET", "/context?session_id=%00", key, "", "session_id"},
		{"export project NUL", "GET", "/export?project=%00", key, "", "project"},

		{"rename empty title", "PATCH", "/sessions/s1", key, `{"title":""}`, "title"},
		{"rename blank title", "PATCH", "/sessions/s1", key, `{"title":"  "}`, "title"},
		{"rename no title", "PATCH", "/sessions/s1", key, `{}`, "title"},

		{"note lone surrogate", "POST", "/notes", key, `{"content":"a\ud800b"}`, "content"},
		{"note lone low surrogate", "POST", "/notes", key, `{"content":"ok","tags":["\udc00"]}`, "tags"},
		{"note invalid UTF-8", "POST", "/notes", key, "{\"content\":\"a\xffb\"}", "content"},
		{"turn lone surrogate", "POST", "/turns", key, `{"turns":[{"user_prompt":"x","assistant_response":"\ud83d"}]}`, "assistant_response"},
		{"metadata lone surrogate", "POST", "/notes", key, `{"content":"x","metadata":{"who":"\ud800"}}`, "who"},
		{"rename lone surrogate", "PATCH", "/sessions/s1", key, `{"title":"\ud800"}`, "title"},
		{"import lone surrogate", "POST", "/import", key, "{\"text\":\"ok\"}\n{\"text\":\"\\ud800\"}\n", "line 2: text"},

		{"note year 10000 in UTC", "POST", "/notes", key, `{"content":"x","occurred_at":"9999-12-31T23:59:59-23:59"}`, "occurred_at"},
		{"note year 0 in UTC", "POST", "/notes", key, `{"content":"x","occurred_at":"0001-01-01T00:00:00+23:59"}`, "occurred_at"},
		{"turn year 10000 in UTC", "POST", "/turns", key, `{"turns":[{"user_prompt":"x","occurred_at":"9999-12-31T23:59:59-23:59"}]}`, "turns[0].occurred_at"},
		{"import year 10000 in UTC", "POST", "/import", key, `{"text":"x","occurred_at":"9999-12-31T23:59:59-23:59"}` + "\n", "line 1: memories[0].occurred_at"},
		{"search since year 10000 in UTC", "GET", "/search?q=x&since=9999-12-31T23:00:00-02:00", key, "", "since"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var body any
			if tt.body != "" {
				body = tt.body
			}
			MustDo(t, tt.method, u+tt.path, tt.token, body).mustError(t, 400, api.CodeInvalid, tt.field)
		})
	}
	// The same through /mcp: an IsError result naming the argument.
	r := MustDo(t, "POST", st.URL+"/mcp", key,
		`{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"remember","arguments":{"content":"caf\ud83d"}}}`,
		"Accept", "application/json, text/event-stream").MustStatus(t, 200)
	if !bytes.Contains(r.Body, []byte(`"isError":true`)) || !bytes.Contains(r.Body, []byte("invalid content: is not valid Unicode text")) {
		t.Fatalf("MCP remember with a lone surrogate: %s", r.Body)
	}
	// Nothing was stored or changed by the refused requests.
	var ss api.SessionsResponse
	MustDo(t, "GET", u+"/sessions", key, nil).MustStatus(t, 200).MustJSON(t, &ss)
	if len(ss.Sessions) != 1 || ss.Sessions[0].Title != "hello" || ss.Sessions[0].Memories != 1 {
		t.Fatalf("sessions after refused requests: %+v", ss)
	}
	var status api.Status
	MustDo(t, "GET", u+"/status", key, nil).MustStatus(t, 200).MustJSON(t, &status)
	if status.Memories != 1 {
		t.Fatalf("%d memories after refused requests, want 1", status.Memories)
	}
}

// TestRESTOutOfRangeRows: a row whose time is out of range (written by
// SQL) does not take lists down: every read answers 200 with JSON that
// decodes, the time clamped to the range.
func TestRESTOutOfRangeRows(t *testing.T) {
	t.Parallel()
	st, u, key := MustREST(t)
	MustDo(t, "POST", u+"/turns", key, api.SaveTurnsRequest{Turns: []api.Turn{
		{SessionID: "s1", Project: "p", UserPrompt: "zebra crossing", AssistantResponse: "stripes"},
		{SessionID: "s1", Project: "p", UserPrompt: "another zebra", AssistantResponse: "more stripes"},
	}}).MustStatus(t, 200)
	ctx := context.Background()
	for _, sql := range []string{
		"UPDATE memories SET occurred_at = '10000-01-01 23:58:59+00' WHERE text LIKE 'User: zebra%'",
		"UPDATE memories SET occurred_at = '0001-12-31 00:01:00+00 BC' WHERE text LIKE 'User: another%'",
		"UPDATE sessions SET first_at = '0001-12-31 00:01:00+00 BC', last_at = '10000-01-01 23:58:59+00'",
	} {
		if _, err := st.DB.Pool().Exec(ctx, sql); err != nil {
			t.Fatalf("%s: %v", sql, err)
		}
	}
	for _, path := range []string{"/search?q=zebra", "/search?q=zebra&mode=keyword", "/context?q=zebra", "/context",
		"/sessions", "/sessions/s1"} {
		r := MustDo(t, "GET", u+path, key, nil).MustStatus(t, 200)
		var v map[string]any
		if err := json.Unmarshal(r.Body, &v); err != nil || len(v) == 0 {
			t.Fatalf("GET %s: body %q does not decode: %v", path, r.Body, err)
		}
		if !bytes.Contains(r.Body, []byte("9999-12-31T23:59:59.999999Z")) {
			t.Fatalf("GET %s: the time is not clamped to the range: %s", path, r.Body)
		}
	}
	exp := MustDo(t, "GET", u+"/export", key, nil).MustStatus(t, 200)
	if bytes.Contains(exp.Body, []byte(`"error"`)) || bytes.Count(exp.Body, []byte("\n")) != 2 {
		t.Fatalf("export: %s", exp.Body)
	}
	var ir api.ImportResponse
	MustDo(t, "POST", u+"/import", st.MustKey(t, "copy"), exp.Body).MustStatus(t, 200).MustJSON(t, &ir)
	if ir.Imported != 2 {
		t.Fatalf("import of the export: %+v", ir)
	}
}

// chunked is a body of unknown length: the client sends it chunked, so
// only the daemon's reading limit stops it.
type chunked struct{ io.Reader }

// TestImportOverLimit: a chunked import over the limit answers 413
// too_large and says which lines were imported; exactly those were.
func TestImportOverLimit(t *testing.T) {
	t.Parallel()
	const limit = 256 << 10
	st := MustStack(t, sagehttp.Options{MaxImportBytes: limit}, "")
	key := st.MustKey(t, "default")
	var body bytes.Buffer
	for i := 0; body.Len() < 3*limit; i++ {
		fmt.Fprintf(&body, `{"text":"imported memory number %d %s","session_id":"s%d"}`+"\n", i, strings.Repeat("x", 200), i/100)
	}
	req, err := http.NewRequest("POST", st.URL+api.Version+"/import", chunked{bytes.NewReader(body.Bytes())})
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+key)
	client := &http.Client{Timeout: time.Minute}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	r := response{resp, b}
	r.mustError(t, http.StatusRequestEntityTooLarge, api.CodeTooLarge, "limit of 262144 bytes", "were imported", "were not")
	m := regexp.MustCompile(`the (\d+) lines before line (\d+) were imported \((\d+) memories new, 0 deduplicated\)`).FindStringSubmatch(string(b))
	if m == nil {
		t.Fatalf("message does not say what was imported: %s", b)
	}
	lines, _ := strconv.Atoi(m[1])
	imported, _ := strconv.Atoi(m[3])
	if lines < 500 || imported != lines {
		t.Fatalf("imported %d of %d lines before the limit: %s", imported, lines, b)
	}
	var n int
	if err := st.DB.Pool().QueryRow(context.Background(), "SELECT count(*) FROM memories").Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != imported {
		t.Fatalf("%d memories stored, the answer says %d", n, imported)
	}
	// The lines imported are the first ones, whole.
	sc := bufio.NewScanner(bytes.NewReader(body.Bytes()))
	var lastLine []byte
	for i := 0; i < imported && sc.Scan(); i++ {
		lastLine = sc.Bytes()
	}
	var last struct{ Text string }
	if err := json.Unmarshal(lastLine, &last); err != nil {
		t.Fatal(err)
	}
	var stored int
	if err := st.DB.Pool().QueryRow(context.Background(), "SELECT count(*) FROM memories WHERE text = $1", last.Text).Scan(&stored); err != nil || stored != 1 {
		t.Fatalf("the last line imported (%q) is stored %d times: %v", last.Text, stored, err)
	}
}
