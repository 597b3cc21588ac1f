package metrics_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"

	sage "github.com/sage-mcp/sage/daemon"
	"github.com/sage-mcp/sage/daemon/metrics"
	"github.com/sage-mcp/sage/daemon/mock"
)

// scrape returns the registry's metrics as text.
func scrape(t *testing.T, r *metrics.Registry) string {
	t.Helper()
	w := httptest.NewRecorder()
	r.Handler().ServeHTTP(w, httptest.NewRequest("GET", "/metrics", nil))
	b, err := io.ReadAll(w.Result().Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func newRegistry() *metrics.Registry {
	return metrics.New(func(context.Context) error { return errors.New("no database") }, func() *pgxpool.Pool { return nil })
}

// TestServiceOutcomes: the service proxy forwards to the current service
// and counts each call by method and outcome; without a service it fails
// with current's error.
func TestServiceOutcomes(t *testing.T) {
	r := newRegistry()
	var current sage.Service
	notReady := fmt.Errorf("starting: %w", sage.ErrUnavailable)
	svc := r.Service(func() (sage.Service, error) {
		if current == nil {
			return nil, notReady
		}
		return current, nil
	})
	ctx := context.Background()
	if _, err := svc.Status(ctx); !errors.Is(err, notReady) {
		t.Fatalf("without a service: %v", err)
	}
	current = &mock.Service{
		StatusFn: func(context.Context) (sage.Status, error) { return sage.Status{Memories: 3}, nil },
		SearchFn: func(_ context.Context, q sage.SearchQuery) ([]sage.Result, error) { return nil, q.Validate() },
		ForgetFn: func(context.Context, sage.ForgetRequest) (int64, error) { return 0, sage.ErrNotFound },
	}
	if st, err := svc.Status(ctx); err != nil || st.Memories != 3 {
		t.Fatalf("status %+v, %v", st, err)
	}
	if _, err := svc.Search(ctx, sage.SearchQuery{}); !errors.Is(err, sage.ErrInvalid) {
		t.Fatalf("search: %v", err)
	}
	if _, err := svc.Forget(ctx, sage.ForgetRequest{IDs: []int64{1}}); !errors.Is(err, sage.ErrNotFound) {
		t.Fatalf("forget: %v", err)
	}
	text := scrape(t, r)
	for _, want := range []string{
		`sage_service_call_duration_seconds_count{method="Status",outcome="unavailable"} 1`,
		`sage_service_call_duration_seconds_count{method="Status",outcome="ok"} 1`,
		`sage_service_call_duration_seconds_count{method="Search",outcome="invalid"} 1`,
		`sage_service_call_duration_seconds_count{method="Forget",outcome="not_found"} 1`,
		`sage_ready 0`,
	} {
		if !strings.Contains(text, want) {
			t.Errorf("metrics lack %s", want)
		}
	}
	if strings.Contains(text, "sage_db_pool_max_conns ") {
		t.Error("pool metrics without a pool")
	}
}

// fakeEmbedder fails when told to.
type fakeEmbedder struct{ fail bool }

func (fakeEmbedder) Name() string    { return "fake" }
func (fakeEmbedder) Model() string   { return "fake-1" }
func (fakeEmbedder) Dimensions() int { return 2 }
func (e fakeEmbedder) Embed(_ context.Context, texts []string) ([][]float32, error) {
	if e.fail {
		return nil, errors.New("down")
	}
	return make([][]float32, len(texts)), nil
}

func TestEmbedderOutcomes(t *testing.T) {
	r := newRegistry()
	for _, fail := range []bool{false, true, true} {
		e := r.Embedder(fakeEmbedder{fail: fail})
		if _, err := e.Embed(context.Background(), []string{"a"}); (err != nil) != fail {
			t.Fatalf("Embed with fail=%v: %v", fail, err)
		}
		if e.Model() != "fake-1" {
			t.Fatalf("the wrapper changed the model: %s", e.Model())
		}
	}
	text := scrape(t, r)
	for _, want := range []string{
		`sage_embedder_duration_seconds_count{outcome="ok",provider="fake"} 1`,
		`sage_embedder_duration_seconds_count{outcome="error",provider="fake"} 2`,
	} {
		if !strings.Contains(text, want) {
			t.Errorf("metrics lack %s", want)
		}
	}
}
