package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/sage-mcp/sage/shared/claudehooks"
)

// nullHook is a hook that does nothing: it reads its payload and exits.
func nullHook(in io.Reader) { io.Copy(io.Discard, in) }

// nullMCP is a stdio MCP server with nothing in it: initialize, ping and
// empty lists; every other request gets "method not found".
func nullMCP(in io.Reader, out io.Writer) {
	sc := bufio.NewScanner(in)
	sc.Buffer(make([]byte, 64<<10), 4<<20)
	enc := json.NewEncoder(out)
	for sc.Scan() {
		var m struct {
			ID     json.RawMessage `json:"id"`
			Method string          `json:"method"`
			Params struct {
				ProtocolVersion string `json:"protocolVersion"`
			} `json:"params"`
		}
		if json.Unmarshal(sc.Bytes(), &m) != nil || len(m.ID) == 0 {
			continue
		}
		var res any
		switch m.Method {
		case "initialize":
			res = map[string]any{"protocolVersion": m.Params.ProtocolVersion, "capabilities": map[string]any{"tools": map[string]any{}},
				"serverInfo": map[string]any{"name": "null", "version": "1"}}
		case "ping":
			res = map[string]any{}
		case "tools/list":
			res = map[string]any{"tools": []any{}}
		default:
			enc.Encode(map[string]any{"jsonrpc": "2.0", "id": m.ID, "error": map[string]any{"code": -32601, "message": "method not found"}})
			continue
		}
		enc.Encode(map[string]any{"jsonrpc": "2.0", "id": m.ID, "result": res})
	}
}

// hooksSettings is a --settings value with Sage's hook entries running
// program (the null hook, or sage-bridge).
func hooksSettings(program string) string {
	b, err := json.Marshal(map[string]any{"hooks": claudehooks.Entries(program)})
	if err != nil {
		panic(err)
	}
	return string(b)
}

// mcpConfig is a --mcp-config value with one stdio server "sage" running
// `program serve` with env. A nil env is written as {}: Claude Code drops a
// server whose "env" is null without a word, so a null env would measure
// no server at all.
func mcpConfig(program string, env map[string]string) string {
	if env == nil {
		env = map[string]string{}
	}
	b, err := json.Marshal(map[string]any{"mcpServers": map[string]any{
		"sage": map[string]any{"type": "stdio", "command": program, "args": []string{"serve"}, "env": env},
	}})
	if err != nil {
		panic(err)
	}
	return string(b)
}

// self is this program's path, for the null programs.
func self() (string, error) {
	p, err := os.Executable()
	if err != nil {
		return "", fmt.Errorf("own path: %w", err)
	}
	return filepath.EvalSymlinks(p)
}
