package mcpserver

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// TestToolSnaps compares each tool's definition (name, description,
// annotations, input and output schemas) with its golden snapshot in
// testdata/toolsnaps/<tool>.snap, so that a change to what clients see is
// always deliberate. UPDATE_TOOLSNAPS=true go test rewrites the snapshots.
func TestToolSnaps(t *testing.T) {
	cs := MustConnect(t, New(nil, Options{}))
	res, err := cs.ListTools(t.Context(), nil)
	if err != nil {
		t.Fatalf("ListTools: %v", err)
	}
	var names []string
	for _, tool := range res.Tools {
		names = append(names, tool.Name)
		t.Run(tool.Name, func(t *testing.T) { checkSnap(t, tool) })
	}
	slices.Sort(names)
	want := slices.Clone(ToolNames)
	slices.Sort(want)
	if !slices.Equal(names, want) {
		t.Errorf("tools %v, want %v", names, want)
	}
	// Every input property is described.
	for _, tool := range res.Tools {
		props, _ := tool.InputSchema.(map[string]any)["properties"].(map[string]any)
		for name, p := range props {
			if d, _ := p.(map[string]any)["description"].(string); d == "" {
				t.Errorf("%s: input %q has no description", tool.Name, name)
			}
		}
	}
}

func checkSnap(t *testing.T, tool *mcp.Tool) {
	t.Helper()
	got, err := json.MarshalIndent(tool, "", "  ")
	if err != nil {
		t.Fatalf("marshal: %v", err)
	}
	got = append(got, '\n')
	path := filepath.Join("testdata", "toolsnaps", tool.Name+".snap")
	if os.Getenv("UPDATE_TOOLSNAPS") == "true" {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatalf("write snapshot: %v", err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read snapshot (run UPDATE_TOOLSNAPS=true go test to create it): %v", err)
	}
	// Compare as JSON values, so formatting does not matter.
	var g, w any
	if err := json.Unmarshal(got, &g); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(want, &w); err != nil {
		t.Fatalf("snapshot %s is not JSON: %v", path, err)
	}
	gb, _ := json.Marshal(g)
	wb, _ := json.Marshal(w)
	if !bytes.Equal(gb, wb) {
		t.Errorf("tool %s differs from %s (UPDATE_TOOLSNAPS=true go test to accept):\ngot:\n%s", tool.Name, path, got)
	}
}
