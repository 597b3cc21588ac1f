// Package mcpserver is sage-daemon's MCP server: the memory tools
// (remember, search_memory, forget, manage_session, get_status) and the
// prompt recall, on the official Go SDK
// (github.com/modelcontextprotocol/go-sdk).
//
// The server declares no resources: everything they offered (status,
// sessions, a session's transcript) is a tool call away, and a server with
// resources makes Claude Code add three resource tools to every model
// request. The tools' descriptions are short for the same reason: what
// Sage adds to each request (tool definitions and instructions) stays
// within MaxRequestChars.
//
// The headers X-Sage-Project and X-Sage-Session of a request (sage-bridge
// sends Claude Code's project and session) are the defaults of the
// project and session_id arguments of remember and of project in
// search_memory and the recall prompt. An argument given wins, an empty
// one included ("" stores a global memory, searches every project).
//
// Every tool and prompt works through sage.Service in the
// namespace of the caller's token: the HTTP layer authenticates with the
// SDK's auth package, and the namespace is TokenInfo.Extra[NamespaceKey]
// (no token info means sage.DefaultNamespace).
//
// Failures a user can act on (bad input, limits, not found, database down)
// are tool results with IsError set and a message that says what to do;
// protocol errors are kept for protocol faults.
package mcpserver

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"time"

	"github.com/google/jsonschema-go/jsonschema"
	"github.com/modelcontextprotocol/go-sdk/jsonrpc"
	"github.com/modelcontextprotocol/go-sdk/mcp"

	sage "github.com/sage-mcp/sage/daemon"
)

// DefaultSessionTimeout is how long an idle stateful session lives.
const DefaultSessionTimeout = time.Hour

// NamespaceKey is the key of the namespace (a string) in the Extra map of
// the auth.TokenInfo that the HTTP auth layer attaches to each request.
const NamespaceKey = "namespace"

// ServerName is the MCP implementation name the server announces.
const ServerName = "sage"

// Limits of what the server adds to every model request.
const (
	// MaxInstructionsChars bounds Instructions.
	MaxInstructionsChars = 400
	// MaxRequestChars bounds the tool definitions (name, description, input
	// schema, as JSON) and the instructions together.
	MaxRequestChars = 3500
)

// Instructions, sent in the initialize result, tell the model when to
// search and when to remember.
const Instructions = `Sage is your memory across sessions. Call search_memory before answering when earlier work, decisions, preferences or facts about the user may matter. Call remember as soon as a decision, fact, preference or todo is settled: one self-contained statement; project "" if it holds in every project. Hooks save conversation turns. forget deletes for good.`

// Options configure the MCP server and its HTTP handler. Zero fields take
// defaults.
type Options struct {
	// Logger receives failures that are not the caller's fault (internal
	// errors); nil is silent. Memory content and secrets never reach it.
	Logger *slog.Logger
	// Version is announced as the server version; empty means sage.Version.
	Version string
	// Stateful makes the HTTP handler keep MCP sessions (Mcp-Session-Id).
	//
	// The default, stateless, serves each request on its own with no
	// server-side session: a daemon restart, or a request routed to another
	// replica, never strands a client with "session not found", and no
	// memory is held per client. Nothing Sage offers needs a session — every
	// tool is a single request/response and the namespace comes from the
	// token on every request — so stateless costs nothing but server->client
	// requests (sampling, elicitation, roots) and unsolicited
	// notifications, which Sage does not use.
	//
	// Stateful sessions allow those, at the price that sessions live in this
	// process only: after a restart, or behind a load balancer without
	// sticky routing, clients must re-initialize.
	Stateful bool
	// SessionTimeout closes stateful sessions idle that long, so that
	// clients that vanish do not pile up (0: DefaultSessionTimeout;
	// negative: never).
	SessionTimeout time.Duration
	// MaxSessions bounds the stateful sessions kept at once (0:
	// DefaultMaxSessions); see sessionCap for what happens beyond.
	MaxSessions int
	// MaxBodyBytes bounds each HTTP request body (0: the SDK default, 4 MiB).
	MaxBodyBytes int64
	// Middleware is added to the server's receiving middleware, outermost
	// (after Sage's own), for example the metrics' (metrics.Registry.MCP).
	Middleware []mcp.Middleware
	// DisableLocalhostProtection turns off the SDK's DNS-rebinding guard,
	// which refuses requests that reach a loopback address with a
	// non-loopback Host header. Set it only when the HTTP layer checks Host
	// itself (for example, behind a reverse proxy on the same host).
	DisableLocalhostProtection bool
}

// New returns the MCP server with Sage's tools and prompt, all
// backed by svc.
func New(svc sage.Service, opts Options) *mcp.Server {
	version := opts.Version
	if version == "" {
		version = sage.Version
	}
	logger := opts.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	s := mcp.NewServer(&mcp.Implementation{Name: ServerName, Title: "Sage memory", Version: version}, &mcp.ServerOptions{
		Instructions: Instructions,
		Logger:       logger,
	})
	h := &handlers{svc: svc, log: logger}
	h.addTools(s)
	h.addPrompts(s)
	s.AddReceivingMiddleware(h.friendlyArguments, protocolErrors, checkLogLevel)
	if len(opts.Middleware) > 0 {
		s.AddReceivingMiddleware(opts.Middleware...)
	}
	return s
}

