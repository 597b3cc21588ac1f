package mcpserver

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/google/jsonschema-go/jsonschema"
	"github.com/modelcontextprotocol/go-sdk/mcp"

	sage "github.com/sage-mcp/sage/daemon"
	"github.com/sage-mcp/sage/shared/api"
)

// Tool names.
const (
	ToolSaveConversation = "save_conversation"
	ToolRemember         = "remember"
	ToolSearchMemory     = "search_memory"
	ToolGetContext       = "get_context"
	ToolForget           = "forget"
	ToolManageSession    = "manage_session"
	ToolExportSession    = "export_session"
	ToolGetStatus        = "get_status"
)

// ToolNames lists every tool, in the order they are added.
var ToolNames = []string{
	ToolSaveConversation, ToolRemember, ToolSearchMemory, ToolGetContext,
	ToolForget, ToolManageSession, ToolExportSession, ToolGetStatus,
}

// Limits of the MCP tools beyond those of package sage.
const (
	// DefaultSessionList is how many sessions manage_session(list) returns
	// unless asked.
	DefaultSessionList = 20
	// MaxTitleBytes bounds a session title.
	MaxTitleBytes = sage.MaxTitleBytes
	// MaxExportBytes bounds the document export_session returns; larger
	// sessions are exported with the REST API.
	MaxExportBytes = 8 << 20
)

// SaveConversationInput is the input of save_conversation.
type SaveConversationInput struct {
	UserPrompt        string          `json:"user_prompt" jsonschema:"The user's prompt of this turn (may be empty when assistant_response is not)."`
	AssistantResponse string          `json:"assistant_response" jsonschema:"The assistant's response of this turn (may be empty when user_prompt is not). Prompt and response together are at most 1 MiB."`
	SessionID         string          `json:"session_id,omitempty" jsonschema:"The conversation session the turn belongs to (at most 256 bytes)."`
	Project           string          `json:"project,omitempty" jsonschema:"The project the turn belongs to, e.g. the repository name or working directory (at most 256 bytes)."`
	Metadata          json.RawMessage `json:"metadata,omitempty" jsonschema:"Any JSON object to keep with the turn (at most 64 KiB)."`
	OccurredAt        string          `json:"occurred_at,omitempty" jsonschema:"When the turn happened: RFC 3339 (2026-01-02T15:04:05Z) or a date (2026-01-02). Default: now."`
	IdempotencyKey    string          `json:"idempotency_key,omitempty" jsonschema:"Makes a retry of the same save a no-op, e.g. <session id>:<turn number> (at most 256 bytes). Without it, the same session and text are saved once."`
}

// RememberInput is the input of remember.
type RememberInput struct {
	Content        string          `json:"content" jsonschema:"What to remember, self-contained (at most 1 MiB)."`
	Kind           string          `json:"kind,omitempty" jsonschema:"What the memory is: note (default), decision, fact or todo."`
	Tags           []string        `json:"tags,omitempty" jsonschema:"Labels to filter by later (at most 32 tags of at most 64 bytes each)."`
	Project        string          `json:"project,omitempty" jsonschema:"The project the memory belongs to (at most 256 bytes)."`
	SessionID      string          `json:"session_id,omitempty" jsonschema:"The session the memory came from, if any (at most 256 bytes)."`
	Metadata       json.RawMessage `json:"metadata,omitempty" jsonschema:"Any JSON object to keep with the memory (at most 64 KiB)."`
	OccurredAt     string          `json:"occurred_at,omitempty" jsonschema:"When it happened: RFC 3339 (2026-01-02T15:04:05Z) or a date (2026-01-02). Default: now."`
	IdempotencyKey string          `json:"idempotency_key,omitempty" jsonschema:"Makes a retry of the same call a no-op (at most 256 bytes). Without it, the same text is stored once."`
}

