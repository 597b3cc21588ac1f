// Package embed holds sage-daemon's embedders, the implementations of
// sage.Embedder:
//
//   - builtin (the default): offline, deterministic feature hashing in pure
//     Go; no model, no network;
//   - openai: any OpenAI-compatible /v1/embeddings endpoint (OpenAI,
//     SiliconFlow, Ollama, LM Studio, vLLM, TEI).
//
// New builds the one a Config names.
package embed

import (
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"time"

	sage "github.com/sage-mcp/sage/daemon"
)

// Providers.
const (
	ProviderBuiltin = "builtin"
	ProviderOpenAI  = "openai"
)

// Defaults and limits of Config.
const (
	DefaultBatchSize  = 64
	MaxBatchSize      = 2048
	DefaultTimeout    = 60 * time.Second
	DefaultMaxRetries = 4
	MaxRetriesLimit   = 20
	// DefaultQueryTimeout bounds the embedding of one search query (the
	// prompt hook waits for it within its own 1.5 s budget).
	DefaultQueryTimeout = 500 * time.Millisecond
	// DefaultCacheSize is how many query embeddings are kept.
	DefaultCacheSize = 1024
	// MaxCacheSize bounds CacheSize.
	MaxCacheSize = 1 << 20
	// MaxDimensions bounds the dimensions of any provider.
	MaxDimensions = 16000
	// DefaultOpenAIURL is used when the openai provider has no URL.
	DefaultOpenAIURL = "https://api.openai.com/v1"
)

// Config chooses and configures an embedder. The daemon fills it from
// SAGE_EMBED_* environment variables (named in the field comments).
type Config struct {
	// Provider is "builtin" (the default when empty) or "openai".
	// SAGE_EMBED_PROVIDER.
	Provider string
	// URL of an OpenAI-compatible endpoint: a base URL with or without /v1
	// ("http://localhost:11434", "https://api.siliconflow.cn/v1") or the
	// full /embeddings path. Empty means DefaultOpenAIURL. SAGE_EMBED_URL.
	URL string
	// Model is the provider's model name. Required for openai.
	// SAGE_EMBED_MODEL.
	Model string
	// APIKey is sent as a bearer token; optional for local servers. It is
	// never logged nor put into an error. SAGE_EMBED_API_KEY.
	APIKey string
	// Dimensions is the length of every vector. For builtin, 0 means
	// DefaultDimensions. For openai, 0 means the known length of a well-known
	// model; other models need it. Every returned vector is checked against
	// it. SAGE_EMBED_DIMENSIONS.
	Dimensions int
	// SendDimensions sends "dimensions" in each request, asking the model to
	// shorten its vectors (OpenAI text-embedding-3 and other Matryoshka
	// models). Many servers reject the field, so it is sent only when set,
	// or when Dimensions differs from the native length of a known model
	// that supports it. SAGE_EMBED_SEND_DIMENSIONS.
	SendDimensions bool
	// BatchSize is the most texts in one request (0 means
	// DefaultBatchSize). SAGE_EMBED_BATCH_SIZE.
	BatchSize int
	// Timeout bounds each HTTP request (0 means DefaultTimeout).
	// SAGE_EMBED_TIMEOUT.
	Timeout time.Duration
	// MaxRetries is how often a request is retried after a network error,
	// 429 or 5xx (0 means DefaultMaxRetries; negative means never).
	// SAGE_EMBED_MAX_RETRIES.
	MaxRetries int
	// QueryTimeout bounds the embedding of one short text (a search query,
	// at most sage.MaxQueryBytes): past it the search goes on with keywords
	// only (0 means DefaultQueryTimeout). SAGE_EMBED_QUERY_TIMEOUT.
	QueryTimeout time.Duration
	// CacheSize is how many embeddings of short texts (queries) are kept,
	// keyed by model and text, least recently used out first (0 means
	// DefaultCacheSize; negative means no cache). SAGE_EMBED_CACHE_SIZE.
	CacheSize int
	// Prefix is put before every text sent to the model, for models trained
	// with one (multilingual-e5: "query: "). Empty means the known model's
	// prefix; "none" sends the texts as they are. SAGE_EMBED_PREFIX.
	Prefix string
}

