package embed_test

import (
	"encoding/json"
	"net/http"
	"sync"

	"github.com/sage-mcp/sage/testkit/synonyms"
)

// conceptDims is the length of the synonym model's vectors.
const conceptDims = 64

// synonymServer is an OpenAI-compatible /v1/embeddings answering with
// synonyms.Vector, or failing as set by its fields.
type synonymServer struct {
	mu       sync.Mutex
	fail     func(w http.ResponseWriter, r *http.Request) bool // answers instead when it returns true
	requests int
	inputs   []string
}

func (s *synonymServer) setFail(f func(w http.ResponseWriter, r *http.Request) bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.fail = f
}

func (s *synonymServer) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.requests
}

func (s *synonymServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var body struct {
		Model string   `json:"model"`
		Input []string `json:"input"`
	}
	if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
		http.Error(w, `{"error":{"message":"bad json"}}`, http.StatusBadRequest)
		return
	}
	s.mu.Lock()
	s.requests++
	s.inputs = append(s.inputs, body.Input...)
	fail := s.fail
	s.mu.Unlock()
	if fail != nil && fail(w, r) {
		return
	}
	type item struct {
		Index     int       `json:"index"`
		Embedding []float32 `json:"embedding"`
	}
	data := make([]item, len(body.Input))
	for i, t := range body.Input {
		data[i] = item{i, synonyms.Vector(t, conceptDims)}
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]any{"object": "list", "data": data, "model": body.Model})
}
