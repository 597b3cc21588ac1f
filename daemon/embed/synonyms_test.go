package embed_test

import (
	"encoding/json"
	"hash/fnv"
	"math"
	"net/http"
	"strings"
	"sync"
	"unicode"
)

// conceptDims is the length of the synonym model's vectors: one dimension
// per concept, then hashed buckets for every other word.
const conceptDims = 64

// concepts maps words (English and Chinese) to a shared concept: texts that
// say the same thing in other words get close vectors, as with a real model.
var concepts = map[string]int{
	"login": 0, "auth": 0, "authentication": 0, "signin": 0, "sign-in": 0, "登录": 0, "认证": 0,
	"bug": 1, "regression": 1, "defect": 1, "breakage": 1, "故障": 1, "错误": 1,
	"database": 2, "postgres": 2, "postgresql": 2, "数据库": 2,
	"slow": 3, "latency": 3, "sluggish": 3, "慢": 3,
	"deploy": 4, "release": 4, "rollout": 4, "发布": 4,
	"decide": 5, "decided": 5, "decision": 5, "agreed": 5, "决定": 5,
}

// synonymVector is the fake model: every known word adds its concept, every
// other word a hashed bucket past the concepts; the sum is normalized.
func synonymVector(text string) []float32 {
	v := make([]float32, conceptDims)
	add := func(w string) {
		if c, ok := concepts[w]; ok {
			v[c] += 1
			return
		}
		h := fnv.New32a()
		h.Write([]byte(w))
		v[8+int(h.Sum32()%(conceptDims-8))] += 0.3
	}
	lower := strings.ToLower(text)
	for w := range strings.FieldsFuncSeq(lower, func(r rune) bool {
		return !unicode.IsLetter(r) && !unicode.IsDigit(r) && r != '-' || unicode.Is(unicode.Han, r)
	}) {
		add(w)
	}
	for w, c := range concepts { // Chinese words have no spaces around them
		if strings.ContainsFunc(w, func(r rune) bool { return unicode.Is(unicode.Han, r) }) && strings.Contains(lower, w) {
			v[c] += 1
		}
	}
	var sum float64
	for _, x := range v {
		sum += float64(x) * float64(x)
	}
	if sum == 0 {
		v[conceptDims-1] = 1
		return v
	}
	for i := range v {
		v[i] = float32(float64(v[i]) / math.Sqrt(sum))
	}
	return v
}

// synonymServer is an OpenAI-compatible /v1/embeddings answering with
// synonymVector, or failing as set by its fields.
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
		data[i] = item{i, synonymVector(t)}
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]any{"object": "list", "data": data, "model": body.Model})
}
