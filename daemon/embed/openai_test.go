package embed

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	sage "github.com/sage-mcp/sage/daemon"
)

const testKey = "sk-test-SECRET-0123456789"

// fakeProvider is an OpenAI-compatible embeddings server. Each vector is
// [index-in-request, len(text), batch number, 0, …] of length dims, and the
// data comes back in reverse order to prove that the client sorts by index.
type fakeProvider struct {
	t    *testing.T
	dims int // length of returned vectors

	mu       sync.Mutex
	requests []embeddingRequestSeen
	// fail, when set, answers instead of the default handler for the
	// request with that number (0-based); returning false falls through.
	fail func(n int, w http.ResponseWriter, r *http.Request) bool
}

type embeddingRequestSeen struct {
	Path       string
	Auth       string
	Model      string
	Input      []string
	Dimensions *int
}

func (p *fakeProvider) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var body struct {
		Model      string   `json:"model"`
		Input      []string `json:"input"`
		Dimensions *int     `json:"dimensions"`
	}
	if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
		http.Error(w, `{"error":{"message":"bad json"}}`, http.StatusBadRequest)
		return
	}
	p.mu.Lock()
	n := len(p.requests)
	p.requests = append(p.requests, embeddingRequestSeen{r.URL.Path, r.Header.Get("Authorization"), body.Model, body.Input, body.Dimensions})
	fail := p.fail
	p.mu.Unlock()
	if fail != nil && fail(n, w, r) {
		return
	}
	type item struct {
		Object    string    `json:"object"`
		Index     int       `json:"index"`
		Embedding []float32 `json:"embedding"`
	}
	var data []item
	for i := len(body.Input) - 1; i >= 0; i-- {
		v := make([]float32, p.dims)
		v[0], v[1], v[2] = float32(i), float32(len(body.Input[i])), float32(n)
		data = append(data, item{"embedding", i, v})
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]any{"object": "list", "data": data, "model": body.Model})
}

func (p *fakeProvider) seen() []embeddingRequestSeen {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]embeddingRequestSeen(nil), p.requests...)
}

// MustOpenAI starts a fake provider and an embedder talking to it.
func MustOpenAI(t *testing.T, cfg Config, p *fakeProvider) (*OpenAI, *httptest.Server, *bytes.Buffer) {
	t.Helper()
	p.t = t
	srv := httptest.NewServer(p)
	t.Cleanup(srv.Close)
	cfg.Provider = ProviderOpenAI
	if cfg.URL == "" {
		cfg.URL = srv.URL
	}
	if cfg.Model == "" {
		cfg.Model = "test-model"
	}
	var logs bytes.Buffer
	e, err := New(cfg, slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug})))
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	o := e.(*Guard).Unwrap().(*OpenAI)
	o.waitMin, o.waitMax = time.Millisecond, 5*time.Millisecond
	return o, srv, &logs
}

func texts(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = strings.Repeat("x", i+1)
	}
	return out
}

func TestOpenAIBatchingAndOrder(t *testing.T) {
	p := &fakeProvider{dims: 8}
	e, _, _ := MustOpenAI(t, Config{Dimensions: 8, BatchSize: 3, APIKey: testKey}, p)
	in := texts(7)
	vs, err := e.Embed(context.Background(), in)
	if err != nil {
		t.Fatalf("Embed: %v", err)
	}
	if len(vs) != 7 {
		t.Fatalf("got %d vectors, want 7", len(vs))
	}
	for i, v := range vs {
		// Text i went in batch i/3 at position i%3.
		if int(v[0]) != i%3 || int(v[1]) != len(in[i]) || int(v[2]) != i/3 {
			t.Errorf("vector %d = %v: out of order", i, v[:3])
		}
	}
	reqs := p.seen()
	if len(reqs) != 3 {
		t.Fatalf("%d requests, want 3 (batches of 3, 3, 1)", len(reqs))
	}
	for i, r := range reqs {
		if r.Path != "/v1/embeddings" || r.Auth != "Bearer "+testKey || r.Model != "test-model" || r.Dimensions != nil {
			t.Errorf("request %d: %+v", i, r)
		}
	}
	if got := []int{len(reqs[0].Input), len(reqs[1].Input), len(reqs[2].Input)}; fmt.Sprint(got) != "[3 3 1]" {
		t.Errorf("batch sizes %v, want [3 3 1]", got)
	}
	if e.Name() != "openai" || e.Model() != "test-model@8" || e.Dimensions() != 8 {
		t.Errorf("identity %s %s %d", e.Name(), e.Model(), e.Dimensions())
	}
}