// Handler returns the MCP Streamable HTTP handler on svc, stateless unless
// opts.Stateful. The HTTP layer mounts it at /mcp behind authentication.
func Handler(svc sage.Service, opts Options) http.Handler {
	s := New(svc, opts)
	timeout := opts.SessionTimeout
	switch {
	case timeout == 0:
		timeout = DefaultSessionTimeout
	case timeout < 0:
		timeout = 0 // the SDK's "never"
	}
	h := mcp.NewStreamableHTTPHandler(func(*http.Request) *mcp.Server { return s }, &mcp.StreamableHTTPOptions{
		Stateless:                  !opts.Stateful,
		Logger:                     opts.Logger,
		SessionTimeout:             timeout,
		MaxRequestBodyBytes:        opts.MaxBodyBytes,
		DisableLocalhostProtection: opts.DisableLocalhostProtection,
	})
	if !opts.Stateful {
		return readOnce(h)
	}
	max := opts.MaxSessions
	if max <= 0 {
		max = DefaultMaxSessions
	}
	logger := opts.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return readOnce(newSessionCap(h, s, max, logger))
}

// readOnce is the one reader of a POSTed body in front of the go-sdk: it
// reads the body into memory once, answers a message whose strings are
// not valid Unicode text itself (refuseText), swaps the ids the SDK would
// alter (keepIDs) and hands the SDK the bytes. Other requests go to next
// unchanged.
func readOnce(next http.Handler) http.Handler {
	ids := newKeepIDs()
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost || r.Body == nil {
			next.ServeHTTP(w, r)
			return
		}
		body, err := io.ReadAll(r.Body)
		if err != nil {
			// Let the SDK meet the same error (size limit, slow body).
			r.Body = io.NopCloser(io.MultiReader(bytes.NewReader(body), errReader{err}))
			next.ServeHTTP(w, r)
			return
		}
		if textErr := sage.CheckJSONText(body); textErr != nil && refuseText(w, body, textErr) {
			return
		}
		if out, changed := ids.rewrite(body); changed {
			body = out
			r.ContentLength = int64(len(body))
			r.Header.Del("Content-Length")
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		next.ServeHTTP(&idWriter{ResponseWriter: w, prefix: ids.prefix}, r)
	})
}

// refuseText answers a JSON-RPC message whose strings are not valid
// Unicode text (invalid UTF-8, a lone UTF-16 surrogate escape: textErr,
// from sage.CheckJSONText) before the SDK's decoder would turn them into
// U+FFFD: a tools/call gets a result with IsError naming the argument
// ("invalid content: is not valid Unicode text: …"), any other request an
// invalid params error (-32602), a notification 202 and no effect. It
// returns false, having written nothing, for a body that is no single
// request or notification (the SDK answers those).
func refuseText(w http.ResponseWriter, body []byte, textErr error) bool {
	var msg struct {
		ID     json.RawMessage `json:"id"`
		Method string          `json:"method"`
	}
	if json.Unmarshal(body, &msg) != nil || msg.Method == "" {
		return false
	}
	if len(msg.ID) == 0 {
		w.WriteHeader(http.StatusAccepted)
		return true
	}
	if sage.CheckJSONText(msg.ID) != nil {
		msg.ID = json.RawMessage("null")
	}
	text := userErrorFor(textErr, "").msg
	resp := map[string]any{"jsonrpc": "2.0", "id": msg.ID}
	if msg.Method == "tools/call" {
		resp["result"] = map[string]any{"content": []any{map[string]string{"type": "text", "text": text}}, "isError": true}
	} else {
		resp["error"] = map[string]any{"code": jsonrpc.CodeInvalidParams, "message": text}
	}
	b, err := json.Marshal(resp)
	if err != nil {
		http.Error(w, "internal error", http.StatusInternalServerError)
		return true
	}
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(b)
	return true
}

// errReader fails every read with err.
type errReader struct{ err error }

func (e errReader) Read([]byte) (int, error) { return 0, e.err }

// Namespace returns the namespace of a request: TokenInfo.Extra[NamespaceKey]
// when the request carries token info with a non-empty string there, else
// sage.DefaultNamespace.
func Namespace(extra *mcp.RequestExtra) string {
	if extra == nil || extra.TokenInfo == nil {
		return sage.DefaultNamespace
	}
	if ns, ok := extra.TokenInfo.Extra[NamespaceKey].(string); ok && ns != "" {
		return ns
	}
	return sage.DefaultNamespace
}

// handlers holds what every tool, resource and prompt handler needs.
type handlers struct {
	svc sage.Service
	log *slog.Logger
	// inputs are the input schemas of the tools, by name.
	inputs map[string]*jsonschema.Schema
}

// ctx returns ctx set to the namespace of the request.
func withNamespace(ctx context.Context, extra *mcp.RequestExtra) context.Context {
	return sage.WithNamespace(ctx, Namespace(extra))
}