// knownModel describes a model whose vector length is known.
type knownModel struct {
	dims int
	// shortens: the model accepts "dimensions" and returns shorter vectors.
	shortens bool
	// prefix is put before every text (see Config.Prefix).
	prefix string
}

// knownModels are well-known embedding models, by name as providers spell
// them (a provider prefix such as "BAAI/" is kept).
var knownModels = map[string]knownModel{
	"text-embedding-3-small":               {1536, true, ""},
	"text-embedding-3-large":               {3072, true, ""},
	"text-embedding-ada-002":               {1536, false, ""},
	"nomic-embed-text":                     {768, false, ""},
	"nomic-embed-text:latest":              {768, false, ""},
	"mxbai-embed-large":                    {1024, false, ""},
	"mxbai-embed-large:latest":             {1024, false, ""},
	"all-minilm":                           {384, false, ""},
	"all-minilm:latest":                    {384, false, ""},
	"bge-m3":                               {1024, false, ""},
	"bge-m3:latest":                        {1024, false, ""},
	"BAAI/bge-m3":                          {1024, false, ""},
	"BAAI/bge-large-zh-v1.5":               {1024, false, ""},
	"BAAI/bge-large-en-v1.5":               {1024, false, ""},
	"BAAI/bge-small-en-v1.5":               {384, false, ""},
	"BAAI/bge-base-en-v1.5":                {768, false, ""},
	"Qwen/Qwen3-Embedding-0.6B":            {1024, true, ""},
	"Qwen/Qwen3-Embedding-4B":              {2560, true, ""},
	"Qwen/Qwen3-Embedding-8B":              {4096, true, ""},
	"netease-youdao/bce-embedding-base_v1": {768, false, ""},
	// multilingual-e5 wants "query: " before queries and "passage: " before
	// documents, or "query: " on both sides for symmetric tasks: Sage
	// compares memories with memories, so every text gets "query: ".
	"intfloat/multilingual-e5-small": {384, false, e5Prefix},
	"intfloat/multilingual-e5-base":  {768, false, e5Prefix},
	"intfloat/multilingual-e5-large": {1024, false, e5Prefix},
}

// e5Prefix is the prefix multilingual-e5 models expect.
const e5Prefix = "query: "

// NoPrefix as Config.Prefix sends texts without the known model's prefix.
const NoPrefix = "none"

// withDefaults returns c with its zero fields set to their defaults.
func (c Config) withDefaults() Config {
	if c.Provider == "" {
		c.Provider = ProviderBuiltin
	}
	c.Provider = strings.ToLower(strings.TrimSpace(c.Provider))
	if c.BatchSize == 0 {
		c.BatchSize = DefaultBatchSize
	}
	if c.Timeout == 0 {
		c.Timeout = DefaultTimeout
	}
	if c.MaxRetries == 0 {
		c.MaxRetries = DefaultMaxRetries
	}
	if c.MaxRetries < 0 {
		c.MaxRetries = 0
	}
	if c.QueryTimeout == 0 {
		c.QueryTimeout = DefaultQueryTimeout
	}
	if c.CacheSize == 0 {
		c.CacheSize = DefaultCacheSize
	}
	switch c.Provider {
	case ProviderBuiltin:
		if c.Dimensions == 0 {
			c.Dimensions = DefaultDimensions
		}
	case ProviderOpenAI:
		c.URL = strings.TrimSpace(c.URL)
		if c.URL == "" {
			c.URL = DefaultOpenAIURL
		}
		c.Model = strings.TrimSpace(c.Model)
		if km, ok := knownModels[c.Model]; ok {
			if c.Prefix == "" {
				c.Prefix = km.prefix
			}
			if c.Dimensions == 0 {
				c.Dimensions = km.dims
			} else if c.Dimensions != km.dims && km.shortens {
				c.SendDimensions = true
			}
		}
	}
	return c
}