// SearchMemoryInput is the input of search_memory.
type SearchMemoryInput struct {
	Query     string   `json:"query" jsonschema:"What to look for, in natural language or keywords (at most 4096 bytes)."`
	Limit     int      `json:"limit,omitempty" jsonschema:"How many results at most (1-100, default 10)."`
	Mode      string   `json:"mode,omitempty" jsonschema:"hybrid (default: meaning and words), semantic (meaning only) or keyword (words only)."`
	Project   string   `json:"project,omitempty" jsonschema:"Only memories of this project."`
	SessionID string   `json:"session_id,omitempty" jsonschema:"Only memories of this session."`
	Since     string   `json:"since,omitempty" jsonschema:"Only memories that happened at or after this time: RFC 3339 or a date (2026-01-02)."`
	Until     string   `json:"until,omitempty" jsonschema:"Only memories that happened at or before this time: RFC 3339 or a date (2026-01-02, the whole day included)."`
	Tags      []string `json:"tags,omitempty" jsonschema:"Only memories carrying every one of these tags."`
	Kind      string   `json:"kind,omitempty" jsonschema:"Only memories of this kind: turn, note, decision, fact or todo."`
}

// GetContextInput is the input of get_context.
type GetContextInput struct {
	Query      string `json:"query" jsonschema:"The topic or the user's prompt to find context for (at most 4096 bytes). Empty: the most recent memories."`
	MaxResults int    `json:"max_results,omitempty" jsonschema:"How many memories at most (1-100, default 10)."`
	MaxChars   int    `json:"max_chars,omitempty" jsonschema:"The most characters of the context block (1-64000, default 4000); it is never longer."`
	Project    string `json:"project,omitempty" jsonschema:"Only memories of this project."`
	SessionID  string `json:"session_id,omitempty" jsonschema:"Only memories of this session."`
}

// ForgetInput is the input of forget.
type ForgetInput struct {
	IDs       []int64 `json:"ids,omitempty" jsonschema:"Ids of the memories to delete (at most 1000), as returned by search_memory. Give ids or session_id, not both."`
	SessionID string  `json:"session_id,omitempty" jsonschema:"Delete every memory of this session. Give ids or session_id, not both."`
}

// ForgetOutput is the result of forget.
type ForgetOutput struct {
	Deleted int64 `json:"deleted" jsonschema:"How many memories were deleted."`
}

// Session actions of manage_session.
const (
	ActionList   = "list"
	ActionInfo   = "info"
	ActionRename = "rename"
	ActionDelete = "delete"
)

// ManageSessionInput is the input of manage_session.
type ManageSessionInput struct {
	Action    string `json:"action" jsonschema:"list (recent sessions), info (one session), rename (set its title) or delete (delete all its memories)."`
	SessionID string `json:"session_id,omitempty" jsonschema:"The session, for info, rename and delete."`
	Title     string `json:"title,omitempty" jsonschema:"The new title, for rename (at most 256 bytes)."`
	Project   string `json:"project,omitempty" jsonschema:"Only sessions of this project, for list."`
	Limit     int    `json:"limit,omitempty" jsonschema:"How many sessions at most, for list (1-100, default 20)."`
}

// ManageSessionOutput is the result of manage_session: Sessions for list,
// Session for info and rename, Deleted for delete.
type ManageSessionOutput struct {
	Action   string        `json:"action" jsonschema:"The action done."`
	Sessions []api.Session `json:"sessions,omitempty" jsonschema:"The sessions, most recent first (list)."`
	Session  *api.Session  `json:"session,omitempty" jsonschema:"The session (info, rename)."`
	Deleted  int64         `json:"deleted,omitempty" jsonschema:"How many memories were deleted (delete)."`
}

// Export formats of export_session.
const (
	FormatJSON     = "json"
	FormatMarkdown = "markdown"
)

