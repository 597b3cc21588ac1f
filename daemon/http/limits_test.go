package http_test

import (
	"bufio"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	sage "github.com/sage-mcp/sage/daemon"
	sagehttp "github.com/sage-mcp/sage/daemon/http"
	"github.com/sage-mcp/sage/daemon/metrics"
)

// MustLimitedServer serves a Server with opts (no database) behind a
// LimitListener of max connections, as sage-daemon serve does, and returns
// its address.
func MustLimitedServer(t testing.TB, opts sagehttp.Options, max int) string {
	t.Helper()
	hs := httptest.NewUnstartedServer(sagehttp.New(opts))
	hs.Listener = sagehttp.LimitListener(hs.Listener, max)
	hs.Config.ConnContext = sagehttp.ConnContext
	hs.Start()
	t.Cleanup(hs.Close)
	return hs.Listener.Addr().String()
}

// MustDial opens a raw TCP connection to addr, closed when t ends.
func MustDial(t testing.TB, addr string) net.Conn {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// MustRoundTrip sends a request without a body on c and reads the answer.
func MustRoundTrip(t testing.TB, c net.Conn, br *bufio.Reader, method, path string) (*http.Response, string) {
	t.Helper()
	if _, err := io.WriteString(c, method+" "+path+" HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	_ = c.SetReadDeadline(time.Now().Add(30 * time.Second))
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

// TestSlowBodyIsCut: a client that trickles a request body is cut off
// once it has taken the read time, and its connection closed.
func TestSlowBodyIsCut(t *testing.T) {
	t.Parallel()
	const bound = 300 * time.Millisecond
	addr := MustLimitedServer(t, sagehttp.Options{ReadTimeout: bound}, 100)
	c := MustDial(t, addr)
	start := time.Now()
	if _, err := io.WriteString(c, "POST /register HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n{"); err != nil {
		t.Fatal(err)
	}
	stop := make(chan struct{})
	defer close(stop)
	go func() { // one byte every 50 ms, as long as the server takes them
		tick := time.NewTicker(50 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-stop:
				return
			case <-tick.C:
				if _, err := c.Write([]byte(" ")); err != nil {
					return
				}
			}
		}
	}()
	// The server answers (or not) and closes the connection: read to EOF.
	_ = c.SetReadDeadline(time.Now().Add(20 * time.Second))
	_, err := io.ReadAll(c)
	elapsed := time.Since(start)
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		t.Fatalf("the slow body still held the connection after %v", elapsed)
	}
	if elapsed < bound {
		t.Fatalf("cut after %v, before the bound %v", elapsed, bound)
	}
}

// TestBodyTimeCountsOnlyWaiting: a handler that works longer than the read
// time after the body is in, and a long response, are not cut.
func TestBodyTimeCountsOnlyWaiting(t *testing.T) {
	t.Parallel()
	const bound = 200 * time.Millisecond
	addr := MustLimitedServer(t, sagehttp.Options{ReadTimeout: bound, NoAuth: true,
		MCP: func(sage.Service, *metrics.Registry) http.Handler {
			return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				b, err := io.ReadAll(r.Body)
				if err != nil {
					http.Error(w, err.Error(), 400)
					return
				}
				w.WriteHeader(200)
				_, _ = w.Write(b)
				http.NewResponseController(w).Flush()
				select { // a long stream: outlive the read time
				case <-time.After(3 * bound):
					_, _ = io.WriteString(w, " done")
				case <-r.Context().Done():
				}
			})
		}}, 100)
	resp, err := http.Post("http://"+addr+"/mcp", "application/json", strings.NewReader(`{"x":1}`))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil || string(b) != `{"x":1} done` {
		t.Fatalf("body %q, err %v", b, err)
	}
}

// TestConnectionCap: at the connection cap, /healthz still answers on a
// reserve connection while other paths get 503, and beyond the reserve
// new connections are closed at once.
func TestConnectionCap(t *testing.T) {
	t.Parallel()
	addr := MustLimitedServer(t, sagehttp.Options{}, 2)
	// Two connections take the two places (each answered, so accepted).
	for i := 0; i < 2; i++ {
		c := MustDial(t, addr)
		if resp, _ := MustRoundTrip(t, c, bufio.NewReader(c), "GET", "/healthz"); resp.StatusCode != 200 {
			t.Fatalf("connection %d: /healthz %d", i, resp.StatusCode)
		}
	}
	tests := []struct {
		path       string
		wantStatus int
		wantBody   string
	}{
		{"/api/v1/status", 503, "SAGE_MAX_CONNECTIONS"},
		{"/healthz", 200, `"ok"`},
		{"/readyz", 503, "database"}, // answered, though not ready
	}
	for _, tt := range tests {
		c := MustDial(t, addr)
		resp, body := MustRoundTrip(t, c, bufio.NewReader(c), "GET", tt.path)
		if resp.StatusCode != tt.wantStatus || !strings.Contains(body, tt.wantBody) || !resp.Close {
			t.Errorf("%s at the cap: %d %q (close %v), want %d %q and the connection closed", tt.path, resp.StatusCode, body, resp.Close, tt.wantStatus, tt.wantBody)
		}
	}
	// Fill the reserve with silent connections; the next one is closed.
	for i := 0; i < sagehttp.HealthReserve; i++ {
		MustDial(t, addr)
	}
	c := MustDial(t, addr)
	_ = c.SetReadDeadline(time.Now().Add(20 * time.Second))
	if n, err := c.Read(make([]byte, 1)); !errors.Is(err, io.EOF) && !errors.Is(err, net.ErrClosed) && !isReset(err) {
		t.Fatalf("beyond the reserve: read %d, %v; want the connection closed", n, err)
	}
}

func isReset(err error) bool {
	return err != nil && strings.Contains(err.Error(), "connection reset")
}
