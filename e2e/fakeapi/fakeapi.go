// Package fakeapi is a stand-in for the Anthropic Messages API that a test
// serves itself, so the real Claude Code CLI can run whole sessions offline
// (ANTHROPIC_BASE_URL pointing at it, ANTHROPIC_API_KEY any value).
//
// It answers POST /v1/messages, streamed (server-sent events: message_start,
// content_block_start, content_block_delta with text_delta or
// input_json_delta, content_block_stop, message_delta, message_stop) or not,
// POST /v1/messages/count_tokens, HEAD and GET / and, with an empty JSON
// object, anything else Claude Code asks for at start. Each request is kept
// (path, headers, raw body and the decoded Messages request) so a test can
// assert exactly what was sent to the model, hook context included.
//
// Replies are scripted by a Responder, called once per Messages request. A
// reply is text, or a tool_use of a named tool; Claude Code runs the tool
// and sends its tool_result in the next request, which the Responder
// answers in turn. A reply can wait on a channel before it is sent, so a
// test holds the model "busy" until it releases it.
package fakeapi

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"time"

	"github.com/sage-mcp/sage/e2e/watch"
)

// MaxBody bounds a request body the server reads.
const MaxBody = 64 << 20

// Model is the model name the server reports when a request names none.
const Model = "claude-fake-1"

// Reply is one scripted answer of the model.
type Reply struct {
	// Text is the answer's text block (may be empty with ToolName set).
	Text string
	// ToolName, when set, makes the answer end with a tool_use block of
	// that tool (stop_reason "tool_use").
	ToolName string
	// ToolInput is the tool's input object (JSON; "{}" when empty).
	ToolInput json.RawMessage
	// Wait, when not nil, holds the reply until it is closed (or the
	// request is abandoned by the client).
	Wait <-chan struct{}
	// Status, when not 0, answers with this HTTP status and an API error
	// body instead.
	Status int
}

// Responder scripts the model: it is called once per Messages request, in
// arrival order, and returns the reply.
type Responder func(r *Request) Reply

// Request is one request the server received.
type Request struct {
	// Seq is the request's position among all requests (from 0).
	Seq int
	// Method and Path are the HTTP method and URL path.
	Method, Path string
	// Header is the request's header.
	Header http.Header
	// Body is the raw request body.
	Body []byte
	// Messages is the decoded body of a Messages request (nil otherwise).
	Messages *MessagesRequest
	// At is when the request arrived.
	At time.Time
}

// MessagesRequest is the part of a Messages API request body tests read.
type MessagesRequest struct {
	Model     string          `json:"model"`
	MaxTokens int             `json:"max_tokens"`
	Stream    bool            `json:"stream"`
	System    json.RawMessage `json:"system"`
	Messages  []Message       `json:"messages"`
	Tools     []Tool          `json:"tools"`
}

// Message is one message of a request's conversation.
type Message struct {
	Role    string          `json:"role"`
	Content json.RawMessage `json:"content"`
}

// Tool is a tool definition of a request (only its name is decoded).
type Tool struct {
	Name string `json:"name"`
}

// Block is one content block of a message.
type Block struct {
	Type      string          `json:"type"`
	Text      string          `json:"text,omitempty"`
	ID        string          `json:"id,omitempty"`
	Name      string          `json:"name,omitempty"`
	Input     json.RawMessage `json:"input,omitempty"`
	ToolUseID string          `json:"tool_use_id,omitempty"`
	Content   json.RawMessage `json:"content,omitempty"`
}

// Blocks returns a message's content as blocks (a string content is one
// text block).
func (m Message) Blocks() []Block {
	var s string
	if err := json.Unmarshal(m.Content, &s); err == nil {
		return []Block{{Type: "text", Text: s}}
	}
	var bs []Block
	_ = json.Unmarshal(m.Content, &bs)
	return bs
}