// ExportSessionInput is the input of export_session.
type ExportSessionInput struct {
	SessionID string `json:"session_id" jsonschema:"The session to export."`
	Format    string `json:"format,omitempty" jsonschema:"markdown (default: readable transcript) or json (every memory with its fields)."`
}

// ExportSessionOutput is the result of export_session.
type ExportSessionOutput struct {
	Session  api.Session `json:"session" jsonschema:"The session exported."`
	Format   string      `json:"format" jsonschema:"The format of content."`
	Content  string      `json:"content" jsonschema:"The exported document."`
	Memories int         `json:"memories" jsonschema:"How many memories it holds."`
}

// GetStatusInput is the (empty) input of get_status.
type GetStatusInput struct{}

var (
	hintTrue  = ptr(true)
	hintFalse = ptr(false)
)

// addTools registers every tool on s.
func (h *handlers) addTools(s *mcp.Server) {
	h.inputs = map[string]*jsonschema.Schema{}
	add := func(t *mcp.Tool) *mcp.Tool {
		schema := t.InputSchema.(*jsonschema.Schema)
		h.inputs[t.Name] = schema
		// Encoded once here: the go-sdk re-encodes the input schema of the
		// called tool on every tools/call (to look for x-mcp-header
		// annotations), which for a *jsonschema.Schema costs ≈ 10 % of a
		// save's CPU in the daemon; for pre-encoded JSON, a fraction of it.
		raw, err := json.Marshal(schema)
		if err != nil {
			panic(fmt.Sprintf("encode input schema of %s: %v", t.Name, err))
		}
		t.InputSchema = json.RawMessage(raw)
		return t
	}
	mcp.AddTool(s, add(&mcp.Tool{
		Name:  ToolSaveConversation,
		Title: "Save a conversation turn",
		Description: "Store one conversation turn (the user's prompt and the assistant's response) in long-term memory. " +
			"Idempotent: saving the same turn again (same idempotency_key, or same session and text) returns the first id with deduplicated=true. " +
			"On an error nothing is stored.",
		InputSchema:  schemaFor[SaveConversationInput](nil),
		OutputSchema: schemaFor[api.SaveResult](nil),
		Annotations: &mcp.ToolAnnotations{
			Title: "Save a conversation turn", IdempotentHint: true,
			DestructiveHint: hintFalse, OpenWorldHint: hintFalse,
		},
	}), h.saveConversation)

	mcp.AddTool(s, add(&mcp.Tool{
		Name:  ToolRemember,
		Title: "Remember",
		Description: "Store a note, decision, fact or todo in long-term memory, to be found by later sessions. " +
			"Write it self-contained. Storing the same text twice keeps one memory (deduplicated=true). On an error nothing is stored.",
		InputSchema: schemaFor[RememberInput](func(s *jsonschema.Schema) {
			enum(s, "kind", sage.KindNote, sage.KindDecision, sage.KindFact, sage.KindTodo)
			maxItems(s, "tags", sage.MaxTags)
		}),
		OutputSchema: schemaFor[api.SaveResult](nil),
		Annotations: &mcp.ToolAnnotations{
			Title: "Remember", IdempotentHint: true,
			DestructiveHint: hintFalse, OpenWorldHint: hintFalse,
		},
	}), h.remember)

	mcp.AddTool(s, add(&mcp.Tool{
		Name:  ToolSearchMemory,
		Title: "Search memory",
		Description: "Search long-term memory (earlier conversations, notes, decisions) and return the most relevant memories, best first, " +
			"each with its id, score, text, session, project, time and metadata.",
		InputSchema: schemaFor[SearchMemoryInput](func(s *jsonschema.Schema) {
			intRange(s, "limit", 1, sage.MaxLimit, sage.DefaultLimit)
			enum(s, "mode", sage.ModeHybrid, sage.ModeSemantic, sage.ModeKeyword)
			enum(s, "kind", sage.Kinds...)
			maxItems(s, "tags", sage.MaxTags)
		}),
		OutputSchema: schemaFor[api.SearchResponse](nil),
		Annotations: &mcp.ToolAnnotations{
			Title: "Search memory", ReadOnlyHint: true, IdempotentHint: true, OpenWorldHint: hintFalse,
		},
	}), h.searchMemory)

	mcp.AddTool(s, add(&mcp.Tool{
		Name:  ToolGetContext,
		Title: "Get context",
		Description: "Build a compact block of the memories most relevant to a query, ready to use as context, never longer than max_chars; " +
			"the memories it was made of come with it.",
		InputSchema: schemaFor[GetContextInput](func(s *jsonschema.Schema) {
			intRange(s, "max_results", 1, sage.MaxLimit, sage.DefaultLimit)
			intRange(s, "max_chars", 1, sage.MaxMaxChars, sage.DefaultMaxChars)
		}),
		OutputSchema: schemaFor[api.ContextResponse](nil),
		Annotations: &mcp.ToolAnnotations{
			Title: "Get context", ReadOnlyHint: true, IdempotentHint: true, OpenWorldHint: hintFalse,
		},
	}), h.getContext)

	mcp.AddTool(s, add(&mcp.Tool{
		Name:  ToolForget,
		Title: "Forget",
		Description: "Delete memories permanently: the given ids, or every memory of a session. " +
			"Returns how many were deleted.",
		InputSchema: schemaFor[ForgetInput](func(s *jsonschema.Schema) {
			maxItems(s, "ids", sage.MaxForgetIDs)
		}),
		OutputSchema: schemaFor[ForgetOutput](nil),
		Annotations: &mcp.ToolAnnotations{
			Title: "Forget", DestructiveHint: hintTrue, IdempotentHint: true, OpenWorldHint: hintFalse,
		},
	}), h.forget)

	mcp.AddTool(s, add(&mcp.Tool{
		Name:  ToolManageSession,
		Title: "Manage sessions",
		Description: "List recent sessions, show one session, rename it (set its title) or delete it with all its memories " +
			"(action=delete is permanent).",
		InputSchema: schemaFor[ManageSessionInput](func(s *jsonschema.Schema) {
			enum(s, "action", ActionList, ActionInfo, ActionRename, ActionDelete)
			intRange(s, "limit", 1, sage.MaxLimit, DefaultSessionList)
		}),
		OutputSchema: schemaFor[ManageSessionOutput](nil),
		Annotations: &mcp.ToolAnnotations{
			Title: "Manage sessions", DestructiveHint: hintTrue, IdempotentHint: true, OpenWorldHint: hintFalse,
		},
	}), h.manageSession)

	mcp.AddTool(s, add(&mcp.Tool{
		Name:        ToolExportSession,
		Title:       "Export a session",
		Description: "Export every memory of a session in time order, as a Markdown transcript or as JSON.",
		InputSchema: schemaFor[ExportSessionInput](func(s *jsonschema.Schema) {
			enum(s, "format", FormatMarkdown, FormatJSON)
			prop(s, "format").Default = json.RawMessage(`"` + FormatMarkdown + `"`)
		}),
		OutputSchema: schemaFor[ExportSessionOutput](nil),
		Annotations: &mcp.ToolAnnotations{
			Title: "Export a session", ReadOnlyHint: true, IdempotentHint: true, OpenWorldHint: hintFalse,
		},
	}), h.exportSession)

	mcp.AddTool(s, add(&mcp.Tool{
		Name:         ToolGetStatus,
		Title:        "Sage status",
		Description:  "Show the Sage daemon's version, its PostgreSQL and pgvector versions, the embedder, how many memories and sessions this namespace holds, and uptime.",
		InputSchema:  schemaFor[GetStatusInput](nil),
		OutputSchema: schemaFor[api.Status](nil),
		Annotations: &mcp.ToolAnnotations{
			Title: "Sage status", ReadOnlyHint: true, IdempotentHint: true, OpenWorldHint: hintFalse,
		},
	}), h.getStatus)
}

