package mcpserver

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strings"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	sage "github.com/sage-mcp/sage/daemon"
	"github.com/sage-mcp/sage/shared/api"
)

// Resource URIs.
const (
	ResourceStatus          = "sage://status"
	ResourceSessions        = "sage://sessions"
	ResourceSessionTemplate = "sage://session/{id}"
	sessionURIPrefix        = "sage://session/"
	// PromptRecall is the name of the recall prompt.
	PromptRecall = "recall"
)

// SessionURI returns the resource URI of a session.
func SessionURI(id string) string {
	return sessionURIPrefix + url.PathEscape(id)
}

func (h *handlers) addResources(s *mcp.Server) {
	s.AddResource(&mcp.Resource{
		URI:         ResourceStatus,
		Name:        "status",
		Title:       "Sage status",
		Description: "The daemon's version, database and embedder, and this namespace's counts, as JSON.",
		MIMEType:    "application/json",
	}, h.readStatus)
	s.AddResource(&mcp.Resource{
		URI:         ResourceSessions,
		Name:        "sessions",
		Title:       "Recent sessions",
		Description: "The most recent sessions of this namespace (up to 100), as JSON.",
		MIMEType:    "application/json",
	}, h.readSessions)
	s.AddResourceTemplate(&mcp.ResourceTemplate{
		URITemplate: ResourceSessionTemplate,
		Name:        "session",
		Title:       "A session",
		Description: "One session as a Markdown transcript of its memories, in time order.",
		MIMEType:    "text/markdown",
	}, h.readSession)
}

// resourceError turns a Service error into a protocol error whose message
// a user can act on.
func (h *handlers) resourceError(ctx context.Context, uri string, err error) error {
	if errors.Is(err, sage.ErrNotFound) {
		return mcp.ResourceNotFoundError(uri)
	}
	return h.fail(ctx, "read "+uri, err, "")
}

func jsonContents(uri string, v any) (*mcp.ReadResourceResult, error) {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("encode %s: %w", uri, err)
	}
	return &mcp.ReadResourceResult{Contents: []*mcp.ResourceContents{{URI: uri, MIMEType: "application/json", Text: string(b)}}}, nil
}

func (h *handlers) readStatus(ctx context.Context, req *mcp.ReadResourceRequest) (*mcp.ReadResourceResult, error) {
	ctx = withNamespace(ctx, req.Extra)
	st, err := h.svc.Status(ctx)
	if err != nil {
		return nil, h.resourceError(ctx, ResourceStatus, err)
	}
	return jsonContents(ResourceStatus, apiStatus(ctx, st))
}

func (h *handlers) readSessions(ctx context.Context, req *mcp.ReadResourceRequest) (*mcp.ReadResourceResult, error) {
	ctx = withNamespace(ctx, req.Extra)
	ss, err := h.svc.Sessions(ctx, "", sage.MaxLimit)
	if err != nil {
		return nil, h.resourceError(ctx, ResourceSessions, err)
	}
	out := api.SessionsResponse{Sessions: make([]api.Session, len(ss))}
	for i, s := range ss {
		out.Sessions[i] = apiSession(s)
	}
	return jsonContents(ResourceSessions, out)
}

func (h *handlers) readSession(ctx context.Context, req *mcp.ReadResourceRequest) (*mcp.ReadResourceResult, error) {
	ctx = withNamespace(ctx, req.Extra)
	uri := req.Params.URI
	raw, ok := strings.CutPrefix(uri, sessionURIPrefix)
	if !ok {
		return nil, mcp.ResourceNotFoundError(uri)
	}
	id, err := url.PathUnescape(raw)
	if err != nil || checkSessionID(id, true) != nil {
		return nil, mcp.ResourceNotFoundError(uri)
	}
	s, ms, err := h.sessionWithMemories(ctx, id)
	if err != nil {
		return nil, h.resourceError(ctx, uri, err)
	}
	doc := sessionMarkdown(s, ms)
	if len(doc) > MaxExportBytes {
		return nil, failf("session %q is too large to read here (%d bytes, the limit is %d): export it with sage_manage export",
			truncate(id, 64), len(doc), MaxExportBytes)
	}
	return &mcp.ReadResourceResult{Contents: []*mcp.ResourceContents{{URI: uri, MIMEType: "text/markdown", Text: doc}}}, nil
}

func (h *handlers) addPrompts(s *mcp.Server) {
	s.AddPrompt(&mcp.Prompt{
		Name:        PromptRecall,
		Title:       "Recall from memory",
		Description: "Recall what Sage remembers about a topic and put it into the conversation.",
		Arguments: []*mcp.PromptArgument{
			{Name: "topic", Description: "The topic or question to recall memories about (at most 4096 bytes).", Required: true},
			{Name: "project", Description: "Only memories of this project."},
		},
	}, h.recall)
}

func (h *handlers) recall(ctx context.Context, req *mcp.GetPromptRequest) (*mcp.GetPromptResult, error) {
	ctx = withNamespace(ctx, req.Extra)
	topic := strings.TrimSpace(req.Params.Arguments["topic"])
	if topic == "" {
		topic = strings.TrimSpace(req.Params.Arguments["query"]) // the argument's other name
	}
	if topic == "" {
		return nil, invalid("topic", "is required")
	}
	q := sage.ContextQuery{Query: topic, Filter: sage.Filter{Project: req.Params.Arguments["project"]}}
	if err := q.Validate(); err != nil {
		return nil, h.fail(ctx, PromptRecall, err, "")
	}
	c, err := h.svc.Context(ctx, q)
	if err != nil {
		return nil, h.fail(ctx, PromptRecall, err, "")
	}
	block := clip(c.Text, sage.DefaultMaxChars)
	var text string
	if block == "" {
		text = fmt.Sprintf("Sage has no memories about %q yet. Say so, and continue without them.", topic)
	} else {
		text = fmt.Sprintf("Here is what Sage remembers about %q from earlier sessions:\n\n%s\n\nUse what is relevant; say when it seems out of date.", topic, block)
	}
	return &mcp.GetPromptResult{
		Description: fmt.Sprintf("What Sage remembers about %q (%d memories)", truncate(topic, 200), len(c.Items)),
		Messages:    []*mcp.PromptMessage{{Role: "user", Content: &mcp.TextContent{Text: text}}},
	}, nil
}