func TestOpenAINoKeyNoAuthHeader(t *testing.T) {
	p := &fakeProvider{dims: 4}
	e, _, _ := MustOpenAI(t, Config{Dimensions: 4}, p)
	if _, err := e.Embed(context.Background(), []string{"a", ""}); err != nil {
		t.Fatalf("Embed: %v", err)
	}
	r := p.seen()[0]
	if r.Auth != "" {
		t.Errorf("Authorization %q sent without a key", r.Auth)
	}
	if r.Input[1] != " " {
		t.Errorf("empty text sent as %q, want a space", r.Input[1])
	}
}

func TestOpenAISendDimensions(t *testing.T) {
	tests := []struct {
		name  string
		cfg   Config
		want  int // 0: not sent
		dims  int
		model string
	}{
		{"unknown model, not asked", Config{Model: "m", Dimensions: 16}, 0, 16, "m@16"},
		{"asked", Config{Model: "m", Dimensions: 16, SendDimensions: true}, 16, 16, "m@16"},
		{"known model, native length", Config{Model: "text-embedding-3-small"}, 0, 1536, "text-embedding-3-small@1536"},
		{"known model, shortened", Config{Model: "text-embedding-3-small", Dimensions: 512}, 512, 512, "text-embedding-3-small@512"},
		{"known model without shortening", Config{Model: "nomic-embed-text"}, 0, 768, "nomic-embed-text@768"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := &fakeProvider{dims: tt.dims}
			e, _, _ := MustOpenAI(t, tt.cfg, p)
			if _, err := e.Embed(context.Background(), []string{"a"}); err != nil {
				t.Fatalf("Embed: %v", err)
			}
			got := p.seen()[0].Dimensions
			switch {
			case tt.want == 0 && got != nil:
				t.Errorf("dimensions %d sent, want none", *got)
			case tt.want != 0 && (got == nil || *got != tt.want):
				t.Errorf("dimensions %v sent, want %d", got, tt.want)
			}
			if e.Model() != tt.model || e.Dimensions() != tt.dims {
				t.Errorf("Model %s Dimensions %d, want %s %d", e.Model(), e.Dimensions(), tt.model, tt.dims)
			}
		})
	}
}

func TestOpenAIRetries(t *testing.T) {
	tests := []struct {
		name   string
		status int
		header string
	}{
		{"429 with Retry-After", http.StatusTooManyRequests, "0"},
		{"429 without Retry-After", http.StatusTooManyRequests, ""},
		{"503", http.StatusServiceUnavailable, ""},
		{"500", http.StatusInternalServerError, ""},
		{"502 with Retry-After date", http.StatusBadGateway, "Thu, 01 Jan 1970 00:00:00 GMT"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := &fakeProvider{dims: 4, fail: func(n int, w http.ResponseWriter, _ *http.Request) bool {
				if n >= 2 {
					return false
				}
				if tt.header != "" {
					w.Header().Set("Retry-After", tt.header)
				}
				http.Error(w, `{"error":{"message":"slow down"}}`, tt.status)
				return true
			}}
			e, _, logs := MustOpenAI(t, Config{Dimensions: 4, APIKey: testKey}, p)
			vs, err := e.Embed(context.Background(), []string{"a", "bb"})
			if err != nil {
				t.Fatalf("Embed: %v", err)
			}
			if len(vs) != 2 || vs[1][1] != 2 {
				t.Fatalf("vectors %v", vs)
			}
			if n := len(p.seen()); n != 3 {
				t.Errorf("%d requests, want 3 (two failures, one success)", n)
			}
			if strings.Contains(logs.String(), testKey) {
				t.Errorf("the API key was logged: %s", logs)
			}
			if !strings.Contains(logs.String(), "embedding request failed") {
				t.Errorf("no retry was logged: %s", logs)
			}
		})
	}
}