// callService checks in, passes it to the service method fn and turns a failure
// of either into the error result of tool (notFound: the message when
// nothing was found, see fail).
func callService[In interface{ Validate() error }, Out any](ctx context.Context, h *handlers, tool, notFound string, in In, fn func(context.Context, In) (Out, error)) (Out, error) {
	var zero Out
	if err := in.Validate(); err != nil {
		return zero, h.fail(ctx, tool, err, notFound)
	}
	out, err := fn(ctx, in)
	if err != nil {
		return zero, h.fail(ctx, tool, err, notFound)
	}
	return out, nil
}

func (h *handlers) saveConversation(ctx context.Context, req *mcp.CallToolRequest, in SaveConversationInput) (*mcp.CallToolResult, api.SaveResult, error) {
	ctx = withNamespace(ctx, req.Extra)
	at, err := parseTime("occurred_at", in.OccurredAt, false)
	if err != nil {
		return nil, api.SaveResult{}, err
	}
	t := sage.Turn{
		IdempotencyKey:    in.IdempotencyKey,
		SessionID:         in.SessionID,
		Project:           in.Project,
		UserPrompt:        in.UserPrompt,
		AssistantResponse: in.AssistantResponse,
		Metadata:          in.Metadata,
		OccurredAt:        at,
	}
	r, err := callService(ctx, h, ToolSaveConversation, "", t, h.svc.SaveTurn)
	if err != nil {
		return nil, api.SaveResult{}, err
	}
	return nil, api.SaveResult{ID: r.ID, Deduplicated: r.Deduplicated}, nil
}

