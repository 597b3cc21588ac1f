// Package proxy is sage-bridge's forwarding engine: it serves MCP on a
// newline-delimited JSON-RPC stream (Claude Code's stdio transport) and
// forwards every message to the daemon's Streamable HTTP endpoint (MCP
// transport 2025-03-26 / 2025-06-18).
//
// Messages travel with their bytes unchanged: the bridge parses only the
// envelope (jsonrpc, id, method) and keeps ids and params as raw JSON. An id
// that a float64-based decoder could alter (1.5, 9007199254740993, 1e3) is
// replaced by a bridge id upstream and restored on the response, so the
// client always gets its id back byte for byte.
//
// The bridge never exits because of the daemon: when the daemon is down at
// start it answers initialize from a cached (or built-in) InitializeResult,
// keeps reconnecting, and announces the tools with
// notifications/tools/list_changed once the daemon is back. A 404 on a known
// session re-initializes transparently. Every request gets exactly one
// response within Options.RequestTimeout. Retries use jittered backoff and
// never send a non-idempotent call twice.
package proxy

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/go-retryablehttp"
)

// Defaults and limits of Options.
const (
	DefaultRequestTimeout  = 60 * time.Second
	DefaultInitTimeout     = 500 * time.Millisecond
	DefaultShutdownTimeout = time.Second
	// DefaultMaxLineSize bounds one message read from stdin.
	DefaultMaxLineSize = 4 << 20
	// DefaultMaxMessageSize bounds one message read from the daemon.
	DefaultMaxMessageSize = 64 << 20
)

// Headers carrying the session's defaults to the daemon (see
// Options.Project).
const (
	HeaderProject = "X-Sage-Project"
	HeaderSession = "X-Sage-Session"
	// MaxDefaultBytes bounds a default sent in a header (the daemon's limit
	// of a project or session id).
	MaxDefaultBytes = 256
)

// Options configure a Bridge. URL is required; zero values elsewhere mean
// the defaults.
type Options struct {
	// URL is the daemon's MCP endpoint, e.g. http://127.0.0.1:17800/mcp.
	URL string
	// Token, when set, is sent as "Authorization: Bearer <token>". It is
	// never logged.
	Token string
	// Logger receives diagnostics; nil means silent.
	Logger *slog.Logger
	// RequestTimeout bounds each request from receipt to response.
	RequestTimeout time.Duration
	// InitTimeout bounds the first upstream initialize attempt; after it
	// the bridge answers from the cache and keeps trying in the background.
	InitTimeout time.Duration
	// ShutdownTimeout bounds the session DELETE on exit.
	ShutdownTimeout time.Duration
	// DrainTimeout is how long requests in flight may still finish after
	// stdin ends (default 2 s); a signal cancels them at once.
	DrainTimeout time.Duration
	// MaxLineSize bounds a message on stdin; longer lines get an error.
	MaxLineSize int
	// MaxMessageSize bounds a message from the daemon.
	MaxMessageSize int
	// CacheFile keeps the last InitializeResult and tools list; "" disables
	// the cache (see DefaultCacheFile).
	CacheFile string
	// HTTPClient is used for upstream calls; nil means a pooled keep-alive
	// client.
	HTTPClient *http.Client
	// RetryWaitMin and RetryWaitMax bound the jittered backoff between
	// retries (defaults 50 ms and 1 s).
	RetryWaitMin, RetryWaitMax time.Duration
	// Version is reported in the built-in InitializeResult.
	Version string
	// Project and SessionID, when set, are sent on every POST as the
	// HeaderProject and HeaderSession headers: the defaults the daemon uses
	// for tool calls that name no project or session. Values that are not
	// valid header values (control characters, invalid UTF-8, longer than
	// MaxDefaultBytes) are not sent.
	Project, SessionID string
	// ConfigError, when set, is a configuration problem that prevents
	// forwarding: the bridge still answers initialize (so the client shows
	// the server) and answers every other request with this error, instead
	// of exiting. URL may then be empty.
	ConfigError error
}

func (o *Options) setDefaults() {
	positiveOr(&o.RequestTimeout, DefaultRequestTimeout)
	positiveOr(&o.InitTimeout, DefaultInitTimeout)
	positiveOr(&o.ShutdownTimeout, DefaultShutdownTimeout)
	positiveOr(&o.DrainTimeout, 2*time.Second)
	positiveOr(&o.MaxLineSize, DefaultMaxLineSize)
	positiveOr(&o.MaxMessageSize, DefaultMaxMessageSize)
	positiveOr(&o.RetryWaitMin, 50*time.Millisecond)
	positiveOr(&o.RetryWaitMax, time.Second)
	if o.Version == "" {
		o.Version = "dev"
	}
}

