package http

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	sage "github.com/sage-mcp/sage/daemon"
)

// metrics are the Server's Prometheus metrics, in a registry of its own.
type metrics struct {
	reg             *prometheus.Registry
	httpRequests    *prometheus.CounterVec
	httpDuration    *prometheus.HistogramVec
	serviceDuration *prometheus.HistogramVec
	mcpDuration     *prometheus.HistogramVec
	embedDuration   *prometheus.HistogramVec
	authFailures    prometheus.Counter
	authThrottled   prometheus.Counter
}

func newMetrics(s *Server) *metrics {
	reg := prometheus.NewRegistry()
	m := &metrics{
		reg: reg,
		httpRequests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "sage_http_requests_total", Help: "HTTP requests by route, method and status code.",
		}, []string{"route", "method", "code"}),
		httpDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "sage_http_request_duration_seconds", Help: "HTTP request latency by route.",
			Buckets: prometheus.DefBuckets,
		}, []string{"route"}),
		serviceDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "sage_service_call_duration_seconds", Help: "Memory service calls (shared by MCP tools and REST) by method and outcome.",
			Buckets: prometheus.DefBuckets,
		}, []string{"method", "outcome"}),
		mcpDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "sage_mcp_request_duration_seconds", Help: "MCP requests by JSON-RPC method and tool (tools/call), with latency.",
			Buckets: prometheus.DefBuckets,
		}, []string{"method", "tool"}),
		embedDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "sage_embedder_duration_seconds", Help: "Embedder calls by provider and outcome, with latency.",
			Buckets: prometheus.DefBuckets,
		}, []string{"provider", "outcome"}),
		authFailures: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "sage_auth_failures_total", Help: "Requests with a wrong, expired or revoked token or OAuth grant.",
		}),
		authThrottled: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "sage_auth_throttled_total", Help: "Requests refused with 429 after repeated authentication failures.",
		}),
	}
	reg.MustRegister(m.httpRequests, m.httpDuration, m.serviceDuration, m.mcpDuration, m.embedDuration,
		m.authFailures, m.authThrottled,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		poolCollector{s})
	reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "sage_ready", Help: "1 when the database is reachable and migrated.",
	}, func() float64 {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		if s.ready(ctx) != nil {
			return 0
		}
		return 1
	}))
	return m
}

func (m *metrics) observeService(method string, d time.Duration, outcome string) {
	m.serviceDuration.WithLabelValues(method, outcome).Observe(d.Seconds())
}

func (m *metrics) handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{})
}

// poolCollector exports the pgx pool statistics of the current backend.
type poolCollector struct{ s *Server }

var (
	poolAcquired = prometheus.NewDesc("sage_db_pool_acquired_conns", "Connections in use.", nil, nil)
	poolIdle     = prometheus.NewDesc("sage_db_pool_idle_conns", "Idle connections.", nil, nil)
	poolTotal    = prometheus.NewDesc("sage_db_pool_total_conns", "Open connections.", nil, nil)
	poolMax      = prometheus.NewDesc("sage_db_pool_max_conns", "Most connections allowed.", nil, nil)
	poolWaits    = prometheus.NewDesc("sage_db_pool_empty_acquire_total", "Acquires that had to wait for a connection.", nil, nil)
	poolAcqDur   = prometheus.NewDesc("sage_db_pool_acquire_duration_seconds_total", "Time spent acquiring connections.", nil, nil)
)

func (c poolCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{poolAcquired, poolIdle, poolTotal, poolMax, poolWaits, poolAcqDur} {
		ch <- d
	}
}

func (c poolCollector) Collect(ch chan<- prometheus.Metric) {
	b := c.s.backend.Load()
	if b == nil || b.Pool == nil {
		return
	}
	st := b.Pool.Stat()
	ch <- prometheus.MustNewConstMetric(poolAcquired, prometheus.GaugeValue, float64(st.AcquiredConns()))
	ch <- prometheus.MustNewConstMetric(poolIdle, prometheus.GaugeValue, float64(st.IdleConns()))
	ch <- prometheus.MustNewConstMetric(poolTotal, prometheus.GaugeValue, float64(st.TotalConns()))
	ch <- prometheus.MustNewConstMetric(poolMax, prometheus.GaugeValue, float64(st.MaxConns()))
	ch <- prometheus.MustNewConstMetric(poolWaits, prometheus.CounterValue, float64(st.EmptyAcquireCount()))
	ch <- prometheus.MustNewConstMetric(poolAcqDur, prometheus.CounterValue, st.AcquireDuration().Seconds())
}

