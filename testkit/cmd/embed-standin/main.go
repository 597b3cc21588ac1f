// Command embed-standin stands in for Hugging Face text-embeddings-inference
// (TEI) in scripts/compose-test.sh, where no image can be pulled. It takes
// TEI's command line (--model-id, --port; other flags are accepted and
// ignored) and serves what Sage uses of TEI:
//
//   - POST /v1/embeddings (OpenAI-compatible): the vectors of package
//     synonyms, of -dims (384, multilingual-e5-small's length);
//   - GET /health: 200.
//
// It is not a model: it exists to prove the wiring (compose starts it, the
// daemon's openai embedder reaches it, a paraphrase is found through it).
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"log"
	"net/http"
	"os"

	"github.com/sage-mcp/sage/testkit/synonyms"
)

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
	if *dims <= synonyms.FirstHashed {
		log.Fatalf("-dims must be more than %d", synonyms.FirstHashed)
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
			data[i] = item{"embedding", i, synonyms.Vector(t, *dims)}
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{"object": "list", "model": *model, "data": data})
	})
	addr := fmt.Sprintf("0.0.0.0:%d", *port)
	log.Printf("embed-standin: serving %q (%d dimensions) on %s", *model, *dims, addr)
	log.Fatal(http.ListenAndServe(addr, mux))
}
