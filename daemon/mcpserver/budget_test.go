package mcpserver

import (
	"encoding/json"
	"strings"
	"testing"
	"unicode/utf8"
)

// claudeCodePrefixes are what Claude Code puts before the name of each
// tool of Sage's MCP server: registered as "sage" (installer, claude mcp
// add) or by the plugin (server "plugin:sage:sage").
var claudeCodePrefixes = []string{"mcp__sage__", "mcp__plugin_sage_sage__"}

// MeasureRequest returns what the server adds to every model request of
// Claude Code, in characters: the tool definitions as Claude Code sends
// them (JSON of the name with prefix, the description and the input schema)
// and the instructions. It also says whether the server declares
// resources (Claude Code then adds its three resource tools, 2,080
// characters more).
func MeasureRequest(t *testing.T, prefix string) (tools, instructions int, resources bool) {
	t.Helper()
	cs := MustConnect(t, New(nil, Options{}))
	res, err := cs.ListTools(t.Context(), nil)
	if err != nil {
		t.Fatalf("ListTools: %v", err)
	}
	type modelTool struct {
		Name        string `json:"name"`
		Description string `json:"description"`
		InputSchema any    `json:"input_schema"`
	}
	for _, tool := range res.Tools {
		b, err := json.Marshal(modelTool{prefix + tool.Name, tool.Description, tool.InputSchema})
		if err != nil {
			t.Fatalf("encode %s: %v", tool.Name, err)
		}
		t.Logf("%s%-16s %5d chars", prefix, tool.Name, utf8.RuneCount(b))
		tools += utf8.RuneCount(b)
	}
	init := cs.InitializeResult()
	return tools, utf8.RuneCountInString(init.Instructions), init.Capabilities.Resources != nil
}

// TestTokenBudget keeps what Sage adds to every model request within
// MaxRequestChars, and the server free of resources (whose two tools
// Claude Code would add to every request).
//
//	go test -run TestTokenBudget -v ./mcpserver
//
// prints the figures recorded in docs/BENCHMARKS.md.
func TestTokenBudget(t *testing.T) {
	for _, prefix := range claudeCodePrefixes {
		tools, instructions, resources := MeasureRequest(t, prefix)
		t.Logf("%s…: tools %d + instructions %d = %d chars (limit %d); resources declared: %v",
			prefix, tools, instructions, tools+instructions, MaxRequestChars, resources)
		if tools+instructions > MaxRequestChars {
			t.Errorf("%s…: tool definitions (%d chars) and instructions (%d) add %d characters to every model request, more than %d: shorten descriptions or merge tools",
				prefix, tools, instructions, tools+instructions, MaxRequestChars)
		}
		if resources {
			t.Errorf("the server declares resources: Claude Code then adds ListMcpResourcesTool, ReadMcpResourceTool and ReadMcpResourceDirTool to every request")
		}
	}
}

// TestInstructions checks the instructions of the initialize result: short,
// and saying when to search and when to remember.
func TestInstructions(t *testing.T) {
	got := MustConnect(t, New(nil, Options{})).InitializeResult().Instructions
	if got != Instructions {
		t.Errorf("initialize instructions %q, want %q", got, Instructions)
	}
	if n := utf8.RuneCountInString(got); n > MaxInstructionsChars || n == 0 {
		t.Errorf("instructions are %d characters, want 1 to %d", n, MaxInstructionsChars)
	}
	for _, want := range []string{ToolSearchMemory + " before answering", ToolRemember + " as soon as", `project ""`} {
		if !strings.Contains(got, want) {
			t.Errorf("instructions %q do not say %q", got, want)
		}
	}
	// Every tool they name exists.
	for _, w := range strings.FieldsFunc(got, func(r rune) bool { return r == ' ' || r == ',' || r == '.' || r == ':' }) {
		if strings.Contains(w, "_") && !contains(ToolNames, w) {
			t.Errorf("instructions name %q, which is no tool", w)
		}
	}
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}
