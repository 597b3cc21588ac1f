package http

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/sage-mcp/sage/shared/api"
)

// TestReplyEncodingFailure: an answer that cannot be encoded is a 500
// with the JSON error body and a log line, never a 200 with an empty body.
func TestReplyEncodingFailure(t *testing.T) {
	tests := []struct {
		name   string
		v      any
		status int
	}{
		{"ok", map[string]string{"a": "b"}, http.StatusOK},
		{"year 10000", api.Session{ID: "s", LastAt: time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)}, http.StatusInternalServerError},
		{"not encodable", map[string]any{"f": func() {}}, http.StatusInternalServerError},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var logs bytes.Buffer
			s := &Server{log: slog.New(slog.NewTextHandler(&logs, nil))}
			w := httptest.NewRecorder()
			s.reply(w, httptest.NewRequest("GET", "/api/v1/sessions", nil), http.StatusOK, tt.v)
			if w.Code != tt.status {
				t.Fatalf("status %d, want %d; body %s", w.Code, tt.status, w.Body)
			}
			if w.Header().Get("Content-Type") != "application/json" {
				t.Fatalf("Content-Type %q", w.Header().Get("Content-Type"))
			}
			if tt.status == http.StatusOK {
				if logs.Len() != 0 || !json.Valid(w.Body.Bytes()) {
					t.Fatalf("body %q, log %q", w.Body, logs.String())
				}
				return
			}
			var eb api.ErrorBody
			if err := json.Unmarshal(w.Body.Bytes(), &eb); err != nil || eb.Error.Code != api.CodeInternal {
				t.Fatalf("body %q: %v", w.Body, err)
			}
			if !strings.Contains(logs.String(), "level=ERROR") || !strings.Contains(logs.String(), "encode response") ||
				!strings.Contains(logs.String(), "/api/v1/sessions") {
				t.Fatalf("log %q", logs.String())
			}
		})
	}
}

// TestCanceledRequestNotAnError: a request whose client went away fails
// with the database's "canceling statement" error; that is logged at
// debug level, not as an error (an unexpected error is).
func TestCanceledRequestNotAnError(t *testing.T) {
	tests := []struct {
		name     string
		canceled bool
		want     string
	}{
		{"canceled", true, `level=DEBUG msg="request canceled"`},
		{"not canceled", false, `level=ERROR msg="request failed"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var logs bytes.Buffer
			s := &Server{log: slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))}
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			if tt.canceled {
				cancel()
			}
			r := httptest.NewRequest("GET", "/api/v1/search", nil).WithContext(ctx)
			s.fail(httptest.NewRecorder(), r, errors.New("search: ERROR: canceling statement due to user request (SQLSTATE 57014)"))
			if !strings.Contains(logs.String(), tt.want) || tt.canceled && strings.Contains(logs.String(), "level=ERROR") {
				t.Fatalf("log %q, want %q", logs.String(), tt.want)
			}
		})
	}
}
