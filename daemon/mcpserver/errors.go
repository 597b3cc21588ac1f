package mcpserver

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/modelcontextprotocol/go-sdk/jsonrpc"
	"github.com/modelcontextprotocol/go-sdk/mcp"

	sage "github.com/sage-mcp/sage/daemon"
	"github.com/sage-mcp/sage/shared/textcut"
)

// Messages of failures that are not about the input.
const (
	msgUnavailable = "the Sage database is unavailable; check that PostgreSQL is running (docker compose ps) — the call was not applied"
	msgInternal    = "internal error in the Sage daemon (see its log) — the call was not applied"
	msgCanceled    = "the call was canceled or timed out before it finished — it was not applied"
)

// userError is a tool failure with a message for the user. Returned from a
// typed tool handler, it becomes a result with IsError set and the message
// as its text. From a prompt or resource handler, protocolErrors makes it
// a JSON-RPC error with code (0: jsonrpc.CodeInternalError).
type userError struct {
	msg  string
	code int64
}

func (e *userError) Error() string { return e.msg }

// failf returns a userError about the request (JSON-RPC invalid params).
func failf(format string, args ...any) error {
	return &userError{msg: fmt.Sprintf(format, args...), code: jsonrpc.CodeInvalidParams}
}

// invalid is a userError about one input field.
func invalid(field, format string, args ...any) error {
	return userErrorFor(sage.Invalidf(field, format, args...), "")
}

// fail maps a Service error to a userError. notFound is the message for
// sage.ErrNotFound (empty: a generic one). Internal errors are logged and
// reduced to a generic message: their text never reaches the client.
//
// A call whose context ended (the client canceled it, or went away) fails
// with whatever error the database gives then ("canceling statement due
// to user request", …): that is logged at debug level, not as an error.
func (h *handlers) fail(ctx context.Context, op string, err error, notFound string) error {
	var ue *userError
	switch {
	case errors.As(err, &ue):
		return ue
	case errors.Is(err, sage.ErrInvalid), errors.Is(err, sage.ErrNotFound):
		return userErrorFor(err, notFound)
	case ctx.Err() != nil, errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		h.log.DebugContext(ctx, "mcp call canceled", "op", op, "namespace", sage.NamespaceFrom(ctx), "error", err)
		return &userError{msg: msgCanceled, code: jsonrpc.CodeInternalError}
	case errors.Is(err, sage.ErrUnavailable), errors.Is(err, sage.ErrEmbedder):
		return userErrorFor(err, notFound)
	}
	h.log.ErrorContext(ctx, "mcp tool failed", "op", op, "namespace", sage.NamespaceFrom(ctx), "error", err)
	return &userError{msg: msgInternal, code: jsonrpc.CodeInternalError}
}

// userErrorFor turns a sentinel or input error into a user message.
func userErrorFor(err error, notFound string) *userError {
	var ie *sage.InputError
	switch {
	case errors.As(err, &ie):
		if ie.Field == "" {
			return &userError{msg: "invalid input: " + ie.Message, code: jsonrpc.CodeInvalidParams}
		}
		return &userError{msg: fmt.Sprintf("invalid %s: %s", ie.Field, ie.Message), code: jsonrpc.CodeInvalidParams}
	case errors.Is(err, sage.ErrInvalid):
		return &userError{msg: "invalid input", code: jsonrpc.CodeInvalidParams}
	case errors.Is(err, sage.ErrNotFound):
		if notFound == "" {
			notFound = "not found in this namespace"
		}
		return &userError{msg: notFound, code: jsonrpc.CodeInvalidParams}
	case errors.Is(err, sage.ErrUnavailable):
		return &userError{msg: msgUnavailable, code: jsonrpc.CodeInternalError}
	case errors.Is(err, sage.ErrEmbedder):
		// Embedder errors are written for users and never hold secrets.
		return &userError{msg: fmt.Sprintf("the embedding provider failed (%v); check the SAGE_EMBED_* settings, or search with mode=keyword — the call was not applied", err),
			code: jsonrpc.CodeInternalError}
	}
	return &userError{msg: msgInternal, code: jsonrpc.CodeInternalError}
}

// protocolErrors is a receiving middleware: a userError that reaches the
// protocol (from prompts/get or resources/read; tool handlers' errors are
// results with IsError) becomes a JSON-RPC error with its code, where the
// SDK would send code 0: invalid params (-32602) for bad input and
// unknown names, internal error (-32603) for failures of the daemon.
func protocolErrors(next mcp.MethodHandler) mcp.MethodHandler {
	return func(ctx context.Context, method string, req mcp.Request) (mcp.Result, error) {
		res, err := next(ctx, method, req)
		var ue *userError
		if err != nil && errors.As(err, &ue) {
			code := ue.code
			if code == 0 {
				code = jsonrpc.CodeInternalError
			}
			return res, &jsonrpc.Error{Code: code, Message: ue.msg}
		}
		return res, err
	}
}

// logLevels are the levels of logging/setLevel (RFC 5424's, as MCP names
// them).
var logLevels = []mcp.LoggingLevel{"debug", "info", "notice", "warning", "error", "critical", "alert", "emergency"}

// checkLogLevel is a receiving middleware that answers logging/setLevel
// with an unknown level with invalid params (-32602); the SDK accepts any
// string.
func checkLogLevel(next mcp.MethodHandler) mcp.MethodHandler {
	return func(ctx context.Context, method string, req mcp.Request) (mcp.Result, error) {
		if method == "logging/setLevel" {
			p, _ := req.GetParams().(*mcp.SetLoggingLevelParams)
			if p == nil || !slices.Contains(logLevels, p.Level) {
				level := ""
				if p != nil {
					level = textcut.Bytes(string(p.Level), 64, textcut.Ellipsis)
				}
				names := make([]string, len(logLevels))
				for i, l := range logLevels {
					names[i] = string(l)
				}
				return nil, &jsonrpc.Error{Code: jsonrpc.CodeInvalidParams,
					Message: fmt.Sprintf("invalid level %q: want one of %s", level, strings.Join(names, ", "))}
			}
		}
		return next(ctx, method, req)
	}
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
	return time.Time{}, invalid(field, "%q is not a time: use RFC 3339 (2026-01-02T15:04:05Z or with an offset, +08:00) or a date (2026-01-02)", textcut.Bytes(s, 64, textcut.Ellipsis))
}