// Validate reports the first problem of c, naming the environment variable
// to fix. It does not touch the network.
func (c Config) Validate() error {
	c = c.withDefaults()
	if c.BatchSize < 1 || c.BatchSize > MaxBatchSize {
		return fmt.Errorf("embed config: SAGE_EMBED_BATCH_SIZE %d out of range [1, %d]", c.BatchSize, MaxBatchSize)
	}
	if c.Timeout < 0 {
		return errors.New("embed config: SAGE_EMBED_TIMEOUT must not be negative")
	}
	if c.QueryTimeout < 0 {
		return errors.New("embed config: SAGE_EMBED_QUERY_TIMEOUT must not be negative")
	}
	if c.CacheSize > MaxCacheSize {
		return fmt.Errorf("embed config: SAGE_EMBED_CACHE_SIZE %d is more than %d", c.CacheSize, MaxCacheSize)
	}
	if c.MaxRetries > MaxRetriesLimit {
		return fmt.Errorf("embed config: SAGE_EMBED_MAX_RETRIES %d is more than %d", c.MaxRetries, MaxRetriesLimit)
	}
	switch c.Provider {
	case ProviderBuiltin:
		if c.Dimensions < MinBuiltinDimensions || c.Dimensions > MaxBuiltinDimensions {
			return fmt.Errorf("embed config: SAGE_EMBED_DIMENSIONS %d out of range [%d, %d] for the builtin embedder", c.Dimensions, MinBuiltinDimensions, MaxBuiltinDimensions)
		}
		return nil
	case ProviderOpenAI:
		if _, err := endpoint(c.URL); err != nil {
			return fmt.Errorf("embed config: SAGE_EMBED_URL: %w", err)
		}
		if c.Model == "" {
			return errors.New("embed config: SAGE_EMBED_MODEL is required with SAGE_EMBED_PROVIDER=openai")
		}
		if c.Dimensions == 0 {
			return fmt.Errorf("embed config: SAGE_EMBED_DIMENSIONS is required for model %q (the length of its vectors)", c.Model)
		}
		if c.Dimensions < 1 || c.Dimensions > MaxDimensions {
			return fmt.Errorf("embed config: SAGE_EMBED_DIMENSIONS %d out of range [1, %d]", c.Dimensions, MaxDimensions)
		}
		if strings.ContainsAny(c.APIKey, "\r\n") {
			return errors.New("embed config: SAGE_EMBED_API_KEY contains a line break")
		}
		return nil
	default:
		return fmt.Errorf("embed config: unknown SAGE_EMBED_PROVIDER %q (want %q or %q)", c.Provider, ProviderBuiltin, ProviderOpenAI)
	}
}

// endpoint turns a configured URL into the full embeddings URL: a base URL
// gets "/v1/embeddings", a URL ending in /v1 (or any version) gets
// "/embeddings", and a URL ending in /embeddings is kept.
func endpoint(raw string) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, errors.New("not a URL")
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil, fmt.Errorf("scheme %q: want http or https", u.Scheme)
	}
	if u.Host == "" {
		return nil, errors.New("no host")
	}
	p := strings.TrimRight(u.Path, "/")
	last := p[strings.LastIndex(p, "/")+1:]
	switch {
	case last == "embeddings":
	case isVersion(last):
		p += "/embeddings"
	default:
		p += "/v1/embeddings"
	}
	u.Path, u.RawPath = p, ""
	return u, nil
}

// isVersion reports whether s is an API version path element: v1, v2, v1beta.
func isVersion(s string) bool {
	return len(s) >= 2 && s[0] == 'v' && s[1] >= '0' && s[1] <= '9'
}

// New returns the embedder that cfg names. It does not touch the network.
// A nil logger is silent.
func New(cfg Config, logger *slog.Logger) (sage.Embedder, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	switch cfg.Provider {
	case ProviderOpenAI:
		e, err := newOpenAI(cfg, logger)
		if err != nil {
			return nil, err
		}
		return NewGuard(e, GuardOptions{QueryTimeout: cfg.QueryTimeout, CacheSize: cfg.CacheSize}), nil
	default:
		return NewBuiltin(cfg.Dimensions)
	}
}
