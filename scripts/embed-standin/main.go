// Command embed-standin stands in for Hugging Face text-embeddings-inference
// (TEI) in scripts/compose-test.sh, where no image can be pulled. It takes
// TEI's command line (--model-id, --port; other flags are accepted and
// ignored) and serves what Sage uses of TEI:
//
//   - POST /v1/embeddings (OpenAI-compatible): deterministic unit vectors
//     of -dims (384, multilingual-e5-small's length) built from a small
//     synonym table, so that "login bug" and "auth regression" are close
//     as with a real model, while texts with nothing in common are not;
//   - GET /health: 200.
//
// It is not a model: it exists to prove the wiring (compose starts it, the
// daemon's openai embedder reaches it, a paraphrase is found through it).
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"hash/fnv"
	"log"
	"math"
	"net/http"
	"os"
	"strings"
	"unicode"
)

// concepts maps synonyms (English and Chinese) to one dimension each.
var concepts = map[string]int{
	"login": 0, "auth": 0, "authentication": 0, "signin": 0, "登录": 0, "认证": 0,
	"bug": 1, "regression": 1, "defect": 1, "breakage": 1, "故障": 1, "错误": 1,
	"database": 2, "postgres": 2, "postgresql": 2, "数据库": 2,
	"slow": 3, "latency": 3, "sluggish": 3, "慢": 3,
	"deploy": 4, "release": 4, "rollout": 4, "发布": 4,
	"decide": 5, "decided": 5, "decision": 5, "agreed": 5, "决定": 5,
}

// firstHashed is the first dimension of the hashed buckets for other words.
const firstHashed = 16

func vector(text string, dims int) []float32 {
	v := make([]float32, dims)
	lower := strings.ToLower(strings.TrimPrefix(text, "query: "))
	isHan := func(r rune) bool { return unicode.Is(unicode.Han, r) }
	for _, w := range strings.FieldsFunc(lower, func(r rune) bool {
		return !unicode.IsLetter(r) && !unicode.IsDigit(r) || isHan(r)
	}) {
		if c, ok := concepts[w]; ok {
			v[c]++
			continue
		}
		h := fnv.New32a()
		h.Write([]byte(w))
		v[firstHashed+int(h.Sum32()%uint32(dims-firstHashed))] += 0.3
	}
	for w, c := range concepts {
		if strings.ContainsFunc(w, isHan) && strings.Contains(lower, w) {
			v[c]++
		}
	}
	var sum float64
	for _, x := range v {
		sum += float64(x) * float64(x)
	}
	if sum == 0 {
		v[dims-1] = 1
		return v
	}
	for i := range v {
		v[i] = float32(float64(v[i]) / math.Sqrt(sum))
	}
	return v
}

func main() {
	fs := flag.NewFlagSet("text-embeddings-router", flag.ContinueOnError)
	model := fs.String("model-id", os.Getenv("MODEL_ID"), "the model to pretend to serve")
	port := fs.Int("port", 80, "port to listen on (all interfaces)")
	dims := fs.Int("dims", 384, "vector length")
	// TEI flags Sage's compose file passes: accepted, ignored.
	fs.Int("max-client-batch-size", 32, "ignored")
	fs.Bool("auto-truncate", false, "ignored")
	if err := fs.Parse(os.Args[1:]); err != nil {
		os.Exit(2)
	}
	if *dims <= firstHashed {
		log.Fatalf("-dims must be more than %d", firstHashed)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /health", func(w http.ResponseWriter, _ *http.Request) {})
	mux.HandleFunc("POST /v1/embeddings", func(w http.ResponseWriter, r *http.Request) {
		var req struct {
			Model string          `json:"model"`
			Input json.RawMessage `json:"input"`
		}
		if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 64<<20)).Decode(&req); err != nil {
			http.Error(w, `{"error":"bad request"}`, http.StatusBadRequest)
			return
		}
		var inputs []string
		if err := json.Unmarshal(req.Input, &inputs); err != nil {
			var one string
			if err := json.Unmarshal(req.Input, &one); err != nil {
				http.Error(w, `{"error":"input must be a string or a list of strings"}`, http.StatusUnprocessableEntity)
				return
			}
			inputs = []string{one}
		}
		type item struct {
			Object    string    `json:"object"`
			Index     int       `json:"index"`
			Embedding []float32 `json:"embedding"`
		}
		data := make([]item, len(inputs))
		for i, t := range inputs {
			data[i] = item{"embedding", i, vector(t, *dims)}
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{"object": "list", "model": *model, "data": data})
	})
	addr := fmt.Sprintf("0.0.0.0:%d", *port)
	log.Printf("embed-standin: serving %q (%d dimensions) on %s", *model, *dims, addr)
	log.Fatal(http.ListenAndServe(addr, mux))
}