func TestOpenAIRetryAfterHonoured(t *testing.T) {
	p := &fakeProvider{dims: 4, fail: func(n int, w http.ResponseWriter, _ *http.Request) bool {
		if n > 0 {
			return false
		}
		w.Header().Set("Retry-After", "1")
		w.WriteHeader(http.StatusTooManyRequests)
		return true
	}}
	e, _, _ := MustOpenAI(t, Config{Dimensions: 4}, p)
	start := time.Now()
	if _, err := e.Embed(context.Background(), []string{"a"}); err != nil {
		t.Fatalf("Embed: %v", err)
	}
	// A lower bound on the wait is not a speed assertion: the client must
	// not come back before the server said so.
	if d := time.Since(start); d < time.Second {
		t.Errorf("retried after %v, before Retry-After: 1", d)
	}
}

func TestRetryAfterParse(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	tests := []struct {
		in   string
		want time.Duration
		ok   bool
	}{
		{"", 0, false},
		{"3", 3 * time.Second, true},
		{"0.5", 500 * time.Millisecond, true},
		{"-1", 0, false},
		{"soon", 0, false},
		{now.Add(10 * time.Second).Format(http.TimeFormat), 10 * time.Second, true},
		{now.Add(-time.Hour).Format(http.TimeFormat), 0, true},
	}
	for _, tt := range tests {
		got, ok := retryAfter(tt.in, now)
		if got != tt.want || ok != tt.ok {
			t.Errorf("retryAfter(%q) = %v, %v; want %v, %v", tt.in, got, ok, tt.want, tt.ok)
		}
	}
}

func TestOpenAIFailures(t *testing.T) {
	tests := []struct {
		name     string
		cfg      Config
		fail     func(n int, w http.ResponseWriter, r *http.Request) bool
		dims     int
		want     string // in the error
		requests int    // how many requests were made
	}{
		{"401", Config{}, func(_ int, w http.ResponseWriter, _ *http.Request) bool {
			http.Error(w, `{"error":{"message":"Incorrect API key provided: `+testKey+`"}}`, http.StatusUnauthorized)
			return true
		}, 4, "authentication failed: check SAGE_EMBED_API_KEY", 1},
		{"403", Config{}, func(_ int, w http.ResponseWriter, _ *http.Request) bool {
			w.WriteHeader(http.StatusForbidden)
			return true
		}, 4, "authentication failed: check SAGE_EMBED_API_KEY", 1},
		{"400 with provider message", Config{}, func(_ int, w http.ResponseWriter, _ *http.Request) bool {
			http.Error(w, `{"error":{"message":"input too long for `+testKey+`"}}`, http.StatusBadRequest)
			return true
		}, 4, "answered 400: input too long for [redacted]", 1},
		{"wrong dimensions", Config{}, nil, 5, "returned a vector of 5 dimensions, want 4", 1},
		{"503 forever", Config{MaxRetries: 2}, func(_ int, w http.ResponseWriter, _ *http.Request) bool {
			http.Error(w, "overloaded", http.StatusServiceUnavailable)
			return true
		}, 4, "answered 503: overloaded", 3},
		{"no retries", Config{MaxRetries: -1}, func(_ int, w http.ResponseWriter, _ *http.Request) bool {
			w.WriteHeader(http.StatusTooManyRequests)
			return true
		}, 4, "answered 429", 1},
		{"timeout", Config{Timeout: 50 * time.Millisecond, MaxRetries: 1}, func(_ int, w http.ResponseWriter, r *http.Request) bool {
			select {
			case <-r.Context().Done():
			case <-time.After(5 * time.Second):
			}
			return true
		}, 4, "failed after 2 attempt(s)", 2},
		{"too few vectors", Config{}, func(_ int, w http.ResponseWriter, _ *http.Request) bool {
			_, _ = w.Write([]byte(`{"data":[{"index":0,"embedding":[1,2,3,4]}]}`))
			return true
		}, 4, "returned 1 vectors for 2 texts", 1},
		{"duplicate index", Config{}, func(_ int, w http.ResponseWriter, _ *http.Request) bool {
			_, _ = w.Write([]byte(`{"data":[{"index":1,"embedding":[1,2,3,4]},{"index":1,"embedding":[1,2,3,4]}]}`))
			return true
		}, 4, "index 1 twice", 1},
		{"index out of range", Config{}, func(_ int, w http.ResponseWriter, _ *http.Request) bool {
			_, _ = w.Write([]byte(`{"data":[{"index":0,"embedding":[1,2,3,4]},{"index":7,"embedding":[1,2,3,4]}]}`))
			return true
		}, 4, "index 7", 1},
		{"not json", Config{}, func(_ int, w http.ResponseWriter, _ *http.Request) bool {
			_, _ = w.Write([]byte(`<html>proxy error</html>`))
			return true
		}, 4, "decode response", 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := &fakeProvider{dims: tt.dims, fail: tt.fail}
			cfg := tt.cfg
			cfg.Dimensions, cfg.APIKey = 4, testKey
			e, _, logs := MustOpenAI(t, cfg, p)
			vs, err := e.Embed(context.Background(), []string{"a", "b"})
			if err == nil {
				t.Fatalf("Embed succeeded with %d vectors, want an error", len(vs))
			}
			if !errors.Is(err, sage.ErrEmbedder) {
				t.Errorf("error %v does not wrap sage.ErrEmbedder", err)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q, want it to contain %q", err, tt.want)
			}
			if strings.Contains(err.Error(), testKey) || strings.Contains(logs.String(), testKey) {
				t.Errorf("the API key leaked: %v / %s", err, logs)
			}
			if n := len(p.seen()); n != tt.requests {
				t.Errorf("%d requests, want %d", n, tt.requests)
			}
		})
	}
}

