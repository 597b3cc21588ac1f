package sage_test

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	sage "github.com/sage-mcp/sage/daemon"
)

type validator interface{ Validate() error }

// fn makes a validating function a validator.
type fn func() error

func (f fn) Validate() error { return f() }

// mustTime parses an RFC 3339 time.
func mustTime(t *testing.T, s string) time.Time {
	t.Helper()
	v, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func TestValidate(t *testing.T) {
	long := func(n int) string { return strings.Repeat("x", n) }
	tags := func(n int) []string {
		s := make([]string, n)
		for i := range s {
			s[i] = "t" + strings.Repeat("a", i)
		}
		return s
	}
	ids := func(n int) []int64 {
		s := make([]int64, n)
		for i := range s {
			s[i] = int64(i + 1)
		}
		return s
	}
	now := time.Now()
	tests := []struct {
		name  string
		in    validator
		field string // "" means valid
	}{
		{"turn ok", sage.Turn{UserPrompt: "hi", AssistantResponse: "hello"}, ""},
		{"turn prompt only", sage.Turn{UserPrompt: "hi"}, ""},
		{"turn response only", sage.Turn{AssistantResponse: "hi"}, ""},
		{"turn empty", sage.Turn{UserPrompt: "  ", AssistantResponse: ""}, "user_prompt"},
		{"turn prompt too long", sage.Turn{UserPrompt: long(sage.MaxContentBytes + 1)}, "user_prompt"},
		{"turn together too long", sage.Turn{UserPrompt: long(sage.MaxContentBytes / 2), AssistantResponse: long(sage.MaxContentBytes/2 + 1)}, "assistant_response"},
		{"turn at limit", sage.Turn{UserPrompt: long(sage.MaxContentBytes / 2), AssistantResponse: long(sage.MaxContentBytes / 2)}, ""},
		{"turn bad utf8", sage.Turn{UserPrompt: "a\xffb"}, "user_prompt"},
		{"turn NUL", sage.Turn{UserPrompt: "hi", AssistantResponse: "a\x00b"}, "assistant_response"},
		{"turn session too long", sage.Turn{UserPrompt: "hi", SessionID: long(sage.MaxIDBytes + 1)}, "session_id"},
		{"turn key too long", sage.Turn{UserPrompt: "hi", IdempotencyKey: long(sage.MaxIDBytes + 1)}, "idempotency_key"},
		{"turn project too long", sage.Turn{UserPrompt: "hi", Project: long(sage.MaxIDBytes + 1)}, "project"},
		{"turn metadata object", sage.Turn{UserPrompt: "hi", Metadata: json.RawMessage(`{"a":1}`)}, ""},
		{"turn metadata null", sage.Turn{UserPrompt: "hi", Metadata: json.RawMessage(`null`)}, ""},
		{"turn metadata array", sage.Turn{UserPrompt: "hi", Metadata: json.RawMessage(`[1]`)}, "metadata"},
		{"turn metadata broken", sage.Turn{UserPrompt: "hi", Metadata: json.RawMessage(`{"a":`)}, "metadata"},
		{"turn metadata NUL", sage.Turn{UserPrompt: "hi", Metadata: json.RawMessage(`{"a":"\u0000"}`)}, "metadata"},
		{"turn metadata too big", sage.Turn{UserPrompt: "hi", Metadata: json.RawMessage(`{"a":"` + long(sage.MaxMetadataBytes) + `"}`)}, "metadata"},
		{"turn occurred ok", sage.Turn{UserPrompt: "hi", OccurredAt: now}, ""},
		{"turn occurred far", sage.Turn{UserPrompt: "hi", OccurredAt: time.Date(12000, 1, 1, 0, 0, 0, 0, time.UTC)}, "occurred_at"},
		{"turn occurred year 10000 in UTC", sage.Turn{UserPrompt: "hi", OccurredAt: mustTime(t, "9999-12-31T23:59:59-23:59")}, "occurred_at"},
		{"turn occurred year 0 in UTC", sage.Turn{UserPrompt: "hi", OccurredAt: mustTime(t, "0001-01-01T00:00:00+23:59")}, "occurred_at"},
		{"turn occurred last instant", sage.Turn{UserPrompt: "hi", OccurredAt: mustTime(t, "9999-12-31T23:59:59.999999Z")}, ""},
		{"turn occurred first instant", sage.Turn{UserPrompt: "hi", OccurredAt: mustTime(t, "0001-01-01T00:00:00Z")}, ""},
		{"turn occurred late offset in range", sage.Turn{UserPrompt: "hi", OccurredAt: mustTime(t, "9999-12-31T23:59:59+01:00")}, ""},

		{"note ok", sage.Note{Content: "x", Kind: sage.KindFact, Tags: []string{"a"}}, ""},
		{"note empty", sage.Note{Content: " \n"}, "content"},
		{"note too long", sage.Note{Content: long(sage.MaxContentBytes + 1)}, "content"},
		{"note bad kind", sage.Note{Content: "x", Kind: "poem"}, "kind"},
		{"note max tags", sage.Note{Content: "x", Tags: tags(sage.MaxTags)}, ""},
		{"note too many tags", sage.Note{Content: "x", Tags: tags(sage.MaxTags + 1)}, "tags"},
		{"note empty tag", sage.Note{Content: "x", Tags: []string{""}}, "tags"},
		{"note long tag", sage.Note{Content: "x", Tags: []string{long(sage.MaxTagBytes + 1)}}, "tags"},
		{"note metadata string", sage.Note{Content: "x", Metadata: json.RawMessage(`"s"`)}, "metadata"},
		{"note occurred year 10000 in UTC", sage.Note{Content: "x", OccurredAt: mustTime(t, "9999-12-31T23:59:59-23:59")}, "occurred_at"},
		{"search since year 10000 in UTC", sage.SearchQuery{Query: "q", Filter: sage.Filter{Since: mustTime(t, "9999-12-31T23:00:00-02:00")}}, "since"},

		{"search ok", sage.SearchQuery{Query: "q", Limit: 5, Mode: sage.ModeKeyword}, ""},
		{"search empty", sage.SearchQuery{Query: ""}, "query"},
		{"search too long", sage.SearchQuery{Query: long(sage.MaxQueryBytes + 1)}, "query"},
		{"search negative limit", sage.SearchQuery{Query: "q", Limit: -1}, "limit"},
		{"search max limit", sage.SearchQuery{Query: "q", Limit: sage.MaxLimit}, ""},
		{"search over limit", sage.SearchQuery{Query: "q", Limit: sage.MaxLimit + 1}, "limit"},
		{"search bad mode", sage.SearchQuery{Query: "q", Mode: "fuzzy"}, "mode"},
		{"search bad kind", sage.SearchQuery{Query: "q", Filter: sage.Filter{Kinds: []sage.Kind{"x"}}}, "kinds"},
		{"search bad tags", sage.SearchQuery{Query: "q", Filter: sage.Filter{Tags: tags(sage.MaxTags + 1)}}, "tags"},
		{"search until before since", sage.SearchQuery{Query: "q", Filter: sage.Filter{Since: now, Until: now.Add(-time.Hour)}}, "until"},
		{"search long project", sage.SearchQuery{Query: "q", Filter: sage.Filter{Project: long(sage.MaxIDBytes + 1)}}, "project"},

		{"context ok", sage.ContextQuery{Query: "q", MaxChars: 100, MaxResults: 3}, ""},
		{"context empty query", sage.ContextQuery{}, ""},
		{"context too long", sage.ContextQuery{Query: long(sage.MaxQueryBytes + 1)}, "query"},
		{"context negative chars", sage.ContextQuery{Query: "q", MaxChars: -1}, "max_chars"},
		{"context too many chars", sage.ContextQuery{Query: "q", MaxChars: sage.MaxMaxChars + 1}, "max_chars"},
		{"context too many results", sage.ContextQuery{Query: "q", MaxResults: sage.MaxLimit + 1}, "max_results"},

		{"forget ids", sage.ForgetRequest{IDs: []int64{1, 2}}, ""},
		{"forget session", sage.ForgetRequest{SessionID: "s"}, ""},
		{"forget nothing", sage.ForgetRequest{}, "ids"},
		{"forget both", sage.ForgetRequest{IDs: []int64{1}, SessionID: "s"}, "ids"},
		{"forget bad id", sage.ForgetRequest{IDs: []int64{0}}, "ids"},
		{"forget max ids", sage.ForgetRequest{IDs: ids(sage.MaxForgetIDs)}, ""},
		{"forget too many ids", sage.ForgetRequest{IDs: ids(sage.MaxForgetIDs + 1)}, "ids"},

		{"token spec ok", sage.TokenSpec{Name: "ci", Namespace: "team-1", Scopes: []string{"admin"}}, ""},
		{"token spec empty", sage.TokenSpec{}, ""},
		{"token name NUL", sage.TokenSpec{Name: "a\x00"}, "name"},
		{"token name bad utf8", sage.TokenSpec{Name: "a\xff"}, "name"},
		{"token name too long", sage.TokenSpec{Name: long(sage.MaxTokenNameBytes + 1)}, "name"},
		{"token namespace", sage.TokenSpec{Namespace: "a b"}, "namespace"},
		{"token scope", sage.TokenSpec{Scopes: []string{"root"}}, "scopes"},
		{"token ttl", sage.TokenSpec{TTL: -time.Second}, "ttl"},

		{"session id ok", fn(func() error { return sage.ValidateSessionID("s1") }), ""},
		{"session id empty", fn(func() error { return sage.ValidateSessionID(" ") }), "session_id"},
		{"session id NUL", fn(func() error { return sage.ValidateSessionID("a\x00b") }), "session_id"},
		{"session id bad utf8", fn(func() error { return sage.ValidateSessionID("\xff") }), "session_id"},
		{"project ok", fn(func() error { return sage.ValidateProject("") }), ""},
		{"project NUL", fn(func() error { return sage.ValidateProject("\x00") }), "project"},
		{"project bad utf8", fn(func() error { return sage.ValidateProject("\xff") }), "project"},
		{"title ok", fn(func() error { return sage.ValidateTitle("  storage   design ") }), ""},
		{"title empty", fn(func() error { return sage.ValidateTitle("") }), "title"},
		{"title blank", fn(func() error { return sage.ValidateTitle(" \t ") }), "title"},
		{"title long", fn(func() error { return sage.ValidateTitle(long(sage.MaxTitleBytes + 1)) }), "title"},
		{"title long before spaces collapse", fn(func() error { return sage.ValidateTitle("a" + strings.Repeat(" ", sage.MaxTitleBytes) + "b") }), ""},
		{"title NUL", fn(func() error { return sage.ValidateTitle("a\x00") }), "title"},
		{"token id ok", fn(func() error { return sage.ValidateTokenID("tok_1") }), ""},
		{"token id empty", fn(func() error { return sage.ValidateTokenID("") }), "id"},
		{"token id NUL", fn(func() error { return sage.ValidateTokenID("\x00") }), "id"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.in.Validate()
			if tt.field == "" {
				if err != nil {
					t.Fatalf("Validate() = %v, want nil", err)
				}
				return
			}
			var ie *sage.InputError
			if !errors.As(err, &ie) {
				t.Fatalf("Validate() = %v, want *InputError on %q", err, tt.field)
			}
			if ie.Field != tt.field {
				t.Fatalf("Validate() field = %q (%v), want %q", ie.Field, err, tt.field)
			}
			if !errors.Is(err, sage.ErrInvalid) || ie.Message == "" {
				t.Fatalf("Validate() = %v: not ErrInvalid or no message", err)
			}
		})
	}
}

