package http

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"

	sage "github.com/sage-mcp/sage/daemon"
	"github.com/sage-mcp/sage/shared/api"
)

// writeJSON writes v as JSON with status. v is encoded before anything is
// written: if it cannot be (a time outside the years 0–9999, say), the
// answer is 500 with the REST error body, never a status with an empty
// body, and the encoding error is returned for the caller to log (reply
// does).
func writeJSON(w http.ResponseWriter, status int, v any) error {
	var buf bytes.Buffer
	err := json.NewEncoder(&buf).Encode(v)
	if err != nil {
		buf.Reset()
		status = http.StatusInternalServerError
		_ = json.NewEncoder(&buf).Encode(api.ErrorBody{Error: api.ErrorDetail{Code: api.CodeInternal,
			Message: "internal error: the answer could not be encoded (see the daemon's log)"}})
		err = fmt.Errorf("encode response: %w", err)
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
	return err
}

// reply is writeJSON that logs an answer it could not encode.
func (s *Server) reply(w http.ResponseWriter, r *http.Request, status int, v any) {
	if err := writeJSON(w, status, v); err != nil {
		s.log.Error("request failed", "method", r.Method, "path", r.URL.Path, "err", err)
	}
}

// writeErr writes the one REST error format.
func writeErr(w http.ResponseWriter, status int, code, msg string) {
	writeJSON(w, status, api.ErrorBody{Error: api.ErrorDetail{Code: code, Message: msg}})
}

// errorStatus maps an error to its HTTP status, REST code and a message
// safe to show: sentinel errors of package sage keep their text, anything
// unexpected becomes "internal error" (and is logged by the caller).
func errorStatus(err error) (status int, code, msg string) {
	var ie *sage.InputError
	var mbe *http.MaxBytesError
	switch {
	case errors.As(err, &mbe):
		return http.StatusRequestEntityTooLarge, api.CodeTooLarge, "request body too large"
	case errors.As(err, &ie):
		return http.StatusBadRequest, api.CodeInvalid, ie.Error()
	case errors.Is(err, sage.ErrInvalid):
		return http.StatusBadRequest, api.CodeInvalid, "invalid input"
	case errors.Is(err, sage.ErrNotFound):
		return http.StatusNotFound, api.CodeNotFound, "not found"
	case errors.Is(err, sage.ErrUnavailable):
		return http.StatusServiceUnavailable, api.CodeUnavailable, "database unavailable: the daemon cannot reach PostgreSQL right now; retry later"
	case errors.Is(err, sage.ErrEmbedder):
		return http.StatusServiceUnavailable, api.CodeUnavailable, "embedder unavailable: the embedding provider failed; retry later"
	case errors.Is(err, sage.ErrUnauthenticated):
		return http.StatusUnauthorized, api.CodeUnauthorized, "invalid, expired or revoked token"
	}
	return http.StatusInternalServerError, api.CodeInternal, "internal error"
}

// fail writes err as a REST error, logging the unexpected ones. A request
// whose client went away (its context ended) fails with whatever error the
// database gives then; that is logged at debug level, not as an error.
func (s *Server) fail(w http.ResponseWriter, r *http.Request, err error) {
	status, code, msg := errorStatus(err)
	switch {
	case status < http.StatusInternalServerError:
	case r.Context().Err() != nil:
		s.log.Debug("request canceled", "method", r.Method, "path", r.URL.Path, "err", err)
	case status == http.StatusInternalServerError:
		s.log.Error("request failed", "method", r.Method, "path", r.URL.Path, "err", err)
	case status == http.StatusServiceUnavailable:
		s.log.Warn("request failed", "method", r.Method, "path", r.URL.Path, "err", err)
	}
	writeErr(w, status, code, msg)
}

// discard is a logger that drops everything.
var discard = slog.New(slog.DiscardHandler)
