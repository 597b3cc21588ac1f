package mcpserver

import (
	"context"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/sage-mcp/sage/shared/api"
)

// TestHeaderDefaults: X-Sage-Project and X-Sage-Session are the defaults
// of remember's project and session_id and of search_memory's project; an
// argument given wins, an empty one included; a project's search brings
// the global memories (no project) along.
func TestHeaderDefaults(t *testing.T) {
	forEachTransport(t, testHeaderDefaults)
}

func testHeaderDefaults(t *testing.T, url string) {
	h := http.Header{}
	h.Set(HeaderProject, "proj-a")
	h.Set(HeaderSession, "sess-1")
	cs := MustClientWithHeaders(t, url, tokenAlpha, h)
	plain := MustClient(t, url, tokenAlpha)

	saves := []struct {
		name        string
		cs          *mcp.ClientSession
		args        map[string]any
		project, sn string
	}{
		{"defaults", cs, map[string]any{"content": "walrus fact of project a"}, "proj-a", "sess-1"},
		{"turn defaults", cs, map[string]any{"kind": "turn", "content": "walrus question", "response": "walrus answer"}, "proj-a", "sess-1"},
		{"explicit empty project is global", cs, map[string]any{"content": "walrus global preference", "kind": "fact", "project": ""}, "", "sess-1"},
		{"explicit arguments win", cs, map[string]any{"content": "walrus fact of project b", "project": "proj-b", "session_id": ""}, "proj-b", ""},
		{"no headers", plain, map[string]any{"content": "walrus without headers"}, "", ""},
	}
	ids := make([]int64, len(saves))
	for i, s := range saves {
		var r api.SaveResult
		MustCall(t, s.cs, ToolRemember, s.args, &r)
		ids[i] = r.ID
	}
	// Where each went, seen by a search of every project.
	var all SearchMemoryOutput
	MustCall(t, cs, ToolSearchMemory, map[string]any{"query": "walrus", "mode": "keyword", "project": "", "limit": 100}, &all)
	got := map[int64]string{}
	for _, m := range all.Results {
		got[m.ID] = m.Project + "/" + m.SessionID
	}
	for i, s := range saves {
		if w := s.project + "/" + s.sn; got[ids[i]] != w {
			t.Errorf("%s: stored as project/session %q, want %q", s.name, got[ids[i]], w)
		}
	}

	searches := []struct {
		name     string
		cs       *mcp.ClientSession
		args     map[string]any
		projects []string // of the results, sorted and distinct
	}{
		{"header project and global", cs, map[string]any{}, []string{"", "proj-a"}},
		{"context block too", cs, map[string]any{"max_chars": 4000}, []string{"", "proj-a"}},
		{"explicit project and global", cs, map[string]any{"project": "proj-b"}, []string{"", "proj-b"}},
		{"explicit empty: every project", cs, map[string]any{"project": ""}, []string{"", "proj-a", "proj-b"}},
		{"no headers: every project", plain, map[string]any{}, []string{"", "proj-a", "proj-b"}},
	}
	for _, s := range searches {
		args := map[string]any{"query": "walrus", "mode": "keyword", "limit": 100}
		for k, v := range s.args {
			args[k] = v
		}
		var out SearchMemoryOutput
		MustCall(t, s.cs, ToolSearchMemory, args, &out)
		var projects []string
		for _, m := range out.Results {
			if !slices.Contains(projects, m.Project) {
				projects = append(projects, m.Project)
			}
		}
		slices.Sort(projects)
		if !slices.Equal(projects, s.projects) {
			t.Errorf("%s: results of projects %q, want %q", s.name, projects, s.projects)
		}
	}

	// The recall prompt defaults to the header's project too.
	res, err := cs.GetPrompt(context.Background(), &mcp.GetPromptParams{Name: PromptRecall, Arguments: map[string]string{"topic": "walrus"}})
	if err != nil {
		t.Fatalf("recall: %v", err)
	}
	if txt := res.Messages[0].Content.(*mcp.TextContent).Text; !strings.Contains(txt, "project a") || strings.Contains(txt, "project b") || !strings.Contains(txt, "global preference") {
		t.Errorf("recall with the header's project:\n%s", txt)
	}

	// A bad header is refused like a bad argument, when it is used.
	bad := http.Header{}
	bad.Set(HeaderProject, strings.Repeat("p", 300))
	bad.Set(HeaderSession, "s\xff")
	bcs := MustClientWithHeaders(t, url, tokenAlpha, bad)
	MustFail(t, bcs, ToolRemember, map[string]any{"content": "x", "session_id": "s"}, "invalid X-Sage-Project header: is 300 bytes, more than the limit of 256")
	MustFail(t, bcs, ToolRemember, map[string]any{"content": "x", "project": "p"}, "invalid X-Sage-Session header: is not valid UTF-8")
	MustFail(t, bcs, ToolSearchMemory, map[string]any{"query": "x"}, "invalid X-Sage-Project header")
	MustCall(t, bcs, ToolRemember, map[string]any{"content": "walrus with arguments over bad headers", "project": "p", "session_id": "s"}, nil)
}
