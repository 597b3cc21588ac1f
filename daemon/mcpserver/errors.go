package mcpserver

import (
	"context"
	"errors"
	"fmt"
	"time"

	sage "github.com/sage-mcp/sage/daemon"
)

// Messages of failures that are not about the input.
const (
	msgUnavailable = "the Sage database is unavailable; check that PostgreSQL is running (docker compose ps) — the call was not applied"
	msgInternal    = "internal error in the Sage daemon (see its log) — the call was not applied"
	msgCanceled    = "the call was canceled or timed out before it finished — it was not applied"
)

// userError is a tool failure with a message for the user. Returned from a
// typed tool handler, it becomes a result with IsError set and the message
// as its text.
type userError struct{ msg string }

func (e *userError) Error() string { return e.msg }

// failf returns a userError.
func failf(format string, args ...any) error {
	return &userError{fmt.Sprintf(format, args...)}
}

// invalid is a userError about one input field.
func invalid(field, format string, args ...any) error {
	return userErrorFor(sage.Invalidf(field, format, args...), "")
}

// fail maps a Service error to a userError. notFound is the message for
// sage.ErrNotFound (empty: a generic one). Internal errors are logged and
// reduced to a generic message: their text never reaches the client.
func (h *handlers) fail(ctx context.Context, op string, err error, notFound string) error {
	var ue *userError
	switch {
	case errors.As(err, &ue):
		return ue
	case errors.Is(err, sage.ErrInvalid),
		errors.Is(err, sage.ErrNotFound),
		errors.Is(err, sage.ErrUnavailable),
		errors.Is(err, sage.ErrEmbedder):
		return userErrorFor(err, notFound)
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return &userError{msgCanceled}
	}
	h.log.ErrorContext(ctx, "mcp tool failed", "op", op, "namespace", sage.NamespaceFrom(ctx), "error", err)
	return &userError{msgInternal}
}

// userErrorFor turns a sentinel or input error into a user message.
func userErrorFor(err error, notFound string) *userError {
	var ie *sage.InputError
	switch {
	case errors.As(err, &ie):
		if ie.Field == "" {
			return &userError{"invalid input: " + ie.Message}
		}
		return &userError{fmt.Sprintf("invalid %s: %s", ie.Field, ie.Message)}
	case errors.Is(err, sage.ErrInvalid):
		return &userError{"invalid input"}
	case errors.Is(err, sage.ErrNotFound):
		if notFound == "" {
			notFound = "not found in this namespace"
		}
		return &userError{notFound}
	case errors.Is(err, sage.ErrUnavailable):
		return &userError{msgUnavailable}
	case errors.Is(err, sage.ErrEmbedder):
		// Embedder errors are written for users and never hold secrets.
		return &userError{fmt.Sprintf("the embedding provider failed (%v); check the SAGE_EMBED_* settings, or search with mode=keyword — the call was not applied", err)}
	}
	return &userError{msgInternal}
}

// parseTime reads an RFC 3339 time ("2026-01-02T15:04:05Z",
// "2026-01-02T15:04:05+08:00") or a plain date ("2026-01-02", midnight UTC;
// with endOfDay, the last instant of that day, so that until=<date>
// includes the whole day). Empty is the zero time.
func parseTime(field, s string, endOfDay bool) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t, nil
	}
	if t, err := time.Parse(time.DateOnly, s); err == nil {
		if endOfDay {
			t = t.Add(24*time.Hour - time.Nanosecond)
		}
		return t, nil
	}
	return time.Time{}, invalid(field, "%q is not a time: use RFC 3339 (2026-01-02T15:04:05Z or with an offset, +08:00) or a date (2026-01-02)", truncate(s, 64))
}

// truncate cuts s to at most n bytes at a rune boundary.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && s[n]&0xC0 == 0x80 {
		n--
	}
	return s[:n] + "…"
}
