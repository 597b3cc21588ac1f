package proxy

import (
	"encoding/json"
	"strings"
	"sync"
)

// safeMethods may run twice without harm: they read, or (initialize, ping)
// have no effect worth protecting.
var safeMethods = map[string]bool{
	"initialize":               true,
	"ping":                     true,
	"tools/list":               true,
	"prompts/list":             true,
	"resources/list":           true,
	"resources/templates/list": true,
	"resources/read":           true,
	"prompts/get":              true,
	"completion/complete":      true,
	"logging/setLevel":         true,
	"resources/subscribe":      true,
	"resources/unsubscribe":    true,
}

// toolTable remembers, per tool name, whether the tool's annotations say a
// repeated call is harmless (readOnlyHint or idempotentHint).
type toolTable struct {
	mu   sync.RWMutex
	safe map[string]bool
}

func (t *toolTable) isSafe(name string) bool {
	t.mu.RLock()
	defer t.mu.RUnlock()
	return t.safe[name]
}

// learn reads a tools/list result and records each tool's annotations.
func (t *toolTable) learn(result json.RawMessage) {
	var r struct {
		Tools []struct {
			Name        string `json:"name"`
			Annotations *struct {
				ReadOnlyHint   bool `json:"readOnlyHint"`
				IdempotentHint bool `json:"idempotentHint"`
			} `json:"annotations"`
		} `json:"tools"`
	}
	if json.Unmarshal(result, &r) != nil {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.safe == nil {
		t.safe = make(map[string]bool, len(r.Tools))
	}
	for _, tool := range r.Tools {
		t.safe[tool.Name] = tool.Annotations != nil && (tool.Annotations.ReadOnlyHint || tool.Annotations.IdempotentHint)
	}
}

// callParams is what the bridge reads from tools/call params.
type callParams struct {
	Name      string `json:"name"`
	Arguments struct {
		IdempotencyKey json.RawMessage `json:"idempotency_key"`
	} `json:"arguments"`
	Meta map[string]json.RawMessage `json:"_meta"`
}

// idempotent reports whether the request (method, params) may be sent
// again after it possibly reached the server.
func (t *toolTable) idempotent(method string, params json.RawMessage) bool {
	if safeMethods[method] || strings.HasPrefix(method, "notifications/") {
		return true
	}
	if method != "tools/call" {
		return false
	}
	var p callParams
	if json.Unmarshal(params, &p) != nil {
		return false
	}
	if nonEmpty(p.Arguments.IdempotencyKey) {
		return true
	}
	for _, k := range []string{"idempotency_key", "idempotencyKey", "io.sage/idempotency_key"} {
		if nonEmpty(p.Meta[k]) {
			return true
		}
	}
	return t.isSafe(p.Name)
}

func nonEmpty(raw json.RawMessage) bool {
	s := strings.TrimSpace(string(raw))
	return s != "" && s != "null" && s != `""`
}
