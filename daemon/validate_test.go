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

		{"note ok", sage.Note{Content: "x", Kind: sage.KindFact, Tags: []string{"a"}}, ""},
		{"note empty", sage.Note{Content: " \n"}, "content"},
		{"note too long", sage.Note{Content: long(sage.MaxContentBytes + 1)}, "content"},
		{"note bad kind", sage.Note{Content: "x", Kind: "poem"}, "kind"},
		{"note max tags", sage.Note{Content: "x", Tags: tags(sage.MaxTags)}, ""},
		{"note too many tags", sage.Note{Content: "x", Tags: tags(sage.MaxTags + 1)}, "tags"},
		{"note empty tag", sage.Note{Content: "x", Tags: []string{""}}, "tags"},
		{"note long tag", sage.Note{Content: "x", Tags: []string{long(sage.MaxTagBytes + 1)}}, "tags"},
		{"note metadata string", sage.Note{Content: "x", Metadata: json.RawMessage(`"s"`)}, "metadata"},

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
