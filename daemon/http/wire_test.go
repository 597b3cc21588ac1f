package http_test

import (
	"context"
	"encoding/json"
	"reflect"
	"testing"
	"time"

	sage "github.com/sage-mcp/sage/daemon"
	sagehttp "github.com/sage-mcp/sage/daemon/http"
	"github.com/sage-mcp/sage/daemon/mock"
)

// TestMCPAndRESTAgree: for the same memories, session and status, the MCP
// tools and the REST API give the same JSON: metadata that is empty or
// null is absent in both, and the status names its version and namespace
// in both.
func TestMCPAndRESTAgree(t *testing.T) {
	t.Parallel()
	at := time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)
	memory := func(id int64, metadata string) sage.Memory {
		return sage.Memory{ID: id, Namespace: sage.DefaultNamespace, Project: "p", SessionID: "s1", Kind: sage.KindNote,
			Text: "memory " + metadata, Metadata: json.RawMessage(metadata), OccurredAt: at, CreatedAt: at.Add(time.Second)}
	}
	ms := []sage.Memory{memory(1, ""), memory(2, "null"), memory(3, " null "), memory(4, `{"a":1}`)}
	ms[3].Tags = []string{"t1"}
	results := make([]sage.Result, len(ms))
	for i, m := range ms {
		results[i] = sage.Result{Memory: m, Score: 1 / float64(61+i)}
	}
	session := sage.Session{ID: "s1", Project: "p", Title: "first", Memories: len(ms), FirstAt: at, LastAt: at}
	svc := &mock.Service{
		SearchFn: func(context.Context, sage.SearchQuery) ([]sage.Result, error) { return results, nil },
		// search_memory with max_chars and GET /context both inject.
		InjectFn: func(context.Context, sage.InjectQuery) (sage.Injected, error) {
			return sage.Injected{Context: sage.Context{Text: "block", Items: results}}, nil
		},
		SessionFn:         func(context.Context, string) (sage.Session, error) { return session, nil },
		SessionMemoriesFn: func(context.Context, string) ([]sage.Memory, error) { return ms, nil },
		// A service that leaves version and namespace empty.
		StatusFn: func(context.Context) (sage.Status, error) {
			return sage.Status{Embedder: "builtin", Memories: 4, Uptime: time.Minute}, nil
		},
	}
	_, base := MustMockStack(t, svc, sagehttp.Options{})
	cs := MustMCP(t, base, "")

	tests := []struct {
		name string
		tool string
		args map[string]any
		path string
		// field picks the part of each answer to compare ("": all).
		mcpField, restField string
	}{
		{"search", "search_memory", map[string]any{"query": "x", "project": ""}, "/api/v1/search?q=x", "results", "results"},
		{"context", "search_memory", map[string]any{"query": "x", "project": "", "max_chars": 100}, "/api/v1/context?q=x&max_chars=100", "results", "items"},
		{"session", "manage_session", map[string]any{"action": "info", "session_id": "s1"}, "/api/v1/sessions/s1", "session", ""},
		{"status", "get_status", map[string]any{}, "/api/v1/status", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, isErr := MustTool(t, cs, tt.tool, tt.args)
			if isErr {
				t.Fatalf("%s: %s", tt.tool, out)
			}
			var res struct {
				StructuredContent map[string]any `json:"structuredContent"`
			}
			if err := json.Unmarshal([]byte(out), &res); err != nil {
				t.Fatal(err)
			}
			var mcpPart any = res.StructuredContent
			if tt.mcpField != "" {
				mcpPart = res.StructuredContent[tt.mcpField]
			}
			var rest map[string]any
			MustDo(t, "GET", base+tt.path, "", nil).MustStatus(t, 200).MustJSON(t, &rest)
			var restPart any = rest
			if tt.restField != "" {
				restPart = rest[tt.restField]
			}
			if tt.name == "session" {
				delete(rest, "items") // REST adds the memories; compared by search
			}
			if !reflect.DeepEqual(mcpPart, restPart) {
				a, _ := json.Marshal(mcpPart)
				b, _ := json.Marshal(restPart)
				t.Fatalf("MCP %s answers\n%s\nREST %s answers\n%s", tt.tool, a, tt.path, b)
			}
		})
	}
	// The session's memories over REST carry no null metadata either.
	var detail struct {
		Items []map[string]any `json:"items"`
	}
	MustDo(t, "GET", base+"/api/v1/sessions/s1", "", nil).MustStatus(t, 200).MustJSON(t, &detail)
	for _, m := range detail.Items {
		if v, ok := m["metadata"]; ok && v == nil {
			t.Errorf("memory %v: metadata null on the wire", m["id"])
		}
	}
}