// positiveOr sets *v to def unless *v is positive.
func positiveOr[T int | int64 | time.Duration](v *T, def T) {
	if *v <= 0 {
		*v = def
	}
}

// NewHTTPClient returns the keep-alive HTTP client the bridge uses by
// default.
func NewHTTPClient() *http.Client {
	return &http.Client{Transport: &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          64,
		MaxIdleConnsPerHost:   64,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   5 * time.Second,
		ExpectContinueTimeout: time.Second,
	}}
}

// session is one upstream MCP session. Its fields are fixed once published,
// except initializedSent, which Bridge.mu guards.
type session struct {
	id              string // Mcp-Session-Id; "" for a stateless server
	protocol        string // negotiated protocol version
	ctx             context.Context
	cancel          context.CancelFunc
	initializedSent bool
}

// call is a client request in flight.
type call struct {
	clientID json.RawMessage
	upID     json.RawMessage
	sent     atomic.Bool
	cancel   context.CancelCauseFunc
}

var errCancelledByClient = errors.New("cancelled by the client")

// Bridge forwards one client connection. Use Serve.
type Bridge struct {
	opts Options
	log  *slog.Logger
	// project and sessionID are Options.Project and SessionID when they
	// are valid header values.
	project, sessionID string
	rc                 *retryablehttp.Client
	plain              *http.Client
	cache              *cache
	tools              toolTable

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	out      chan []byte
	quit     chan struct{}
	writerOK chan struct{} // closed when the writer stops
	notes    chan note     // client notifications, forwarded in order

	nextID atomic.Uint64

	mu         sync.Mutex
	initMsg    []byte // the client's initialize request
	sess       *session
	ready      chan struct{} // closed when sess != nil
	connecting bool
	lastErr    error
	refused    bool // lastErr is a refused connection
	// downAtStart: a request before initialize found the daemon down or
	// hung, so initialize and list requests do not wait for it.
	downAtStart bool
	pending     map[string]*call

	stopMu  sync.Mutex
	stopped bool // set when Serve winds down: dispatch starts nothing new
}

// New returns a Bridge for opts.
func New(opts Options) (*Bridge, error) {
	if opts.URL == "" && opts.ConfigError == nil {
		return nil, errors.New("new bridge: no daemon URL")
	}
	opts.setDefaults()
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	hc := opts.HTTPClient
	if hc == nil {
		hc = NewHTTPClient()
	}
	b := &Bridge{
		opts:     opts,
		log:      log,
		plain:    hc,
		out:      make(chan []byte, 256),
		quit:     make(chan struct{}),
		writerOK: make(chan struct{}),
		notes:    make(chan note, 256),
		ready:    make(chan struct{}),
		pending:  make(map[string]*call),
	}
	b.project, b.sessionID = headerValue(opts.Project), headerValue(opts.SessionID)
	if b.project != opts.Project && opts.Project != "" {
		log.Warn("project name not sent to the daemon: not a valid header value", "project", opts.Project)
	}
	b.rc = &retryablehttp.Client{
		HTTPClient:   hc,
		RetryWaitMin: opts.RetryWaitMin,
		RetryWaitMax: opts.RetryWaitMax,
		RetryMax:     1 << 30, // the request's deadline ends the retries
		CheckRetry:   checkRetry,
		Backoff:      jitterBackoff,
	}
	c, err := loadCache(opts.CacheFile, opts.URL)
	if err != nil {
		log.Warn("bridge cache unusable", "err", err)
	}
	b.cache = c
	return b, nil
}

// Serve runs a bridge with opts on the given streams until in reaches EOF,
// ctx is done or out fails. Daemon failures never end it.
func Serve(ctx context.Context, in io.Reader, out io.Writer, opts Options) error {
	b, err := New(opts)
	if err != nil {
		return err
	}
	return b.Serve(ctx, in, out)
}

// note is a client notification waiting to be forwarded.
type note struct {
	method string
	msg    []byte
}

type line struct {
	data    []byte
	tooLong bool
	id      json.RawMessage // the id of a tooLong line, if it was found
}

