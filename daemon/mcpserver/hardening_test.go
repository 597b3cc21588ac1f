package mcpserver

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/jsonrpc"
	"github.com/modelcontextprotocol/go-sdk/mcp"

	sage "github.com/sage-mcp/sage/daemon"
	"github.com/sage-mcp/sage/daemon/mock"
	"github.com/sage-mcp/sage/testkit/daemontest"
)

// rpcAnswer is a JSON-RPC response as the tests read it.
type rpcAnswer struct {
	ID     json.RawMessage `json:"id"`
	Result *struct {
		IsError bool `json:"isError"`
		Content []struct {
			Text string `json:"text"`
		} `json:"content"`
	} `json:"result"`
	Error *jsonrpc.Error `json:"error"`
}

// mustPost POSTs a raw JSON-RPC message to the MCP endpoint at url with
// token and returns the status and the decoded answer (if any).
func mustPost(t *testing.T, url, token, body string) (int, rpcAnswer) {
	t.Helper()
	status, _, b, err := postMCP(url, token, "", body)
	if err != nil {
		t.Fatal(err)
	}
	var a rpcAnswer
	if len(bytes.TrimSpace(b)) > 0 {
		if i := bytes.Index(b, []byte("data: ")); i >= 0 { // an event stream
			b = b[i+len("data: "):]
		}
		if err := json.NewDecoder(bytes.NewReader(b)).Decode(&a); err != nil {
			t.Fatalf("answer %q: %v", b, err)
		}
	}
	return status, a
}

// TestInvalidUnicodeRefused: strings that are not valid Unicode text
// (invalid UTF-8 bytes, lone UTF-16 surrogates) are refused naming the
// argument, not stored as U+FFFD.
func TestInvalidUnicodeRefused(t *testing.T) {
	t.Parallel()
	svc := MustService(t)
	url := MustServe(t, svc, Options{})
	call := func(tool, args string) string {
		return `{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"` + tool + `","arguments":` + args + `}}`
	}
	tests := []struct {
		name, body string
		isError    bool  // a tool result with IsError
		code       int64 // else a JSON-RPC error with this code
		want       string
	}{
		{"remember lone surrogate", call("remember", `{"content":"caf\ud83d"}`), true, 0, "invalid content: is not valid Unicode text: a lone UTF-16 surrogate \\uD83D"},
		{"remember lone low surrogate in a tag", call("remember", `{"content":"x","tags":["\udc00"]}`), true, 0, "invalid tags"},
		{"remember invalid UTF-8", call("remember", "{\"content\":\"a\xffb\"}"), true, 0, "invalid content: is not valid Unicode text: byte 0xFF"},
		{"turn", call("remember", `{"kind":"turn","content":"\ud800","response":"ok"}`), true, 0, "invalid content"},
		{"metadata", call("remember", `{"content":"x","metadata":{"who":"\ud800"}}`), true, 0, "invalid who"},
		{"prompt", `{"jsonrpc":"2.0","id":8,"method":"prompts/get","params":{"name":"recall","arguments":{"topic":"\udfff"}}}`, false, jsonrpc.CodeInvalidParams, "invalid topic"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, a := mustPost(t, url, tokenAlpha, tt.body)
			if status != http.StatusOK {
				t.Fatalf("status %d", status)
			}
			switch {
			case tt.isError:
				if a.Result == nil || !a.Result.IsError || len(a.Result.Content) != 1 || !strings.Contains(a.Result.Content[0].Text, tt.want) {
					t.Fatalf("answer %+v, want an IsError result with %q", a, tt.want)
				}
			default:
				if a.Error == nil || a.Error.Code != tt.code || !strings.Contains(a.Error.Message, tt.want) {
					t.Fatalf("answer %+v, want error %d with %q", a, tt.code, tt.want)
				}
			}
		})
	}
	// A notification is accepted and has no effect.
	if status, _ := mustPost(t, url, tokenAlpha, `{"jsonrpc":"2.0","method":"notifications/x","params":{"a":"\ud800"}}`); status != http.StatusAccepted {
		t.Fatalf("notification: status %d", status)
	}
	st, err := svc.Status(sage.WithNamespace(context.Background(), "alpha"))
	if err != nil || st.Memories != 0 {
		t.Fatalf("status after refused calls: %+v, %v", st, err)
	}
	// Valid text (a surrogate pair, accents) is stored as sent.
	cs := MustClient(t, url, tokenAlpha)
	MustCall(t, cs, "remember", map[string]any{"content": "café 😀 naïve"}, nil)
	status, a := mustPost(t, url, tokenAlpha, call("search_memory", `{"query":"caf\u00e9 \ud83d\ude00"}`))
	if status != http.StatusOK || a.Result == nil || a.Result.IsError {
		t.Fatalf("search with a surrogate pair: %d %+v", status, a)
	}
}