func (h *handlers) remember(ctx context.Context, req *mcp.CallToolRequest, in RememberInput) (*mcp.CallToolResult, api.SaveResult, error) {
	ctx = withNamespace(ctx, req.Extra)
	at, err := parseTime("occurred_at", in.OccurredAt, false)
	if err != nil {
		return nil, api.SaveResult{}, err
	}
	n := sage.Note{
		IdempotencyKey: in.IdempotencyKey,
		Content:        in.Content,
		Kind:           sage.Kind(in.Kind),
		Tags:           in.Tags,
		Project:        in.Project,
		SessionID:      in.SessionID,
		Metadata:       in.Metadata,
		OccurredAt:     at,
	}
	r, err := callService(ctx, h, ToolRemember, "", n, h.svc.Remember)
	if err != nil {
		return nil, api.SaveResult{}, err
	}
	return nil, api.SaveResult{ID: r.ID, Deduplicated: r.Deduplicated}, nil
}

func (h *handlers) searchMemory(ctx context.Context, req *mcp.CallToolRequest, in SearchMemoryInput) (*mcp.CallToolResult, api.SearchResponse, error) {
	ctx = withNamespace(ctx, req.Extra)
	f, err := filter(in.Project, in.SessionID, in.Since, in.Until, in.Tags, in.Kind)
	if err != nil {
		return nil, api.SearchResponse{}, err
	}
	q := sage.SearchQuery{Query: in.Query, Limit: in.Limit, Mode: sage.Mode(in.Mode), Filter: f}
	rs, err := callService(ctx, h, ToolSearchMemory, "", q, h.svc.Search)
	if err != nil {
		return nil, api.SearchResponse{}, err
	}
	return nil, api.SearchResponse{Results: apiResults(rs)}, nil
}

