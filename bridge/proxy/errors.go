package proxy

// Upstream failures and the error texts the client gets for them, each
// with the URL and a fix; the token never appears.

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"

	"github.com/sage-mcp/sage/shared/textcut"
)

var (
	// errSessionGone: the daemon answered 404 for our session id.
	errSessionGone = errors.New("session expired")
	// errLost: the response stream ended before the response.
	errLost = errors.New("connection lost before the response")
)

// statusError is an HTTP error answer from the daemon.
type statusError struct {
	code int
	body string
}

func (e *statusError) Error() string {
	if e.body == "" {
		return fmt.Sprintf("HTTP %d %s", e.code, http.StatusText(e.code))
	}
	return fmt.Sprintf("HTTP %d %s: %s", e.code, http.StatusText(e.code), e.body)
}

func isCtxErr(err error) bool {
	return errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)
}

func readStatusError(resp *http.Response) error {
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	return &statusError{code: resp.StatusCode, body: excerpt(b)}
}

// excerpt quotes an answer of the daemon in an error text.
func excerpt(b []byte) string { return textcut.Excerpt(string(b), maxExcerpt) }

// maxExcerpt bounds the bytes of an answer quoted to the client.
const maxExcerpt = 200

// unreachableError: the daemon could not be reached (or the connection
// failed) until the deadline.
type unreachableError struct {
	cause error
	sent  bool // the request may have reached the daemon
}

func (e *unreachableError) Error() string { return e.cause.Error() }

func (e *unreachableError) Unwrap() error { return e.cause }

func codeOf(err error) int {
	var se *statusError
	var ue *unreachableError
	switch {
	case errors.As(err, &se) && (se.code == http.StatusUnauthorized || se.code == http.StatusForbidden):
		return CodeUnauthorized
	case errors.As(err, &se):
		return CodeUpstream
	case errors.As(err, &ue):
		if ue.sent {
			return CodeConnectionLost
		}
		return CodeUnavailable
	case errors.Is(err, errLost):
		return CodeConnectionLost
	case errors.Is(err, context.DeadlineExceeded):
		return CodeTimeout
	}
	return CodeInternalError
}

func (b *Bridge) errorFor(ctx context.Context, e envelope, err error) []byte {
	if errors.Is(context.Cause(ctx), errCancelledByClient) {
		return errorResponse(e.ID, CodeCancelled, "request cancelled by the client")
	}
	var ue *unreachableError
	if ctx.Err() != nil && b.ctx.Err() == nil && !errors.As(err, &ue) {
		err = context.DeadlineExceeded
	}
	return errorResponse(e.ID, codeOf(err), b.describe(err, e.Method))
}

// describe turns an upstream failure into a message with a fix. It never
// contains the token.
func (b *Bridge) describe(err error, method string) string {
	u := b.opts.URL
	var se *statusError
	var ue *unreachableError
	switch {
	case errors.As(err, &se) && (se.code == http.StatusUnauthorized || se.code == http.StatusForbidden):
		return fmt.Sprintf("Sage daemon at %s rejected the token (HTTP %d): set SAGE_TOKEN, or token/token_file in the Sage config file, to a valid token (check with `sage-bridge doctor`)", u, se.code)
	case errors.As(err, &se) && se.code == http.StatusNotFound:
		return fmt.Sprintf("Sage daemon at %s answered 404 Not Found: is the URL right (it ends in /mcp)? Check with `sage-bridge doctor`", u)
	case errors.As(err, &se):
		return fmt.Sprintf("Sage daemon at %s answered %s", u, se.Error())
	case errors.As(err, &ue) && ue.sent:
		return fmt.Sprintf("connection to the Sage daemon at %s failed during %s: %s; the call may or may not have run, and it was not retried because it is not idempotent", u, method, shortCause(ue.cause))
	case errors.As(err, &ue):
		return fmt.Sprintf("Sage daemon unreachable at %s: %s (is it running? `docker compose up -d`; check with `sage-bridge doctor`)", u, shortCause(ue.cause))
	case errors.Is(err, errLost):
		return fmt.Sprintf("connection to the Sage daemon at %s broke during %s before the response (%s); the call may or may not have run", u, method, shortCause(err))
	case errors.Is(err, context.DeadlineExceeded):
		return fmt.Sprintf("Sage daemon at %s did not answer %s within %s", u, method, b.opts.RequestTimeout)
	}
	return fmt.Sprintf("forwarding %s to the Sage daemon at %s failed: %s", method, u, shortCause(err))
}

// shortCause strips url.Error's "Post \"…\":" prefix and names the common
// network failures plainly.
func shortCause(err error) string {
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	switch {
	case IsConnRefused(err):
		return "connection refused"
	case errors.Is(err, context.DeadlineExceeded):
		return "timed out"
	}
	var dns *net.DNSError
	if errors.As(err, &dns) {
		return "cannot resolve host " + dns.Name
	}
	return err.Error()
}