// TestTimesOutOfRange: occurred_at is checked in UTC, and a row already
// stored out of range (by SQL) does not take lists down.
func TestTimesOutOfRange(t *testing.T) {
	t.Parallel()
	svc, db := MustServiceDB(t)
	cs := MustClient(t, MustServe(t, svc, Options{}), tokenAlpha)
	MustFail(t, cs, "remember", map[string]any{"content": "x", "occurred_at": "9999-12-31T23:59:59-23:59"}, "invalid occurred_at", "year 10000")
	MustFail(t, cs, "remember", map[string]any{"content": "x", "occurred_at": "0001-01-01T00:00:00+23:59"}, "invalid occurred_at", "year 0")
	MustFail(t, cs, "remember", map[string]any{"kind": "turn", "content": "x", "response": "y", "occurred_at": "9999-12-31T23:59:59-23:59"}, "invalid occurred_at")

	MustCall(t, cs, "remember", map[string]any{"kind": "turn", "session_id": "s1", "content": "zebra crossing", "response": "stripes"}, nil)
	for _, sql := range []string{
		"UPDATE memories SET occurred_at = '10000-01-01 23:58:59+00'",
		"UPDATE sessions SET first_at = '0001-12-31 00:01:00+00 BC', last_at = '10000-01-01 23:58:59+00'",
	} {
		if _, err := db.Pool().Exec(context.Background(), sql); err != nil {
			t.Fatalf("%s: %v", sql, err)
		}
	}
	for _, c := range []struct {
		tool string
		args map[string]any
	}{
		{"search_memory", map[string]any{"query": "zebra"}},
		{"search_memory", map[string]any{"query": "zebra", "max_chars": 2000}},
		{"manage_session", map[string]any{"action": "list"}},
		{"manage_session", map[string]any{"action": "info", "session_id": "s1"}},
		{"manage_session", map[string]any{"action": "export", "session_id": "s1", "format": "json"}},
	} {
		res := MustCall(t, cs, c.tool, c.args, nil)
		b, _ := json.Marshal(res)
		if !bytes.Contains(b, []byte("9999-12-31")) {
			t.Errorf("%s %v: the time is not clamped: %s", c.tool, c.args, b)
		}
	}
}

// TestRenameNeedsTitle: manage_session rename refuses an empty title, by
// the service's rule (REST PATCH /sessions/{id} refuses it too).
func TestRenameNeedsTitle(t *testing.T) {
	t.Parallel()
	cs := MustClient(t, MustServe(t, MustService(t), Options{}), tokenAlpha)
	MustCall(t, cs, "remember", map[string]any{"kind": "turn", "session_id": "s1", "content": "hello", "response": "hi"}, nil)
	for _, title := range []string{"", "   ", "\t\n"} {
		MustFail(t, cs, "manage_session", map[string]any{"action": "rename", "session_id": "s1", "title": title}, "invalid title", "cannot be cleared")
	}
	MustFail(t, cs, "manage_session", map[string]any{"action": "rename", "session_id": "s1", "title": strings.Repeat("t", sage.MaxTitleBytes+1)}, "invalid title")
	MustCall(t, cs, "manage_session", map[string]any{"action": "rename", "session_id": "s1", "title": "  two   words "}, nil)
}

// failingService fails Context, Search and Sessions with err once their
// input is valid (the real service validates first), after calling wait.
func failingService(err error, wait func(context.Context)) *mock.Service {
	fail := func(ctx context.Context, in interface{ Validate() error }) error {
		if err := in.Validate(); err != nil {
			return err
		}
		wait(ctx)
		return err
	}
	return &mock.Service{
		ContextFn: func(ctx context.Context, q sage.ContextQuery) (sage.Context, error) {
			return sage.Context{}, fail(ctx, q)
		},
		SearchFn: func(ctx context.Context, q sage.SearchQuery) ([]sage.Result, error) {
			return nil, fail(ctx, q)
		},
		SessionsFn: func(ctx context.Context, project string, _ int) ([]sage.Session, error) {
			return nil, fail(ctx, sage.Filter{Project: project})
		},
	}
}