// Text joins a message's text blocks with newlines.
func (m Message) Text() string {
	var parts []string
	for _, b := range m.Blocks() {
		if b.Type == "text" {
			parts = append(parts, b.Text)
		}
	}
	return strings.Join(parts, "\n")
}

// Last returns the request's last message (zero when there is none).
func (r *MessagesRequest) Last() Message {
	if r == nil || len(r.Messages) == 0 {
		return Message{}
	}
	return r.Messages[len(r.Messages)-1]
}

// Prompt returns the text the user typed: the last text block of the last
// user message that is not a <system-reminder> (hook context among them).
// After an interrupt or a compaction Claude Code puts earlier text blocks
// in the same message.
func (r *MessagesRequest) Prompt() string {
	bs := r.LastUser().Blocks()
	for i := len(bs) - 1; i >= 0; i-- {
		b := bs[i]
		if b.Type == "text" && !strings.HasPrefix(strings.TrimSpace(b.Text), "<system-reminder>") {
			return strings.TrimSpace(b.Text)
		}
	}
	return ""
}

// HookContext returns the additionalContext a hook of event added to the
// request: Claude Code puts it, after "<event> hook additional context: ",
// in a text block of some message (in 2.1, the system message after the
// prompt). It returns the text up to the end of that paragraph (a blank
// line) and whether it was found; a <sage-memory> block is returned whole.
func (r *MessagesRequest) HookContext(event string) (string, bool) {
	if r == nil {
		return "", false
	}
	marker := event + " hook additional context: "
	for _, m := range r.Messages {
		for _, b := range m.Blocks() {
			i := strings.Index(b.Text, marker)
			if i < 0 {
				continue
			}
			rest := b.Text[i+len(marker):]
			if strings.HasPrefix(rest, "<sage-memory>") {
				if j := strings.Index(rest, "</sage-memory>"); j >= 0 {
					return rest[:j+len("</sage-memory>")], true
				}
			}
			if j := strings.Index(rest, "\n\n"); j >= 0 {
				rest = rest[:j]
			}
			return rest, true
		}
	}
	return "", false
}

// LastToolUse returns the last tool_use block the model sent (in the last
// assistant message), if any.
func (r *MessagesRequest) LastToolUse() (Block, bool) {
	if r == nil {
		return Block{}, false
	}
	for i := len(r.Messages) - 1; i >= 0; i-- {
		if r.Messages[i].Role != "assistant" {
			continue
		}
		bs := r.Messages[i].Blocks()
		for j := len(bs) - 1; j >= 0; j-- {
			if bs[j].Type == "tool_use" {
				return bs[j], true
			}
		}
		return Block{}, false
	}
	return Block{}, false
}

// Answers is a Responder that answers a prompt with answers[prompt], a
// tool result with "Done.", and anything else with "OK.". A prompt of
// several lines (Claude Code joins prompts queued while the model was busy
// into one) each with an answer gets those answers joined by spaces.
func Answers(answers map[string]string) Responder {
	return func(r *Request) Reply {
		if _, ok := r.Messages.ToolResult(); ok {
			return Reply{Text: "Done."}
		}
		p := r.Messages.Prompt()
		if a, ok := answers[p]; ok {
			return Reply{Text: a}
		}
		var parts []string
		for _, l := range strings.Split(p, "\n") {
			a, ok := answers[strings.TrimSpace(l)]
			if !ok {
				return Reply{Text: "OK."}
			}
			parts = append(parts, a)
		}
		return Reply{Text: strings.Join(parts, " ")}
	}
}

// LastUser returns the request's last user message (zero when there is
// none). Claude Code may send a system message after it.
func (r *MessagesRequest) LastUser() Message {
	if r == nil {
		return Message{}
	}
	for i := len(r.Messages) - 1; i >= 0; i-- {
		if r.Messages[i].Role == "user" {
			return r.Messages[i]
		}
	}
	return Message{}
}