// Serve reads messages from in and writes messages to out until in reaches
// EOF, ctx is done or writing out fails. On the way out it deletes the
// upstream session, bounded by Options.ShutdownTimeout.
func (b *Bridge) Serve(ctx context.Context, in io.Reader, out io.Writer) error {
	b.ctx, b.cancel = context.WithCancel(ctx)
	defer b.cancel()
	go b.writeLoop(out)
	go b.noteLoop()

	readDone := make(chan error, 1)
	go func() {
		readDone <- readLines(in, b.opts.MaxLineSize, func(l line) {
			b.stopMu.Lock()
			defer b.stopMu.Unlock()
			if !b.stopped {
				b.dispatch(l)
			}
		})
	}()

	var end error
	select {
	case <-b.ctx.Done():
		end = ctx.Err()
	case <-b.writerOK:
		end = errors.New("serve: stdout closed")
	case err := <-readDone:
		if !errors.Is(err, io.EOF) {
			end = fmt.Errorf("serve: read stdin: %w", err)
		}
	}
	b.stopMu.Lock()
	b.stopped = true // no more handlers start
	b.stopMu.Unlock()
	b.log.Debug("bridge stopping", "reason", end)
	if end == nil && b.ctx.Err() == nil {
		// stdin ended: let requests in flight finish briefly.
		b.waitHandlers(b.opts.DrainTimeout)
	}
	b.cancel()
	b.waitHandlers(200 * time.Millisecond)
	b.deleteSession()
	close(b.quit)
	<-b.writerOK
	if errors.Is(end, context.Canceled) {
		end = nil
	}
	return end
}

func (b *Bridge) waitHandlers(d time.Duration) {
	done := make(chan struct{})
	go func() { b.wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(d):
	}
}

// readLines reads newline-delimited messages and calls fn with each; a
// line over max is reported as tooLong (its content discarded, only its
// top-level id kept, found by an idScanner as it streams by) and reading
// goes on. It returns the read error that ended it (io.EOF at the end).
func readLines(in io.Reader, max int, fn func(line)) error {
	r := bufio.NewReaderSize(in, 64<<10)
	var buf []byte
	var scan *idScanner // set while a too-long line is skipped
	for {
		chunk, err := r.ReadSlice('\n')
		if len(chunk) > 0 {
			switch {
			case scan != nil:
				scan.Feed(chunk)
			case len(buf)+len(chunk) > max+2: // +2 for "\r\n"
				scan = &idScanner{}
				scan.Feed(buf)
				scan.Feed(chunk)
				buf = nil
			default:
				buf = append(buf, chunk...)
			}
		}
		if errors.Is(err, bufio.ErrBufferFull) {
			continue
		}
		if len(buf) > 0 || scan != nil {
			l := line{data: bytes.TrimSpace(buf)}
			if scan == nil && len(l.data) > max {
				scan = &idScanner{}
				scan.Feed(l.data)
			}
			if scan != nil {
				l = line{tooLong: true, id: scan.ID()}
			}
			if len(l.data) > 0 || l.tooLong {
				fn(l)
			}
		}
		buf, scan = nil, nil
		if err != nil {
			return err
		}
	}
}

// send queues one message for stdout.
func (b *Bridge) send(msg []byte) {
	msg = oneLine(msg)
	if msg == nil {
		return
	}
	select {
	case b.out <- msg:
	case <-b.writerOK:
	}
}

// writeLoop is the only writer of stdout: whole lines, flushed when no
// other message is waiting.
func (b *Bridge) writeLoop(w io.Writer) {
	defer close(b.writerOK)
	bw := bufio.NewWriterSize(w, 64<<10)
	write := func(msg []byte) bool {
		bw.Write(msg)
		bw.WriteByte('\n')
		if len(b.out) == 0 {
			if err := bw.Flush(); err != nil {
				b.log.Error("write stdout", "err", err)
				return false
			}
		}
		return true
	}
	for {
		select {
		case msg := <-b.out:
			if !write(msg) {
				return
			}
		case <-b.quit:
			for {
				select {
				case msg := <-b.out:
					if !write(msg) {
						return
					}
				default:
					bw.Flush()
					return
				}
			}
		}
	}
}

