package proxy

// The retry policy of upstream requests: what is retried, how long to wait,
// and which connection errors end a request at once.

import (
	"context"
	"errors"
	"math/rand/v2"
	"net"
	"net/http"
	"runtime"
	"syscall"
	"time"

	"github.com/hashicorp/go-retryablehttp"
)

// attempt carries per-request retry facts through the request context to
// checkRetry.
type attempt struct {
	idempotent func() bool // nil: not idempotent
	lastErr    error
	// failFast: a refused connection is not retried (the first
	// initialize: nothing listens, so the cache answers at once).
	failFast bool
}

func (a *attempt) idem() bool { return a.idempotent != nil && a.idempotent() }

type attemptKey struct{}

// failFastKey, set in a request's context, makes a refused connection end
// the request at once instead of being retried until its deadline.
type failFastKey struct{}

// checkRetry is the retry policy: connection errors, 429, 502, 503 and 504
// are retried until the request's deadline, but a request that may have
// reached the daemon is only sent again when it is idempotent.
func checkRetry(ctx context.Context, resp *http.Response, err error) (bool, error) {
	if ctx.Err() != nil {
		return false, ctx.Err()
	}
	a, _ := ctx.Value(attemptKey{}).(*attempt)
	if a == nil {
		a = &attempt{}
	}
	if err != nil {
		a.lastErr = err
		if a.failFast && IsConnRefused(err) {
			return false, nil
		}
		return neverSent(err) || a.idem(), nil
	}
	switch resp.StatusCode {
	case http.StatusTooManyRequests:
		// Rejected before any work was done.
		a.lastErr = &statusError{code: resp.StatusCode}
		return true, nil
	case http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		a.lastErr = &statusError{code: resp.StatusCode}
		return a.idem(), nil
	}
	return false, nil
}

// neverSent reports whether err proves the request never reached the
// server: the connection could not be made.
func neverSent(err error) bool {
	var op *net.OpError
	if errors.As(err, &op) && op.Op == "dial" {
		return true
	}
	return IsConnRefused(err)
}

// wsaeconnrefused is Windows' "connection refused" (WSAECONNREFUSED), which
// syscall.ECONNREFUSED does not match there.
const wsaeconnrefused = 10061

// IsConnRefused reports whether err is a refused connection, on any OS.
func IsConnRefused(err error) bool {
	var errno syscall.Errno
	if errors.As(err, &errno) {
		return errno == syscall.ECONNREFUSED || (runtime.GOOS == "windows" && errno == wsaeconnrefused)
	}
	return false
}

// jitterBackoff is retryablehttp's exponential backoff (which honours
// Retry-After on 429 and 503) with equal jitter.
func jitterBackoff(min, max time.Duration, attemptNum int, resp *http.Response) time.Duration {
	d := retryablehttp.DefaultBackoff(min, max, attemptNum, resp)
	if d <= 0 {
		return 0
	}
	half := d / 2
	return half + rand.N(half+1)
}

// waitBackoff waits the jittered backoff between lo and hi before retry n
// (capped at the 10th step) and reports whether it did; false means ctx
// ended first.
func waitBackoff(ctx context.Context, lo, hi time.Duration, n int) bool {
	t := time.NewTimer(jitterBackoff(lo, hi, min(n, 10), nil))
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}