func (h *handlers) getContext(ctx context.Context, req *mcp.CallToolRequest, in GetContextInput) (*mcp.CallToolResult, api.ContextResponse, error) {
	ctx = withNamespace(ctx, req.Extra)
	q := sage.ContextQuery{
		Query:      in.Query,
		MaxResults: in.MaxResults,
		MaxChars:   in.MaxChars,
		Filter:     sage.Filter{Project: in.Project, SessionID: in.SessionID},
	}
	c, err := callService(ctx, h, ToolGetContext, "", q, h.svc.Context)
	if err != nil {
		return nil, api.ContextResponse{}, err
	}
	maxChars := q.MaxChars
	if maxChars == 0 {
		maxChars = sage.DefaultMaxChars
	}
	out := api.ContextResponse{Context: clip(c.Text, maxChars), Items: apiResults(c.Items)}
	text := out.Context
	switch {
	case text != "":
	case len(out.Items) > 0:
		text = fmt.Sprintf("No relevant memory fits within max_chars=%d; ask for more characters.", maxChars)
	default:
		text = "No relevant memories."
	}
	// The block itself is the text content, ready to read; the items are
	// in the structured content.
	return &mcp.CallToolResult{Content: []mcp.Content{&mcp.TextContent{Text: text}}}, out, nil
}

func (h *handlers) forget(ctx context.Context, req *mcp.CallToolRequest, in ForgetInput) (*mcp.CallToolResult, ForgetOutput, error) {
	ctx = withNamespace(ctx, req.Extra)
	r := sage.ForgetRequest{IDs: in.IDs, SessionID: in.SessionID}
	n, err := callService(ctx, h, ToolForget, notFoundSession(in.SessionID), r, h.svc.Forget)
	if err != nil {
		return nil, ForgetOutput{}, err
	}
	return nil, ForgetOutput{Deleted: n}, nil
}

func (h *handlers) manageSession(ctx context.Context, req *mcp.CallToolRequest, in ManageSessionInput) (*mcp.CallToolResult, ManageSessionOutput, error) {
	ctx = withNamespace(ctx, req.Extra)
	out := ManageSessionOutput{Action: in.Action}
	fail := func(err error) (*mcp.CallToolResult, ManageSessionOutput, error) {
		return nil, ManageSessionOutput{}, h.fail(ctx, ToolManageSession, err, notFoundSession(in.SessionID))
	}
	if in.Action != ActionList {
		if err := checkSessionID(in.SessionID, true); err != nil {
			return fail(err)
		}
	}
	switch in.Action {
	case ActionList:
		if in.Limit < 0 || in.Limit > sage.MaxLimit {
			return fail(sage.Invalidf("limit", "must be between 1 and %d (0 means %d), got %d", sage.MaxLimit, DefaultSessionList, in.Limit))
		}
		if err := (sage.Filter{Project: in.Project}).Validate(); err != nil {
			return fail(err)
		}
		limit := in.Limit
		if limit == 0 {
			limit = DefaultSessionList
		}
		ss, err := h.svc.Sessions(ctx, in.Project, limit)
		if err != nil {
			return fail(err)
		}
		out.Sessions = make([]api.Session, len(ss))
		for i, s := range ss {
			out.Sessions[i] = apiSession(s)
		}
	case ActionInfo:
		s, err := h.svc.Session(ctx, in.SessionID)
		if err != nil {
			return fail(err)
		}
		as := apiSession(s)
		out.Session = &as
	case ActionRename:
		if err := checkTitle(in.Title); err != nil {
			return fail(err)
		}
		if err := h.svc.RenameSession(ctx, in.SessionID, in.Title); err != nil {
			return fail(err)
		}
		s, err := h.svc.Session(ctx, in.SessionID)
		if err != nil {
			return fail(err)
		}
		as := apiSession(s)
		out.Session = &as
	case ActionDelete:
		n, err := h.svc.Forget(ctx, sage.ForgetRequest{SessionID: in.SessionID})
		if err != nil {
			return fail(err)
		}
		if n == 0 {
			return fail(sage.ErrNotFound)
		}
		out.Deleted = n
	default:
		return fail(sage.Invalidf("action", "%q is not one of list, info, rename, delete", truncate(in.Action, 64)))
	}
	return nil, out, nil
}

