package health_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/sage-mcp/sage/shared/health"
)

func TestCheck(t *testing.T) {
	status := http.StatusOK
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != health.Path {
			http.NotFound(w, r)
			return
		}
		w.WriteHeader(status)
	}))
	defer srv.Close()
	closed := httptest.NewServer(http.NotFoundHandler())
	closed.Close()
	tests := []struct {
		name    string
		base    string
		status  int
		wantErr string // "" for no error
	}{
		{"up", srv.URL, http.StatusOK, ""},
		{"unhealthy", srv.URL, http.StatusServiceUnavailable, srv.URL + "/healthz answered 503 Service Unavailable"},
		{"wrong base", srv.URL + "/nope", http.StatusOK, "/nope/healthz answered 404 Not Found"},
		{"down", closed.URL, http.StatusOK, "connection refused"},
		{"bad url", "http://[::1", http.StatusOK, "health check: parse"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status = tt.status
			err := health.Check(context.Background(), srv.Client(), tt.base)
			if (err == nil) != (tt.wantErr == "") || err != nil && !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("Check: %v, want error %q", err, tt.wantErr)
			}
		})
	}
}