// InstrumentEmbedder returns e with its Embed latency and outcome recorded
// in the Server's metrics.
// /readyz reports its health (sage.HealthOf).
func (s *Server) InstrumentEmbedder(e sage.Embedder) sage.Embedder {
	s.embedder.Store(&e)
	return instrumentedEmbedder{Embedder: e, m: s.metrics}
}

// Unwrap returns the instrumented embedder (for sage.HealthOf).
func (e instrumentedEmbedder) Unwrap() sage.Embedder { return e.Embedder }

type instrumentedEmbedder struct {
	sage.Embedder
	m *metrics
}

func (e instrumentedEmbedder) Embed(ctx context.Context, texts []string) ([][]float32, error) {
	start := time.Now()
	v, err := e.Embedder.Embed(ctx, texts)
	res := "ok"
	if err != nil {
		res = "error"
	}
	e.m.embedDuration.WithLabelValues(e.Name(), res).Observe(time.Since(start).Seconds())
	return v, err
}

// statusRecorder remembers the status code a handler wrote.
type statusRecorder struct {
	http.ResponseWriter
	code int
}

func (r *statusRecorder) WriteHeader(code int) {
	if r.code == 0 {
		r.code = code
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *statusRecorder) Write(b []byte) (int, error) {
	if r.code == 0 {
		r.code = http.StatusOK
	}
	return r.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach Flush.
func (r *statusRecorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }

// Flush forwards to the underlying writer (SSE and streamed JSONL need it).
func (r *statusRecorder) Flush() {
	if f, ok := r.ResponseWriter.(http.Flusher); ok {
		if r.code == 0 {
			r.code = http.StatusOK
		}
		f.Flush()
	}
}

// instrument records requests and latency of h under route.
func (s *Server) instrument(route string, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rec := &statusRecorder{ResponseWriter: w}
		h.ServeHTTP(rec, r)
		if rec.code == 0 {
			rec.code = http.StatusOK
		}
		s.metrics.httpRequests.WithLabelValues(route, r.Method, strconv.Itoa(rec.code)).Inc()
		s.metrics.httpDuration.WithLabelValues(route).Observe(time.Since(start).Seconds())
	})
}

// mcpMaxToolName bounds tool names taken from requests into metric labels.
const mcpMaxToolName = 64

// instrumentMCP records each MCP request by JSON-RPC method and tool name.
// It peeks at the (already size-limited) body and puts it back.
func (s *Server) instrumentMCP(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost {
			h.ServeHTTP(w, r)
			return
		}
		body, err := io.ReadAll(r.Body)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		var msg struct {
			Method string `json:"method"`
			Params struct {
				Name string `json:"name"`
			} `json:"params"`
		}
		method, tool := "batch_or_response", ""
		if json.Unmarshal(body, &msg) == nil {
			method = msg.Method
			if method == "" {
				method = "response"
			}
			if method == "tools/call" {
				tool = msg.Params.Name
				if !s.knownTool(tool) {
					tool = "unknown"
				}
			}
		}
		if len(method) > mcpMaxToolName {
			method = "other"
		}
		start := time.Now()
		h.ServeHTTP(w, r)
		s.metrics.mcpDuration.WithLabelValues(method, tool).Observe(time.Since(start).Seconds())
	})
}

// knownTool reports whether name looks like a tool name worth a label:
// short and made of [a-z0-9_].
func (s *Server) knownTool(name string) bool {
	if name == "" || len(name) > mcpMaxToolName {
		return false
	}
	for _, r := range name {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '_' || r == '-') {
			return false
		}
	}
	return true
}