// ToolResult reports whether the last user message carries a tool_result,
// and its text.
func (r *MessagesRequest) ToolResult() (string, bool) {
	for _, b := range r.LastUser().Blocks() {
		if b.Type == "tool_result" {
			var s string
			if err := json.Unmarshal(b.Content, &s); err == nil {
				return s, true
			}
			var bs []Block
			_ = json.Unmarshal(b.Content, &bs)
			var parts []string
			for _, x := range bs {
				parts = append(parts, x.Text)
			}
			return strings.Join(parts, "\n"), true
		}
	}
	return "", false
}

// HasTool reports whether the request offers the tool name.
func (r *MessagesRequest) HasTool(name string) bool {
	if r == nil {
		return false
	}
	for _, t := range r.Tools {
		if t.Name == name {
			return true
		}
	}
	return false
}

// SystemText returns the system prompt's text.
func (r *MessagesRequest) SystemText() string {
	if r == nil {
		return ""
	}
	var s string
	if err := json.Unmarshal(r.System, &s); err == nil {
		return s
	}
	return Message{Content: r.System}.Text()
}

// Server is a running fake Messages API.
type Server struct {
	// URL is the base URL for ANTHROPIC_BASE_URL.
	URL string

	srv     *httptest.Server
	respond Responder

	requests watch.List[*Request]
}

// New starts a server answering with respond; Close stops it. A nil
// respond answers every request with the text "OK.".
func New(respond Responder) *Server {
	if respond == nil {
		respond = func(*Request) Reply { return Reply{Text: "OK."} }
	}
	s := &Server{respond: respond}
	s.srv = httptest.NewServer(http.HandlerFunc(s.serveHTTP))
	s.URL = s.srv.URL
	return s
}

// Close stops the server; replies still waiting are abandoned.
func (s *Server) Close() {
	s.srv.CloseClientConnections()
	s.srv.Close()
}

// Requests returns every request received so far, in arrival order.
func (s *Server) Requests() []*Request {
	return s.requests.All()
}

// MessagesRequests returns the Messages requests received so far.
func (s *Server) MessagesRequests() []*Request {
	var out []*Request
	for _, r := range s.Requests() {
		if r.Messages != nil {
			out = append(out, r)
		}
	}
	return out
}

// WaitFor waits until cond holds for the requests received so far, or
// timeout passes; it reports whether cond held.
func (s *Server) WaitFor(timeout time.Duration, cond func([]*Request) bool) bool {
	return s.requests.WaitFor(timeout, cond)
}

func (s *Server) record(r *http.Request, body []byte) *Request {
	req := &Request{Method: r.Method, Path: r.URL.Path, Header: r.Header.Clone(), Body: body, At: time.Now()}
	if r.Method == http.MethodPost && r.URL.Path == "/v1/messages" {
		var m MessagesRequest
		if err := json.Unmarshal(body, &m); err == nil {
			req.Messages = &m
		}
	}
	s.requests.Add(func(seq int) *Request {
		req.Seq = seq
		return req
	})
	return req
}

func (s *Server) serveHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(io.LimitReader(r.Body, MaxBody+1))
	if err != nil || len(body) > MaxBody {
		apiError(w, http.StatusRequestEntityTooLarge, "request_too_large", "request body unreadable or too large")
		return
	}
	req := s.record(r, body)
	switch {
	case r.URL.Path == "/v1/messages" && r.Method == http.MethodPost:
		if req.Messages == nil {
			apiError(w, http.StatusBadRequest, "invalid_request_error", "body is not a Messages request")
			return
		}
		s.messages(w, r, req)
	case r.URL.Path == "/v1/messages/count_tokens":
		writeJSON(w, map[string]any{"input_tokens": len(body)/4 + 1})
	case r.URL.Path == "/" || r.Method == http.MethodHead:
		w.WriteHeader(http.StatusOK)
	default:
		writeJSON(w, map[string]any{})
	}
}