func (h *handlers) exportSession(ctx context.Context, req *mcp.CallToolRequest, in ExportSessionInput) (*mcp.CallToolResult, ExportSessionOutput, error) {
	ctx = withNamespace(ctx, req.Extra)
	fail := func(err error) (*mcp.CallToolResult, ExportSessionOutput, error) {
		return nil, ExportSessionOutput{}, h.fail(ctx, ToolExportSession, err, notFoundSession(in.SessionID))
	}
	format := in.Format
	if format == "" {
		format = FormatMarkdown
	}
	if format != FormatMarkdown && format != FormatJSON {
		return fail(sage.Invalidf("format", "%q is not one of markdown, json", truncate(format, 64)))
	}
	if err := checkSessionID(in.SessionID, true); err != nil {
		return fail(err)
	}
	s, ms, err := h.sessionWithMemories(ctx, in.SessionID)
	if err != nil {
		return fail(err)
	}
	var doc string
	if format == FormatJSON {
		doc, err = sessionJSON(s, ms)
		if err != nil {
			return fail(err)
		}
	} else {
		doc = sessionMarkdown(s, ms)
	}
	if len(doc) > MaxExportBytes {
		return fail(failf("session %q is too large to export here (%d bytes, the limit is %d): export it with sage_manage export or GET %s/export",
			truncate(in.SessionID, 64), len(doc), MaxExportBytes, api.Version))
	}
	out := ExportSessionOutput{Session: apiSession(s), Format: format, Content: doc, Memories: len(ms)}
	// The document is the text content; the structured content repeats it
	// with the session's fields.
	return &mcp.CallToolResult{Content: []mcp.Content{&mcp.TextContent{Text: doc}}}, out, nil
}

func (h *handlers) getStatus(ctx context.Context, req *mcp.CallToolRequest, _ GetStatusInput) (*mcp.CallToolResult, api.Status, error) {
	ctx = withNamespace(ctx, req.Extra)
	st, err := h.svc.Status(ctx)
	if err != nil {
		return nil, api.Status{}, h.fail(ctx, ToolGetStatus, err, "")
	}
	return nil, apiStatus(ctx, st), nil
}

// sessionWithMemories returns a session and its memories in time order.
func (h *handlers) sessionWithMemories(ctx context.Context, id string) (sage.Session, []sage.Memory, error) {
	s, err := h.svc.Session(ctx, id)
	if err != nil {
		return sage.Session{}, nil, err
	}
	ms, err := h.svc.SessionMemories(ctx, id)
	if err != nil {
		return sage.Session{}, nil, err
	}
	return s, ms, nil
}

// filter builds and checks a search filter from tool inputs.
func filter(project, session, since, until string, tags []string, kind string) (sage.Filter, error) {
	f := sage.Filter{Project: project, SessionID: session, Tags: tags}
	var err error
	if f.Since, err = parseTime("since", since, false); err != nil {
		return f, err
	}
	if f.Until, err = parseTime("until", until, true); err != nil {
		return f, err
	}
	if kind != "" {
		f.Kinds = []sage.Kind{sage.Kind(kind)}
	}
	return f, nil
}

func notFoundSession(id string) string {
	if id == "" {
		return ""
	}
	return fmt.Sprintf("no session %q in this namespace", truncate(id, 64))
}

// checkSessionID checks a session id input.
func checkSessionID(id string, required bool) error {
	if required && strings.TrimSpace(id) == "" {
		return sage.Invalidf("session_id", "is required")
	}
	return (sage.Filter{SessionID: id}).Validate()
}

// checkTitle checks a session title, by the service's rule
// (sage.ValidateTitle).
func checkTitle(t string) error {
	return sage.ValidateTitle(t)
}

// clip cuts s to at most n characters (runes), at a rune boundary. The
// Service already keeps the block within n; this guards the promise.
func clip(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	i := 0
	for j := range s {
		if i == n {
			return s[:j]
		}
		i++
	}
	return s
}
