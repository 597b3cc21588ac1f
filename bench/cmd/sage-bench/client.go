package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/sage-mcp/sage/shared/api"
)

// Tool names of the daemon (package mcpserver), and toolContext, the name
// of the context phase: search_memory with max_chars (until 2026-12 the
// tool get_context, whose name the reports keep).
const (
	toolSave    = "remember"
	toolSearch  = "search_memory"
	toolContext = "get_context"
)

// contextMaxChars is the block size of the context phase (get_context's
// default).
const contextMaxChars = 4000

// bearer adds the token to every request.
type bearer struct {
	token string
	next  http.RoundTripper
}

func (b bearer) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("Authorization", "Bearer "+b.token)
	return b.next.RoundTrip(r)
}

// newHTTPClient returns the HTTP client every MCP session shares, keeping
// up to conns connections to the daemon alive.
func newHTTPClient(token string, conns int) *http.Client {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConns = conns
	t.MaxIdleConnsPerHost = conns
	return &http.Client{Transport: bearer{token: token, next: t}, Timeout: time.Minute}
}

// connect opens one MCP session with the daemon at base (…/mcp).
func connect(ctx context.Context, base string, hc *http.Client) (*mcp.ClientSession, error) {
	c := mcp.NewClient(&mcp.Implementation{Name: "sage-bench", Version: "1"}, nil)
	cs, err := c.Connect(ctx, &mcp.StreamableClientTransport{
		Endpoint: strings.TrimRight(base, "/") + "/mcp", HTTPClient: hc,
		MaxRetries: -1, DisableStandaloneSSE: true,
	}, nil)
	if err != nil {
		return nil, fmt.Errorf("connect mcp: %w", err)
	}
	return cs, nil
}

// saveArgs are the arguments of remember for a turn (kind=turn).
type saveArgs struct {
	Kind              string `json:"kind"`
	UserPrompt        string `json:"content"`
	AssistantResponse string `json:"response"`
	SessionID         string `json:"session_id,omitempty"`
	Project           string `json:"project,omitempty"`
	OccurredAt        string `json:"occurred_at,omitempty"`
	IdempotencyKey    string `json:"idempotency_key,omitempty"`
}

// searchArgs are the arguments of search_memory.
type searchArgs struct {
	Query   string `json:"query"`
	Project string `json:"project,omitempty"`
}

// contextArgs are the arguments of search_memory for a context block.
type contextArgs struct {
	Query    string `json:"query"`
	Project  string `json:"project,omitempty"`
	MaxChars int    `json:"max_chars"`
}

// call calls a tool and decodes its structured result into out. A tool
// error (IsError) is an error too: the benchmark must not time failures.
func call(ctx context.Context, cs *mcp.ClientSession, tool string, args, out any) error {
	res, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: tool, Arguments: args})
	if err != nil {
		return fmt.Errorf("%s: %w", tool, err)
	}
	if res.IsError {
		var msg []string
		for _, c := range res.Content {
			if t, ok := c.(*mcp.TextContent); ok {
				msg = append(msg, t.Text)
			}
		}
		return fmt.Errorf("%s: tool error: %s", tool, strings.Join(msg, " "))
	}
	if res.StructuredContent == nil {
		return fmt.Errorf("%s: no structured content", tool)
	}
	b, err := json.Marshal(res.StructuredContent)
	if err != nil {
		return fmt.Errorf("%s: %w", tool, err)
	}
	if err := json.Unmarshal(b, out); err != nil {
		return fmt.Errorf("%s: decode result: %w", tool, err)
	}
	return nil
}

// save stores t with remember(kind=turn).
func save(ctx context.Context, cs *mcp.ClientSession, t turn) (api.SaveResult, error) {
	var r api.SaveResult
	err := call(ctx, cs, toolSave, saveArgs{
		Kind: "turn", UserPrompt: t.UserPrompt, AssistantResponse: t.AssistantResponse,
		SessionID: t.SessionID, Project: t.Project,
		OccurredAt: t.OccurredAt.Format(time.RFC3339), IdempotencyKey: t.IdempotencyKey,
	}, &r)
	if err == nil && r.ID == 0 {
		err = errors.New("remember: result without id")
	}
	return r, err
}

// search runs q with search_memory and returns how many results came.
func search(ctx context.Context, cs *mcp.ClientSession, q query) (int, error) {
	var r api.SearchResponse
	err := call(ctx, cs, toolSearch, searchArgs{Query: q.Text, Project: q.Project}, &r)
	return len(r.Results), err
}

// getContext runs q with search_memory(max_chars) and returns how many
// memories the block holds.
func getContext(ctx context.Context, cs *mcp.ClientSession, q query) (int, error) {
	var r api.SearchResponse
	err := call(ctx, cs, toolSearch, contextArgs{Query: q.Text, Project: q.Project, MaxChars: contextMaxChars}, &r)
	return len(r.Results), err
}

// status returns get_status of the token's namespace.
func status(ctx context.Context, cs *mcp.ClientSession) (api.Status, error) {
	var st api.Status
	err := call(ctx, cs, "get_status", struct{}{}, &st)
	return st, err
}