func (s *Server) messages(w http.ResponseWriter, r *http.Request, req *Request) {
	rep := s.respond(req)
	if rep.Wait != nil {
		select {
		case <-rep.Wait:
		case <-r.Context().Done():
			return
		}
	}
	if rep.Status != 0 {
		apiError(w, rep.Status, "api_error", "scripted failure")
		return
	}
	model := req.Messages.Model
	if model == "" {
		model = Model
	}
	content := []map[string]any{}
	if rep.Text != "" {
		content = append(content, map[string]any{"type": "text", "text": rep.Text})
	}
	stop := "end_turn"
	input := rep.ToolInput
	if len(bytes.TrimSpace(input)) == 0 {
		input = json.RawMessage("{}")
	}
	if rep.ToolName != "" {
		content = append(content, map[string]any{"type": "tool_use", "id": "toolu_" + randomID(), "name": rep.ToolName, "input": input})
		stop = "tool_use"
	}
	id := "msg_" + randomID()
	usage := map[string]any{"input_tokens": len(req.Body)/4 + 1, "output_tokens": len(rep.Text)/4 + 1,
		"cache_creation_input_tokens": 0, "cache_read_input_tokens": 0}
	if !req.Messages.Stream {
		writeJSON(w, map[string]any{"id": id, "type": "message", "role": "assistant", "model": model,
			"content": content, "stop_reason": stop, "stop_sequence": nil, "usage": usage})
		return
	}
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-cache")
	w.WriteHeader(http.StatusOK)
	fl, _ := w.(http.Flusher)
	send := func(event string, data any) {
		b, _ := json.Marshal(data)
		fmt.Fprintf(w, "event: %s\ndata: %s\n\n", event, b)
		if fl != nil {
			fl.Flush()
		}
	}
	send("message_start", map[string]any{"type": "message_start", "message": map[string]any{
		"id": id, "type": "message", "role": "assistant", "model": model, "content": []any{},
		"stop_reason": nil, "stop_sequence": nil, "usage": usage}})
	for i, c := range content {
		switch c["type"] {
		case "text":
			send("content_block_start", map[string]any{"type": "content_block_start", "index": i,
				"content_block": map[string]any{"type": "text", "text": ""}})
			for _, part := range chunks(rep.Text, 16) {
				send("content_block_delta", map[string]any{"type": "content_block_delta", "index": i,
					"delta": map[string]any{"type": "text_delta", "text": part}})
			}
		case "tool_use":
			send("content_block_start", map[string]any{"type": "content_block_start", "index": i,
				"content_block": map[string]any{"type": "tool_use", "id": c["id"], "name": c["name"], "input": map[string]any{}}})
			for _, part := range chunks(string(input), 16) {
				send("content_block_delta", map[string]any{"type": "content_block_delta", "index": i,
					"delta": map[string]any{"type": "input_json_delta", "partial_json": part}})
			}
		}
		send("content_block_stop", map[string]any{"type": "content_block_stop", "index": i})
	}
	send("message_delta", map[string]any{"type": "message_delta",
		"delta": map[string]any{"stop_reason": stop, "stop_sequence": nil}, "usage": map[string]any{"output_tokens": usage["output_tokens"]}})
	send("message_stop", map[string]any{"type": "message_stop"})
}

// chunks splits s into pieces of at most n bytes on rune boundaries.
func chunks(s string, n int) []string {
	var out []string
	for len(s) > n {
		i := n
		for i > 0 && !utf8RuneStart(s[i]) {
			i--
		}
		if i == 0 {
			i = n
		}
		out = append(out, s[:i])
		s = s[i:]
	}
	if s != "" {
		out = append(out, s)
	}
	return out
}

func utf8RuneStart(b byte) bool { return b&0xC0 != 0x80 }

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}

func apiError(w http.ResponseWriter, status int, typ, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{"type": "error", "error": map[string]any{"type": typ, "message": msg}})
}

func randomID() string {
	b := make([]byte, 12)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
