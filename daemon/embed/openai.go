package embed

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/hashicorp/go-retryablehttp"

	sage "github.com/sage-mcp/sage/daemon"
	"github.com/sage-mcp/sage/shared/textcut"
)

// OpenAIName is the Name of the OpenAI-compatible embedder.
const OpenAIName = "openai"

// Retry timing of the OpenAI-compatible embedder.
const (
	retryWaitMin = 500 * time.Millisecond
	retryWaitMax = 30 * time.Second
	// maxRetryAfter caps a server's Retry-After.
	maxRetryAfter = 2 * time.Minute
	// maxResponseBytes bounds the body read from the provider.
	maxResponseBytes = 256 << 20
	// maxErrorSnippet bounds the provider message quoted in an error.
	maxErrorSnippet = 300
)

// OpenAI embeds with an OpenAI-compatible POST /v1/embeddings endpoint.
// Texts go in batches of Config.BatchSize; each request has its own timeout
// and is retried with jittered exponential backoff (honouring Retry-After)
// on network errors, 429 and 5xx. Vectors come back in input order (by the
// response's index field) and each is checked to have Dimensions values.
type OpenAI struct {
	url        string // full embeddings URL
	shownURL   string // URL without credentials, for errors
	model      string
	apiKey     string
	dims       int
	sendDims   bool
	prefix     string // put before every text
	batchSize  int
	client     *retryablehttp.Client
	logger     *slog.Logger
	waitMin    time.Duration
	waitMax    time.Duration
	maxRetries int
}

func newOpenAI(cfg Config, logger *slog.Logger) (*OpenAI, error) {
	u, err := endpoint(cfg.URL)
	if err != nil {
		return nil, fmt.Errorf("openai embedder: SAGE_EMBED_URL: %w", err)
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	e := &OpenAI{
		url:        u.String(),
		shownURL:   u.Redacted(),
		model:      cfg.Model,
		apiKey:     cfg.APIKey,
		dims:       cfg.Dimensions,
		sendDims:   cfg.SendDimensions,
		prefix:     cfg.Prefix,
		batchSize:  cfg.BatchSize,
		logger:     logger,
		waitMin:    retryWaitMin,
		waitMax:    retryWaitMax,
		maxRetries: cfg.MaxRetries,
	}
	if e.prefix == NoPrefix {
		e.prefix = ""
	}
	e.client = &retryablehttp.Client{
		HTTPClient: &http.Client{Timeout: cfg.Timeout},
		RetryMax:   cfg.MaxRetries,
		CheckRetry: e.checkRetry,
		Backoff:    e.backoff,
		// Give us the last response (or error) to turn into a message.
		ErrorHandler: func(resp *http.Response, err error, _ int) (*http.Response, error) {
			if resp != nil {
				return resp, nil
			}
			return nil, err
		},
	}
	return e, nil
}

// Name returns "openai".
func (e *OpenAI) Name() string { return OpenAIName }

// Model returns the provider's model and the dimensions, e.g.
// "text-embedding-3-small@1536".
func (e *OpenAI) Model() string { return fmt.Sprintf("%s@%d", e.model, e.dims) }

// Dimensions returns the length of every vector.
func (e *OpenAI) Dimensions() int { return e.dims }

// embeddingRequest is the body of POST /v1/embeddings.
type embeddingRequest struct {
	Model      string   `json:"model"`
	Input      []string `json:"input"`
	Dimensions int      `json:"dimensions,omitempty"`
}

// embeddingResponse is the answer of POST /v1/embeddings.
type embeddingResponse struct {
	Data []struct {
		Index     *int      `json:"index"`
		Embedding []float32 `json:"embedding"`
	} `json:"data"`
}

// Embed returns one vector per text, in order. Errors wrap
// sage.ErrEmbedder; nothing partial is returned.
func (e *OpenAI) Embed(ctx context.Context, texts []string) ([][]float32, error) {
	out := make([][]float32, 0, len(texts))
	for start := 0; start < len(texts); start += e.batchSize {
		end := min(start+e.batchSize, len(texts))
		vs, err := e.embedBatch(ctx, texts[start:end])
		if err != nil {
			return nil, err
		}
		out = append(out, vs...)
	}
	return out, nil
}

func (e *OpenAI) embedBatch(ctx context.Context, texts []string) ([][]float32, error) {
	in := make([]string, len(texts))
	for i, t := range texts {
		if strings.TrimSpace(t) == "" {
			// Providers reject empty input; a blank embeds as a space.
			t = " "
		}
		in[i] = e.prefix + t
	}
	body := embeddingRequest{Model: e.model, Input: in}
	if e.sendDims {
		body.Dimensions = e.dims
	}
	raw, err := json.Marshal(body)
	if err != nil {
		return nil, fmt.Errorf("%w: encode request: %w", sage.ErrEmbedder, err)
	}
	req, err := retryablehttp.NewRequestWithContext(ctx, http.MethodPost, e.url, raw)
	if err != nil {
		return nil, fmt.Errorf("%w: build request: %w", sage.ErrEmbedder, err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	if e.apiKey != "" {
		req.Header.Set("Authorization", "Bearer "+e.apiKey)
	}
	resp, err := e.client.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return nil, fmt.Errorf("%w: embedding request to %s: %w", sage.ErrEmbedder, e.shownURL, ctx.Err())
		}
		return nil, fmt.Errorf("%w: embedding request to %s failed after %d attempt(s): %w",
			sage.ErrEmbedder, e.shownURL, e.maxRetries+1, e.scrub(err))
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxResponseBytes+1))
	if err != nil {
		return nil, fmt.Errorf("%w: read response from %s: %w", sage.ErrEmbedder, e.shownURL, e.scrub(err))
	}
	if len(data) > maxResponseBytes {
		return nil, fmt.Errorf("%w: response from %s is larger than %d bytes", sage.ErrEmbedder, e.shownURL, maxResponseBytes)
	}
	switch {
	case resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden:
		return nil, fmt.Errorf("%w: authentication failed: check SAGE_EMBED_API_KEY (%s answered %d)", sage.ErrEmbedder, e.shownURL, resp.StatusCode)
	case resp.StatusCode != http.StatusOK:
		return nil, fmt.Errorf("%w: %s answered %d: %s", sage.ErrEmbedder, e.shownURL, resp.StatusCode, e.snippet(data))
	}
	var er embeddingResponse
	if err := json.Unmarshal(data, &er); err != nil {
		return nil, fmt.Errorf("%w: decode response from %s: %w", sage.ErrEmbedder, e.shownURL, err)
	}
	if len(er.Data) != len(texts) {
		return nil, fmt.Errorf("%w: %s returned %d vectors for %d texts", sage.ErrEmbedder, e.shownURL, len(er.Data), len(texts))
	}
	out := make([][]float32, len(texts))
	for pos, d := range er.Data {
		i := pos // servers that omit index return input order
		if d.Index != nil {
			i = *d.Index
		}
		if i < 0 || i >= len(texts) {
			return nil, fmt.Errorf("%w: %s returned a vector with index %d for %d texts", sage.ErrEmbedder, e.shownURL, i, len(texts))
		}
		if out[i] != nil {
			return nil, fmt.Errorf("%w: %s returned index %d twice", sage.ErrEmbedder, e.shownURL, i)
		}
		if len(d.Embedding) != e.dims {
			return nil, fmt.Errorf("%w: model %q returned a vector of %d dimensions, want %d: set SAGE_EMBED_DIMENSIONS to the model's length (then reindex)",
				sage.ErrEmbedder, e.model, len(d.Embedding), e.dims)
		}
		out[i] = d.Embedding
	}
	return out, nil
}

