// Package metrics is the daemon's runtime instrumentation: a Prometheus
// registry of its own and the wrappers that feed it — the memory service
// every request goes through (Service), the embedder (Embedder), HTTP
// routes (Instrument) and MCP requests (MCP, a go-sdk receiving
// middleware).
//
// Label values are bounded: routes are the patterns the HTTP layer names,
// MCP methods those the go-sdk dispatches, and tool names those given to
// MCP; any other tool name is counted as "other", so that no client can
// create series at will.
package metrics

import (
	"context"
	"net/http"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// OtherTool is the tool label of a tools/call whose tool name is not one
// given to MCP.
const OtherTool = "other"

// Registry holds the daemon's metrics.
type Registry struct {
	reg             *prometheus.Registry
	httpRequests    *prometheus.CounterVec
	httpDuration    *prometheus.HistogramVec
	serviceDuration *prometheus.HistogramVec
	mcpDuration     *prometheus.HistogramVec
	embedDuration   *prometheus.HistogramVec
	authFailures    prometheus.Counter
	authThrottled   prometheus.Counter
}

// latency returns a histogram of durations in seconds, with Prometheus's
// default buckets, by labels.
func latency(name, help string, labels ...string) *prometheus.HistogramVec {
	return prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: name, Help: help, Buckets: prometheus.DefBuckets}, labels)
}

// New returns a registry with the daemon's metrics, Go's and the
// process's. ready reports whether the database is reachable (the
// sage_ready gauge); pool returns the current connection pool, or nil
// while there is none (the sage_db_pool_* metrics).
func New(ready func(context.Context) error, pool func() *pgxpool.Pool) *Registry {
	r := &Registry{
		reg: prometheus.NewRegistry(),
		httpRequests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "sage_http_requests_total", Help: "HTTP requests by route, method and status code.",
		}, []string{"route", "method", "code"}),
		httpDuration:    latency("sage_http_request_duration_seconds", "HTTP request latency by route.", "route"),
		serviceDuration: latency("sage_service_call_duration_seconds", "Memory service calls (shared by MCP tools and REST) by method and outcome.", "method", "outcome"),
		mcpDuration:     latency("sage_mcp_request_duration_seconds", "MCP requests by JSON-RPC method and tool (tools/call), with latency.", "method", "tool"),
		embedDuration:   latency("sage_embedder_duration_seconds", "Embedder calls by provider and outcome, with latency.", "provider", "outcome"),
		authFailures: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "sage_auth_failures_total", Help: "Requests with a wrong, expired or revoked token or OAuth grant.",
		}),
		authThrottled: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "sage_auth_throttled_total", Help: "Requests refused with 429 after repeated authentication failures.",
		}),
	}
	r.reg.MustRegister(r.httpRequests, r.httpDuration, r.serviceDuration, r.mcpDuration, r.embedDuration,
		r.authFailures, r.authThrottled,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		poolCollector{pool})
	r.reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "sage_ready", Help: "1 when the database is reachable and migrated.",
	}, func() float64 {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		if ready(ctx) != nil {
			return 0
		}
		return 1
	}))
	return r
}

// Handler serves the metrics in Prometheus' text format.
func (r *Registry) Handler() http.Handler {
	return promhttp.HandlerFor(r.reg, promhttp.HandlerOpts{})
}

// AuthFailed counts a request with a wrong, expired or revoked credential.
func (r *Registry) AuthFailed() { r.authFailures.Inc() }

// AuthThrottled counts a request refused with 429 after repeated
// authentication failures.
func (r *Registry) AuthThrottled() { r.authThrottled.Inc() }

// Instrument records the requests h serves, and their latency, under
// route (a fixed name, never taken from the request).
func (r *Registry) Instrument(route string, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		start := time.Now()
		rec := &statusRecorder{ResponseWriter: w}
		h.ServeHTTP(rec, req)
		if rec.code == 0 {
			rec.code = http.StatusOK
		}
		r.httpRequests.WithLabelValues(route, req.Method, strconv.Itoa(rec.code)).Inc()
		r.httpDuration.WithLabelValues(route).Observe(time.Since(start).Seconds())
	})
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

// poolCollector exports the statistics of the current pgx pool.
type poolCollector struct{ pool func() *pgxpool.Pool }

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
	p := c.pool()
	if p == nil {
		return
	}
	st := p.Stat()
	ch <- prometheus.MustNewConstMetric(poolAcquired, prometheus.GaugeValue, float64(st.AcquiredConns()))
	ch <- prometheus.MustNewConstMetric(poolIdle, prometheus.GaugeValue, float64(st.IdleConns()))
	ch <- prometheus.MustNewConstMetric(poolTotal, prometheus.GaugeValue, float64(st.TotalConns()))
	ch <- prometheus.MustNewConstMetric(poolMax, prometheus.GaugeValue, float64(st.MaxConns()))
	ch <- prometheus.MustNewConstMetric(poolWaits, prometheus.CounterValue, float64(st.EmptyAcquireCount()))
	ch <- prometheus.MustNewConstMetric(poolAcqDur, prometheus.CounterValue, st.AcquireDuration().Seconds())
}