func TestOpenAIContextCanceled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var calls atomic.Int32
	p := &fakeProvider{dims: 4, fail: func(_ int, w http.ResponseWriter, _ *http.Request) bool {
		calls.Add(1)
		w.WriteHeader(http.StatusServiceUnavailable)
		// Cancel once the client is waiting to retry.
		time.AfterFunc(50*time.Millisecond, cancel)
		return true
	}}
	e, _, _ := MustOpenAI(t, Config{Dimensions: 4}, p)
	e.waitMin, e.waitMax = time.Hour, time.Hour // the backoff outlasts the context
	_, err := e.Embed(ctx, []string{"a"})
	if !errors.Is(err, sage.ErrEmbedder) || !errors.Is(err, context.Canceled) {
		t.Fatalf("Embed: %v, want ErrEmbedder and context.Canceled", err)
	}
	if calls.Load() != 1 {
		t.Errorf("%d calls, want 1", calls.Load())
	}
}

func TestEndpoint(t *testing.T) {
	tests := []struct{ in, want string }{
		{"http://localhost:11434", "http://localhost:11434/v1/embeddings"},
		{"http://localhost:11434/", "http://localhost:11434/v1/embeddings"},
		{"https://api.siliconflow.cn/v1", "https://api.siliconflow.cn/v1/embeddings"},
		{"https://api.siliconflow.cn/v1/", "https://api.siliconflow.cn/v1/embeddings"},
		{"http://tei:8080/v1/embeddings", "http://tei:8080/v1/embeddings"},
		{"https://example.com/openai/v1", "https://example.com/openai/v1/embeddings"},
		{"https://example.com/api/embeddings", "https://example.com/api/embeddings"},
		{"http://127.0.0.1:1234/proxy", "http://127.0.0.1:1234/proxy/v1/embeddings"},
	}
	for _, tt := range tests {
		u, err := endpoint(tt.in)
		if err != nil || u.String() != tt.want {
			t.Errorf("endpoint(%q) = %v, %v; want %s", tt.in, u, err, tt.want)
		}
	}
	for _, bad := range []string{"", "localhost:11434", "ftp://x/v1", "http://", "://x"} {
		if u, err := endpoint(bad); err == nil {
			t.Errorf("endpoint(%q) = %v, want an error", bad, u)
		}
	}
}