// TestProtocolErrorCodes: prompts/get, resources/read and logging/setLevel
// fail with JSON-RPC codes, not 0: -32602 for bad input, -32603 for the
// daemon's failures.
func TestProtocolErrorCodes(t *testing.T) {
	t.Parallel()
	down := MustConnect(t, New(failingService(sage.ErrUnavailable, func(context.Context) {}), Options{}))
	tests := []struct {
		name string
		call func(ctx context.Context) error
		code int64
		want string
	}{
		{"prompt without topic", func(ctx context.Context) error {
			_, err := down.GetPrompt(ctx, &mcp.GetPromptParams{Name: PromptRecall, Arguments: map[string]string{}})
			return err
		}, jsonrpc.CodeInvalidParams, "invalid topic"},
		{"prompt with a bad project", func(ctx context.Context) error {
			_, err := down.GetPrompt(ctx, &mcp.GetPromptParams{Name: PromptRecall, Arguments: map[string]string{"topic": "x", "project": "a\x00"}})
			return err
		}, jsonrpc.CodeInvalidParams, "invalid project"},
		{"prompt with the database down", func(ctx context.Context) error {
			_, err := down.GetPrompt(ctx, &mcp.GetPromptParams{Name: PromptRecall, Arguments: map[string]string{"topic": "x"}})
			return err
		}, jsonrpc.CodeInternalError, "database is unavailable"},
		{"unknown prompt", func(ctx context.Context) error {
			_, err := down.GetPrompt(ctx, &mcp.GetPromptParams{Name: "nope"})
			return err
		}, jsonrpc.CodeInvalidParams, "nope"},
		{"bogus log level", func(ctx context.Context) error {
			return down.SetLoggingLevel(ctx, &mcp.SetLoggingLevelParams{Level: "bogus"})
		}, jsonrpc.CodeInvalidParams, `invalid level "bogus"`},
		{"empty log level", func(ctx context.Context) error {
			return down.SetLoggingLevel(ctx, &mcp.SetLoggingLevelParams{})
		}, jsonrpc.CodeInvalidParams, "invalid level"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			var we *jsonrpc.Error
			if err := tt.call(ctx); !errors.As(err, &we) || we.Code != tt.code || !strings.Contains(we.Message, tt.want) {
				t.Fatalf("got %v, want a JSON-RPC error %d with %q", err, tt.code, tt.want)
			}
		})
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for _, level := range logLevels {
		if err := down.SetLoggingLevel(ctx, &mcp.SetLoggingLevelParams{Level: level}); err != nil {
			t.Fatalf("set level %s: %v", level, err)
		}
	}
}

// TestCanceledCallNotAnError: a call the client cancels fails with
// whatever the database says then; that is logged at debug level, not as
// an error.
func TestCanceledCallNotAnError(t *testing.T) {
	t.Parallel()
	logs := &daemontest.Output{}
	started := make(chan struct{})
	var once sync.Once
	svc := failingService(errors.New("search: ERROR: canceling statement due to user request (SQLSTATE 57014)"), func(ctx context.Context) {
		once.Do(func() { close(started) })
		<-ctx.Done()
	})
	cs := MustConnect(t, New(svc, Options{Logger: slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))}))
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		<-started
		cancel()
	}()
	if _, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: ToolSearchMemory, Arguments: map[string]any{"query": "x"}}); err == nil {
		t.Fatal("a canceled call succeeded")
	}
	deadline := time.Now().Add(30 * time.Second)
	for !strings.Contains(logs.String(), "mcp call canceled") && !strings.Contains(logs.String(), "mcp tool failed") {
		if time.Now().After(deadline) {
			t.Fatalf("the canceled call was never logged:\n%s", logs.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
	if strings.Contains(logs.String(), "level=ERROR") || !strings.Contains(logs.String(), "level=DEBUG msg=\"mcp call canceled\"") {
		t.Fatalf("a canceled call is logged as an error:\n%s", logs.String())
	}
}
