package proxy

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sync"
)

// DefaultCacheFile is where the bridge keeps the last InitializeResult and
// tools/list result: os.UserCacheDir()/sage/bridge-cache.json. It returns ""
// when there is no user cache directory.
func DefaultCacheFile() string {
	dir, err := os.UserCacheDir()
	if err != nil {
		return ""
	}
	return filepath.Join(dir, "sage", "bridge-cache.json")
}

// cacheData is the cache file's content. It belongs to one daemon URL.
type cacheData struct {
	URL        string          `json:"url"`
	Initialize json.RawMessage `json:"initialize,omitempty"`
	Tools      json.RawMessage `json:"tools,omitempty"`
}

// cache reads and writes the cache file; a failure only gets logged, the
// cache is an optimization.
type cache struct {
	path string
	url  string

	mu   sync.Mutex
	data cacheData
}

func loadCache(path, url string) (*cache, error) {
	c := &cache{path: path, url: url, data: cacheData{URL: url}}
	if path == "" {
		return c, nil
	}
	b, err := os.ReadFile(path)
	if err != nil {
		if os.IsNotExist(err) {
			return c, nil
		}
		return c, fmt.Errorf("read cache: %w", err)
	}
	var d cacheData
	if err := json.Unmarshal(b, &d); err != nil {
		return c, fmt.Errorf("read cache %s: %w", path, err)
	}
	if d.URL == url {
		c.data = d
	}
	return c, nil
}

func (c *cache) get() cacheData {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.data
}

// set stores one entry ("initialize" or "tools") and writes the file when it
// changed.
func (c *cache) set(key string, v json.RawMessage) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	dst := &c.data.Initialize
	if key == "tools" {
		dst = &c.data.Tools
	}
	if bytes.Equal(*dst, v) {
		return nil
	}
	*dst = append(json.RawMessage(nil), v...)
	if c.path == "" {
		return nil
	}
	b, err := json.Marshal(c.data)
	if err != nil {
		return fmt.Errorf("write cache: %w", err)
	}
	if err := os.MkdirAll(filepath.Dir(c.path), 0o700); err != nil {
		return fmt.Errorf("write cache: %w", err)
	}
	tmp, err := os.CreateTemp(filepath.Dir(c.path), ".bridge-cache-*")
	if err != nil {
		return fmt.Errorf("write cache: %w", err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(b); err != nil {
		tmp.Close()
		return fmt.Errorf("write cache: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("write cache: %w", err)
	}
	if err := os.Rename(tmp.Name(), c.path); err != nil {
		return fmt.Errorf("write cache: %w", err)
	}
	return nil
}

// builtinInitialize is the InitializeResult the bridge gives when the daemon
// is down and nothing is cached: the tools capability with listChanged, so
// Claude Code fetches the tools again after notifications/tools/list_changed.
func builtinInitialize(protocolVersion, version, instructions string) json.RawMessage {
	if protocolVersion == "" {
		protocolVersion = "2025-06-18"
	}
	r := map[string]any{
		"protocolVersion": protocolVersion,
		"capabilities": map[string]any{
			"tools": map[string]any{"listChanged": true},
		},
		"serverInfo":   map[string]any{"name": "sage", "version": version},
		"instructions": instructions,
	}
	b, _ := json.Marshal(r)
	return b
}

// withListChanged returns an InitializeResult whose tools capability has
// listChanged: true (so the later notification is honoured).
func withListChanged(result json.RawMessage) json.RawMessage {
	var r map[string]json.RawMessage
	if json.Unmarshal(result, &r) != nil {
		return result
	}
	var caps map[string]json.RawMessage
	if json.Unmarshal(r["capabilities"], &caps) != nil || caps == nil {
		caps = map[string]json.RawMessage{}
	}
	var tools map[string]json.RawMessage
	if json.Unmarshal(caps["tools"], &tools) != nil || tools == nil {
		tools = map[string]json.RawMessage{}
	}
	tools["listChanged"] = json.RawMessage("true")
	caps["tools"], _ = json.Marshal(tools)
	r["capabilities"], _ = json.Marshal(caps)
	b, err := json.Marshal(r)
	if err != nil {
		return result
	}
	return b
}