// checkRetry retries network errors, 429 and 5xx (but 501), never after
// ctx is done.
func (e *OpenAI) checkRetry(ctx context.Context, resp *http.Response, err error) (bool, error) {
	if ctx.Err() != nil {
		return false, ctx.Err()
	}
	if err != nil {
		retry, _ := retryablehttp.DefaultRetryPolicy(ctx, resp, err)
		if retry {
			e.logger.Warn("embedding request failed", "url", e.shownURL, "error", e.scrub(err).Error(), "retryable", true)
		}
		return retry, err
	}
	code := resp.StatusCode
	if code == http.StatusTooManyRequests || (code >= 500 && code != http.StatusNotImplemented) {
		e.logger.Warn("embedding request failed", "url", e.shownURL, "status", code, "retryable", true)
		return true, nil
	}
	return false, nil
}

// backoff waits as long as a Retry-After header says (up to
// maxRetryAfter), else exponentially from waitMin to waitMax with full
// jitter in the upper half.
func (e *OpenAI) backoff(_, _ time.Duration, attempt int, resp *http.Response) time.Duration {
	if resp != nil {
		if d, ok := retryAfter(resp.Header.Get("Retry-After"), time.Now()); ok {
			return min(d, maxRetryAfter)
		}
	}
	d := e.waitMin << min(attempt, 20)
	if d <= 0 || d > e.waitMax {
		d = e.waitMax
	}
	return d/2 + rand.N(d/2+1)
}

// retryAfter parses a Retry-After value: seconds or an HTTP date.
func retryAfter(v string, now time.Time) (time.Duration, bool) {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0, false
	}
	if s, err := strconv.ParseFloat(v, 64); err == nil || errors.Is(err, strconv.ErrRange) {
		if !(s >= 0) || (math.IsInf(s, 0) && !errors.Is(err, strconv.ErrRange)) {
			return 0, false // negative, NaN, "Inf"
		}
		const day = 24 * 60 * 60
		return time.Duration(min(s, day) * float64(time.Second)), true
	}
	t, err := http.ParseTime(v)
	if err != nil {
		return 0, false
	}
	return max(t.Sub(now), 0), true
}

// scrub removes the API key from an error, should a layer below ever quote
// a header.
func (e *OpenAI) scrub(err error) error {
	if e.apiKey == "" || !strings.Contains(err.Error(), e.apiKey) {
		return err
	}
	return errors.New(strings.ReplaceAll(err.Error(), e.apiKey, "[redacted]"))
}

// snippet is the provider's error message, short and without the API key.
func (e *OpenAI) snippet(body []byte) string {
	var oe struct {
		Error json.RawMessage `json:"error"`
	}
	msg := string(bytes.TrimSpace(body))
	if json.Unmarshal(body, &oe) == nil && len(oe.Error) > 0 {
		var obj struct {
			Message string `json:"message"`
		}
		var s string
		switch {
		case json.Unmarshal(oe.Error, &obj) == nil && obj.Message != "":
			msg = obj.Message
		case json.Unmarshal(oe.Error, &s) == nil && s != "":
			msg = s
		}
	}
	if e.apiKey != "" {
		msg = strings.ReplaceAll(msg, e.apiKey, "[redacted]")
	}
	if len(msg) > maxErrorSnippet {
		msg = textcut.Bytes(msg, maxErrorSnippet, textcut.Ellipsis)
	}
	if msg == "" {
		msg = "(empty body)"
	}
	return msg
}