func TestConfigValidate(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
		want string // "" means valid
	}{
		{"zero is builtin", Config{}, ""},
		{"builtin dims", Config{Provider: "builtin", Dimensions: 768}, ""},
		{"builtin dims too small", Config{Dimensions: 8}, "SAGE_EMBED_DIMENSIONS 8 out of range"},
		{"unknown provider", Config{Provider: "cohere"}, `unknown SAGE_EMBED_PROVIDER "cohere"`},
		{"provider case", Config{Provider: " OpenAI ", Model: "text-embedding-3-small"}, ""},
		{"openai needs model", Config{Provider: "openai"}, "SAGE_EMBED_MODEL is required"},
		{"openai unknown model needs dims", Config{Provider: "openai", Model: "my-model"}, `SAGE_EMBED_DIMENSIONS is required for model "my-model"`},
		{"openai dims", Config{Provider: "openai", Model: "my-model", Dimensions: 1024}, ""},
		{"openai dims too big", Config{Provider: "openai", Model: "m", Dimensions: 20000}, "out of range"},
		{"openai bad url", Config{Provider: "openai", Model: "m", Dimensions: 3, URL: "localhost:11434"}, "SAGE_EMBED_URL"},
		{"batch too big", Config{BatchSize: 5000}, "SAGE_EMBED_BATCH_SIZE"},
		{"negative timeout", Config{Timeout: -time.Second}, "SAGE_EMBED_TIMEOUT"},
		{"too many retries", Config{MaxRetries: 99}, "SAGE_EMBED_MAX_RETRIES"},
		{"key with newline", Config{Provider: "openai", Model: "m", Dimensions: 3, APIKey: "a\nb"}, "line break"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.cfg.Validate()
			switch {
			case tt.want == "" && err != nil:
				t.Fatalf("Validate: %v", err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Fatalf("Validate: %v, want %q", err, tt.want)
			}
			e, nerr := New(tt.cfg, nil)
			if (err == nil) != (nerr == nil) {
				t.Fatalf("New: %v, Validate: %v", nerr, err)
			}
			if nerr == nil && e.Dimensions() <= 0 {
				t.Errorf("New made an embedder of %d dimensions", e.Dimensions())
			}
		})
	}
	e, err := New(Config{}, nil)
	if err != nil || e.Name() != "builtin" || e.Model() != "builtin-fh-v1@384" {
		t.Fatalf("New(Config{}) = %v, %v; want the builtin embedder", e, err)
	}
}

func FuzzEndpoint(f *testing.F) {
	for _, s := range []string{"http://localhost:11434", "https://api.siliconflow.cn/v1", "http://tei:8080/v1/embeddings", "", "x", "http://h/v", "http://h/%zz", "http://u:p@h/v2/"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		u, err := endpoint(s)
		if err != nil {
			return
		}
		if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || !strings.HasSuffix(u.Path, "/embeddings") {
			t.Fatalf("endpoint(%q) = %v", s, u)
		}
		// Idempotent: the full URL maps to itself.
		again, err := endpoint(u.String())
		if err != nil || again.String() != u.String() {
			t.Fatalf("endpoint(%q) = %v, then %v, %v", s, u, again, err)
		}
	})
}

func FuzzRetryAfter(f *testing.F) {
	for _, s := range []string{"", "0", "3", "1.5", "-1", "Thu, 01 Jan 1970 00:00:00 GMT", "NaN", "Inf", "1e400"} {
		f.Add(s)
	}
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, s string) {
		d, ok := retryAfter(s, now)
		if d < 0 || (!ok && d != 0) {
			t.Fatalf("retryAfter(%q) = %v, %v", s, d, ok)
		}
	})
}