// dispatch validates one line and starts its handling.
func (b *Bridge) dispatch(l line) {
	if l.tooLong {
		b.log.Warn("message over the size limit dropped", "limit", b.opts.MaxLineSize)
		b.send(errorResponse(l.id, CodeInvalidRequest, fmt.Sprintf("message larger than the %d byte limit", b.opts.MaxLineSize)))
		return
	}
	data := l.data
	if data[0] != '{' {
		if data[0] == '[' && json.Valid(data) {
			b.send(errorResponse(nil, CodeInvalidRequest, "batch requests are not supported"))
			return
		}
		if !json.Valid(data) {
			b.log.Warn("invalid JSON on stdin", "bytes", len(data))
			b.send(errorResponse(nil, CodeParseError, "parse error: invalid JSON"))
			return
		}
		b.send(errorResponse(nil, CodeInvalidRequest, "invalid request: not a JSON object"))
		return
	}
	var e envelope
	if err := json.Unmarshal(data, &e); err != nil {
		if !json.Valid(data) {
			b.log.Warn("invalid JSON on stdin", "bytes", len(data))
			b.send(errorResponse(nil, CodeParseError, "parse error: invalid JSON"))
			return
		}
		var m map[string]json.RawMessage
		_ = json.Unmarshal(data, &m)
		id := m["id"]
		if !validID(id) {
			id = nil
		}
		b.send(errorResponse(id, CodeInvalidRequest, "invalid request: "+err.Error()))
		return
	}
	if hasID(e.ID) && !validID(e.ID) {
		b.send(errorResponse(nil, CodeInvalidRequest, "invalid request: id must be a string or a number"))
		return
	}
	if e.JSONRPC != "2.0" {
		b.send(errorResponse(e.ID, CodeInvalidRequest, `invalid request: "jsonrpc" must be "2.0"`))
		return
	}
	if b.opts.ConfigError != nil {
		b.answerConfigError(e)
		return
	}
	switch e.kind() {
	case kindRequest:
		b.wg.Add(1)
		if e.Method == "initialize" {
			go func() {
				defer b.wg.Done()
				b.handleInitialize(e, data)
			}()
			return
		}
		ctx, c, done := b.startCall(e)
		go func() {
			defer b.wg.Done()
			defer done()
			b.handleRequest(ctx, c, e, data)
		}()
	case kindNotification:
		if e.Method == "notifications/cancelled" {
			data = b.translateCancel(e, data)
			if data == nil {
				return
			}
		}
		select {
		case b.notes <- note{method: e.Method, msg: data}:
		default:
			b.log.Warn("notification queue full, dropped", "method", e.Method)
		}
	case kindResponse:
		b.wg.Add(1)
		go func() {
			defer b.wg.Done()
			b.forwardClientResponse(data)
		}()
	default:
		b.send(errorResponse(e.ID, CodeInvalidRequest, "invalid request: neither a request, a notification nor a response"))
	}
}

// newID returns a fresh upstream id for requests the bridge makes or whose
// client id is not portable.
func (b *Bridge) newID(prefix string) json.RawMessage {
	n := b.nextID.Add(1)
	return json.RawMessage(`"sage-bridge-` + prefix + strconv.FormatUint(n, 10) + `"`)
}

func (b *Bridge) track(id json.RawMessage, c *call) func() {
	key := string(id)
	b.mu.Lock()
	b.pending[key] = c
	b.mu.Unlock()
	return func() {
		b.mu.Lock()
		if b.pending[key] == c {
			delete(b.pending, key)
		}
		b.mu.Unlock()
	}
}

// translateCancel ends the cancelled request locally (it is answered with
// CodeCancelled) and maps notifications/cancelled to the request's upstream
// id; for a request not yet sent it returns nil: nothing to forward.
func (b *Bridge) translateCancel(e envelope, data []byte) []byte {
	var p struct {
		RequestID json.RawMessage `json:"requestId"`
		Reason    json.RawMessage `json:"reason"`
	}
	if json.Unmarshal(e.Params, &p) != nil || !hasID(p.RequestID) {
		return data
	}
	b.mu.Lock()
	c := b.pending[string(p.RequestID)]
	b.mu.Unlock()
	if c == nil {
		return data
	}
	// Stop waiting either way: the client ignores any later answer, and a
	// call still retrying its connection must not run after all.
	c.cancel(errCancelledByClient)
	if !c.sent.Load() {
		return nil
	}
	if bytes.Equal(c.upID, c.clientID) {
		return data
	}
	msg := []byte(`{"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":`)
	msg = append(msg, c.upID...)
	if len(p.Reason) > 0 {
		msg = append(msg, `,"reason":`...)
		msg = append(msg, p.Reason...)
	}
	return append(msg, "}}"...)
}

// answerConfigError serves a client while the configuration is broken.
func (b *Bridge) answerConfigError(e envelope) {
	if e.kind() != kindRequest {
		return
	}
	switch e.Method {
	case "initialize":
		var p struct {
			ProtocolVersion string `json:"protocolVersion"`
		}
		_ = json.Unmarshal(e.Params, &p)
		b.send(resultResponse(e.ID, builtinInitialize(p.ProtocolVersion, b.opts.Version,
			"Sage long-term memory, not available: sage-bridge is misconfigured ("+b.opts.ConfigError.Error()+"); run `sage-bridge doctor`.")))
	case "ping":
		b.send(resultResponse(e.ID, json.RawMessage("{}")))
	default:
		if empty, ok := emptyLists[e.Method]; ok {
			b.send(resultResponse(e.ID, json.RawMessage(empty)))
			return
		}
		b.send(errorResponse(e.ID, CodeUnavailable, "sage-bridge is misconfigured: "+b.opts.ConfigError.Error()+" (run `sage-bridge doctor`)"))
	}
}