func TestClampTime(t *testing.T) {
	ok := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	tests := []struct {
		name  string
		in    time.Time
		want  time.Time
		moved bool
	}{
		{"in range", ok, ok, false},
		{"year 10000", time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(9999, 12, 31, 23, 59, 59, 999999000, time.UTC), true},
		{"year 0", time.Date(0, 12, 31, 0, 0, 0, 0, time.UTC), sage.MinTime, true},
		{"year -4000", time.Date(-4000, 1, 1, 0, 0, 0, 0, time.UTC), sage.MinTime, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, moved := sage.ClampTime(tt.in)
			if !got.Equal(tt.want) || moved != tt.moved {
				t.Fatalf("ClampTime(%v) = %v, %v; want %v, %v", tt.in, got, moved, tt.want, tt.moved)
			}
			if _, err := got.MarshalJSON(); err != nil {
				t.Fatalf("clamped time does not encode: %v", err)
			}
		})
	}
}

func TestCheckJSONText(t *testing.T) {
	tests := []struct {
		name, in string
		field    string // "" means valid
		problem  string
	}{
		{"plain", `{"content":"hello"}`, "", ""},
		{"escapes", `{"content":"a\"b\\c\n\u00e9\u0041"}`, "", ""},
		{"pair", `{"content":"\ud83d\ude00"}`, "", ""},
		{"pair upper case", `{"content":"\uD83D\uDE00"}`, "", ""},
		{"raw utf8", "{\"content\":\"h\u00e9llo \u4e16\u754c\"}", "", ""},
		{"lone high", `{"content":"a\ud800b"}`, "content", "surrogate \\uD800"},
		{"lone high at end", `{"content":"a\ud83d"}`, "content", "surrogate"},
		{"lone low", `{"content":"\udc00"}`, "content", "surrogate \\uDC00"},
		{"high then high", `{"content":"\ud800\ud800"}`, "content", "surrogate"},
		{"high then other escape", `{"content":"\ud800\n"}`, "content", "surrogate"},
		{"invalid byte", "{\"content\":\"a\xffb\"}", "content", "0xFF"},
		{"truncated sequence", "{\"content\":\"a\xe4\xb8\"}", "content", "not UTF-8"},
		{"nested", `{"jsonrpc":"2.0","id":1,"params":{"name":"remember","arguments":{"content":"ok","tags":["x","\udfff"]}}}`, "tags", "surrogate"},
		{"in a key", `{"\ud800":"x"}`, "\\ud800", "surrogate"},
		{"top-level string", `"\ud800"`, "body", "surrogate"},
		{"escaped quote before", `{"a":"\"","b":"\ud800"}`, "b", "surrogate"},
		{"backslash at end", `{"a":"\`, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := sage.CheckJSONText([]byte(tt.in))
			if tt.field == "" {
				if err != nil {
					t.Fatalf("CheckJSONText(%q) = %v, want nil", tt.in, err)
				}
				return
			}
			var ie *sage.InputError
			if !errors.As(err, &ie) || ie.Field != tt.field || !strings.Contains(ie.Message, tt.problem) {
				t.Fatalf("CheckJSONText(%q) = %v, want field %q and %q", tt.in, err, tt.field, tt.problem)
			}
		})
	}
}
