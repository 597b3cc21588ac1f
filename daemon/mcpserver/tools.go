package mcpserver

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/google/jsonschema-go/jsonschema"
	"github.com/modelcontextprotocol/go-sdk/mcp"

	sage "github.com/sage-mcp/sage/daemon"
	"github.com/sage-mcp/sage/daemon/wire"
	"github.com/sage-mcp/sage/shared/api"
	"github.com/sage-mcp/sage/shared/textcut"
)

// Tool names.
const (
	ToolRemember      = "remember"
	ToolSearchMemory  = "search_memory"
	ToolForget        = "forget"
	ToolManageSession = "manage_session"
	ToolGetStatus     = "get_status"
)

// ToolNames lists every tool, in the order they are added.
//
// Earlier versions had three more: save_conversation is remember with
// kind=turn (content is the prompt, response the reply), get_context is
// search_memory with max_chars, export_session is manage_session with
// action=export.
var ToolNames = []string{ToolRemember, ToolSearchMemory, ToolForget, ToolManageSession, ToolGetStatus}

// Request headers that set the defaults of a tool call: the project and
// the session of the client (sage-bridge sends Claude Code's). Arguments
// win, an explicit empty one included.
const (
	HeaderProject = "X-Sage-Project"
	HeaderSession = "X-Sage-Session"
)

// Limits of the MCP tools beyond those of package sage.
const (
	// DefaultSessionList is how many sessions manage_session(list) returns
	// unless asked.
	DefaultSessionList = 20
	// MaxTitleBytes bounds a session title.
	MaxTitleBytes = sage.MaxTitleBytes
	// MaxExportBytes bounds the document manage_session(export) returns;
	// larger sessions are exported with the REST API.
	MaxExportBytes = 8 << 20
)

// The descriptions of the tools and their inputs are short on purpose:
// Claude Code sends them with every model request (see TestTokenBudget).

// RememberInput is the input of remember. Project and SessionID are nil
// when the arguments leave them out: they then default to the request's
// headers.
type RememberInput struct {
	Content        string          `json:"content" jsonschema:"Self-contained text. For kind=turn: the prompt."`
	Response       string          `json:"response,omitempty" jsonschema:"For kind=turn: the reply."`
	Kind           string          `json:"kind,omitempty" jsonschema:"Default: note."`
	Tags           []string        `json:"tags,omitempty" jsonschema:"Labels."`
	Project        *string         `json:"project,omitempty" jsonschema:"Default: this session's. \"\": global."`
	SessionID      *string         `json:"session_id,omitempty" jsonschema:"Default: this session."`
	Metadata       json.RawMessage `json:"metadata,omitempty" jsonschema:"JSON object."`
	OccurredAt     string          `json:"occurred_at,omitempty" jsonschema:"RFC 3339 or date; default now."`
	IdempotencyKey string          `json:"idempotency_key,omitempty" jsonschema:"Retries with this key are no-ops."`
}

// SearchMemoryInput is the input of search_memory. Project is nil when the
// arguments leave it out: it then defaults to the request's header.
type SearchMemoryInput struct {
	Query     string   `json:"query" jsonschema:"Empty + max_chars: the latest."`
	Limit     int      `json:"limit,omitempty" jsonschema:"1-100, default 10."`
	Mode      string   `json:"mode,omitempty" jsonschema:"Default: hybrid."`
	Project   *string  `json:"project,omitempty" jsonschema:"Default: this session's + global. \"\": all."`
	SessionID string   `json:"session_id,omitempty" jsonschema:"Only this session."`
	Since     string   `json:"since,omitempty" jsonschema:"RFC 3339 or date."`
	Until     string   `json:"until,omitempty" jsonschema:"RFC 3339 or date, inclusive."`
	Tags      []string `json:"tags,omitempty" jsonschema:"Must have all."`
	Kind      string   `json:"kind,omitempty" jsonschema:"Only this kind."`
	MaxChars  int      `json:"max_chars,omitempty" jsonschema:"One context block, at most this long."`
	// ExcludeSession and MinScore apply with MaxChars only.
	ExcludeSession string  `json:"exclude_session,omitempty" jsonschema:"Skip this session."`
	MinScore       float64 `json:"min_score,omitempty" jsonschema:"Min score."`
}

// SearchMemoryOutput is the result of search_memory: the memories found
// and, with max_chars, the context block made of them.
type SearchMemoryOutput struct {
	Results []api.Memory `json:"results" jsonschema:"The memories, best first."`
	Context string       `json:"context,omitempty" jsonschema:"The context block (with max_chars)."`
}

// ForgetInput is the input of forget.
type ForgetInput struct {
	IDs       []int64 `json:"ids,omitempty" jsonschema:"Memory ids."`
	SessionID string  `json:"session_id,omitempty" jsonschema:"Every memory of this session."`
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
	ActionExport = "export"
)

// Export formats of manage_session(export).
const (
	FormatJSON     = "json"
	FormatMarkdown = "markdown"
)

// ManageSessionInput is the input of manage_session.
type ManageSessionInput struct {
	Action    string `json:"action" jsonschema:"What to do."`
	SessionID string `json:"session_id,omitempty" jsonschema:"For info, rename, export."`
	Title     string `json:"title,omitempty" jsonschema:"For rename."`
	Project   string `json:"project,omitempty" jsonschema:"For list."`
	Limit     int    `json:"limit,omitempty" jsonschema:"For list: 1-100, default 20."`
	Format    string `json:"format,omitempty" jsonschema:"For export."`
}

// ManageSessionOutput is the result of manage_session: Sessions for list,
// Session for info, rename and export, and the exported document.
type ManageSessionOutput struct {
	Action   string        `json:"action" jsonschema:"The action done."`
	Sessions []api.Session `json:"sessions,omitempty" jsonschema:"The sessions, most recent first (list)."`
	Session  *api.Session  `json:"session,omitempty" jsonschema:"The session (info, rename, export)."`
	Format   string        `json:"format,omitempty" jsonschema:"The format of content (export)."`
	Content  string        `json:"content,omitempty" jsonschema:"The exported document (export)."`
	Memories int           `json:"memories,omitempty" jsonschema:"How many memories it holds (export)."`
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
		// Advertised without additionalProperties: false, which would cost
		// ≈ 30 characters of every model request per tool; unknown
		// arguments are refused by friendlyArguments instead.
		advertised := *schema
		advertised.AdditionalProperties = nil
		raw, err := json.Marshal(&advertised)
		if err != nil {
			panic(fmt.Sprintf("encode input schema of %s: %v", t.Name, err))
		}
		t.InputSchema = json.RawMessage(raw)
		return t
	}
	addTool(s, add, &mcp.Tool{
		Name:        ToolRemember,
		Title:       "Remember",
		Description: "Store a note, decision, fact, todo or (kind=turn) conversation turn for later sessions.",
		Annotations: &mcp.ToolAnnotations{DestructiveHint: hintFalse},
	}, func(s *jsonschema.Schema) {
		enum(s, "kind", sage.KindNote, sage.KindDecision, sage.KindFact, sage.KindTodo, sage.KindTurn)
		plainString(s, "project", "session_id")
		notNull(s, "tags", "metadata")
	}, h.remember)

	addTool(s, add, &mcp.Tool{
		Name:        ToolSearchMemory,
		Title:       "Search memory",
		Description: "Search earlier turns, notes, decisions, facts. Best first.",
		Annotations: &mcp.ToolAnnotations{ReadOnlyHint: true},
	}, func(s *jsonschema.Schema) {
		enum(s, "mode", sage.ModeHybrid, sage.ModeSemantic, sage.ModeKeyword)
		enum(s, "kind", sage.Kinds...)
		plainString(s, "project")
		notNull(s, "tags")
	}, h.searchMemory)

	addTool(s, add, &mcp.Tool{
		Name:        ToolForget,
		Title:       "Forget",
		Description: "Delete memories permanently: by id, or a whole session.",
		Annotations: &mcp.ToolAnnotations{DestructiveHint: hintTrue},
	}, func(s *jsonschema.Schema) {
		notNull(s, "ids")
	}, h.forget)

	addTool(s, add, &mcp.Tool{
		Name:        ToolManageSession,
		Title:       "Manage sessions",
		Description: "List recent sessions, or show, rename or export one.",
		Annotations: &mcp.ToolAnnotations{DestructiveHint: hintFalse},
	}, func(s *jsonschema.Schema) {
		enum(s, "action", ActionList, ActionInfo, ActionRename, ActionExport)
		enum(s, "format", FormatMarkdown, FormatJSON)
		prop(s, "format").Default = json.RawMessage(`"` + FormatMarkdown + `"`)
	}, h.manageSession)

	addTool(s, add, &mcp.Tool{
		Name:        ToolGetStatus,
		Title:       "Sage status",
		Description: "Sage's version, database, embedder and memory counts.",
		Annotations: &mcp.ToolAnnotations{ReadOnlyHint: true},
	}, nil, h.getStatus)
}

// addTool adds t with handler fn: its input schema is In's, adjusted by
// input (when not nil), its output schema Out's, and its annotations get
// its title; every tool of Sage is idempotent and closed-world.
func addTool[In, Out any](s *mcp.Server, add func(*mcp.Tool) *mcp.Tool, t *mcp.Tool, input func(*jsonschema.Schema), fn mcp.ToolHandlerFor[In, Out]) {
	t.InputSchema = schemaFor[In](input)
	t.OutputSchema = schemaFor[Out](nil)
	t.Annotations.Title = t.Title
	t.Annotations.IdempotentHint = true
	t.Annotations.OpenWorldHint = hintFalse
	mcp.AddTool(s, add(t), fn)
}

// callService passes in to the service method fn, which validates it, and
// turns a failure into the error result of tool (notFound: the message
// when nothing was found, see fail).
func callService[In, Out any](ctx context.Context, h *handlers, tool, notFound string, in In, fn func(context.Context, In) (Out, error)) (Out, error) {
	var zero Out
	out, err := fn(ctx, in)
	if err != nil {
		return zero, h.fail(ctx, tool, err, notFound)
	}
	return out, nil
}

func (h *handlers) remember(ctx context.Context, req *mcp.CallToolRequest, in RememberInput) (*mcp.CallToolResult, api.SaveResult, error) {
	ctx = withNamespace(ctx, req.Extra)
	at, err := parseTime("occurred_at", in.OccurredAt, false)
	if err != nil {
		return nil, api.SaveResult{}, err
	}
	project, err := argOrHeader(in.Project, req.Extra, HeaderProject)
	if err != nil {
		return nil, api.SaveResult{}, h.fail(ctx, ToolRemember, err, "")
	}
	session, err := argOrHeader(in.SessionID, req.Extra, HeaderSession)
	if err != nil {
		return nil, api.SaveResult{}, h.fail(ctx, ToolRemember, err, "")
	}
	var r sage.SaveResult
	if sage.Kind(in.Kind) == sage.KindTurn {
		if len(in.Tags) > 0 {
			return nil, api.SaveResult{}, invalid("tags", "a turn (kind=turn) has no tags")
		}
		t := sage.Turn{
			IdempotencyKey:    in.IdempotencyKey,
			SessionID:         session,
			Project:           project,
			UserPrompt:        in.Content,
			AssistantResponse: in.Response,
			Metadata:          in.Metadata,
			OccurredAt:        at,
		}
		r, err = h.svc.SaveTurn(ctx, t)
		if err != nil {
			// The service names the turn's fields; remember calls them
			// content and response.
			return nil, api.SaveResult{}, h.fail(ctx, ToolRemember, turnFields(err), "")
		}
	} else {
		if in.Response != "" {
			return nil, api.SaveResult{}, invalid("response", "is for kind=turn only")
		}
		n := sage.Note{
			IdempotencyKey: in.IdempotencyKey,
			Content:        in.Content,
			Kind:           sage.Kind(in.Kind),
			Tags:           in.Tags,
			Project:        project,
			SessionID:      session,
			Metadata:       in.Metadata,
			OccurredAt:     at,
		}
		r, err = callService(ctx, h, ToolRemember, "", n, h.svc.Remember)
	}
	if err != nil {
		return nil, api.SaveResult{}, err
	}
	return nil, wire.SaveResult(r), nil
}

func (h *handlers) searchMemory(ctx context.Context, req *mcp.CallToolRequest, in SearchMemoryInput) (*mcp.CallToolResult, SearchMemoryOutput, error) {
	ctx = withNamespace(ctx, req.Extra)
	project, err := argOrHeader(in.Project, req.Extra, HeaderProject)
	if err != nil {
		return nil, SearchMemoryOutput{}, h.fail(ctx, ToolSearchMemory, err, "")
	}
	f, err := filter(project, in.SessionID, in.Since, in.Until, in.Tags, in.Kind)
	if err != nil {
		return nil, SearchMemoryOutput{}, err
	}
	// A project's memories come with the global ones (stored without a
	// project): preferences and facts that hold everywhere.
	f.IncludeGlobal = project != ""
	if in.MaxChars == 0 {
		switch {
		case in.ExcludeSession != "":
			return nil, SearchMemoryOutput{}, invalid("exclude_session", "is for max_chars only")
		case in.MinScore != 0:
			return nil, SearchMemoryOutput{}, invalid("min_score", "is for max_chars only")
		}
		q := sage.SearchQuery{Query: in.Query, Limit: in.Limit, Mode: sage.Mode(in.Mode), Filter: f}
		rs, err := callService(ctx, h, ToolSearchMemory, "", q, h.svc.Search)
		if err != nil {
			return nil, SearchMemoryOutput{}, err
		}
		return nil, SearchMemoryOutput{Results: wire.Results(rs)}, nil
	}
	// A context block is an injection: recorded in the audit, for the
	// session of the request.
	session, err := argOrHeader(nil, req.Extra, HeaderSession)
	if err != nil {
		return nil, SearchMemoryOutput{}, h.fail(ctx, ToolSearchMemory, err, "")
	}
	q := sage.InjectQuery{
		ContextQuery: sage.ContextQuery{Query: in.Query, MaxResults: in.Limit, MaxChars: in.MaxChars, Mode: sage.Mode(in.Mode),
			Filter: f, ExcludeSession: in.ExcludeSession, MinScore: in.MinScore},
		Source: sage.SourceSearch, SessionID: session,
	}
	c, err := callService(ctx, h, ToolSearchMemory, "", q, h.svc.Inject)
	if err != nil {
		return nil, SearchMemoryOutput{}, err
	}
	out := SearchMemoryOutput{Context: textcut.Runes(c.Text, in.MaxChars, ""), Results: wire.Results(c.Items)}
	text := out.Context
	switch {
	case text != "":
	case len(out.Results) > 0:
		text = fmt.Sprintf("No memory fits within max_chars=%d; ask for more characters.", in.MaxChars)
	default:
		text = "No relevant memories."
	}
	// The block itself is the text content, ready to read; the memories are
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
	switch in.Action {
	case ActionList:
		if in.Limit < 0 || in.Limit > sage.MaxLimit {
			return fail(sage.Invalidf("limit", "must be between 1 and %d (0 means %d), got %d", sage.MaxLimit, DefaultSessionList, in.Limit))
		}
		limit := in.Limit
		if limit == 0 {
			limit = DefaultSessionList
		}
		ss, err := h.svc.Sessions(ctx, in.Project, limit)
		if err != nil {
			return fail(err)
		}
		out.Sessions = wire.Sessions(ss)
	case ActionInfo:
		s, err := h.svc.Session(ctx, in.SessionID)
		if err != nil {
			return fail(err)
		}
		as := wire.Session(s)
		out.Session = &as
	case ActionRename:
		if err := h.svc.RenameSession(ctx, in.SessionID, in.Title); err != nil {
			return fail(err)
		}
		s, err := h.svc.Session(ctx, in.SessionID)
		if err != nil {
			return fail(err)
		}
		as := wire.Session(s)
		out.Session = &as
	case ActionExport:
		return h.exportSession(ctx, in, fail)
	default:
		return fail(sage.Invalidf("action", "%q is not one of list, info, rename, export", textcut.Bytes(in.Action, 64, textcut.Ellipsis)))
	}
	return nil, out, nil
}

// exportSession is manage_session(export): the session's memories in time
// order, as a Markdown transcript or as JSON.
func (h *handlers) exportSession(ctx context.Context, in ManageSessionInput, fail func(error) (*mcp.CallToolResult, ManageSessionOutput, error)) (*mcp.CallToolResult, ManageSessionOutput, error) {
	format := in.Format
	if format == "" {
		format = FormatMarkdown
	}
	if format != FormatMarkdown && format != FormatJSON {
		return fail(sage.Invalidf("format", "%q is not one of markdown, json", textcut.Bytes(format, 64, textcut.Ellipsis)))
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
			textcut.Bytes(in.SessionID, 64, textcut.Ellipsis), len(doc), MaxExportBytes, api.Version))
	}
	as := wire.Session(s)
	out := ManageSessionOutput{Action: ActionExport, Session: &as, Format: format, Content: doc, Memories: len(ms)}
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
	return nil, wire.Status(ctx, st), nil
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

// turnFields renames the fields of a turn's input error to the arguments
// of remember: the prompt is content, the reply response.
func turnFields(err error) error {
	var ie *sage.InputError
	if !errors.As(err, &ie) {
		return err
	}
	field := map[string]string{"user_prompt": "content", "assistant_response": "response"}[ie.Field]
	if field == "" {
		return err
	}
	msg := strings.NewReplacer("user_prompt", "content", "assistant_response", "response").Replace(ie.Message)
	return sage.Invalidf(field, "%s", msg)
}

// argOrHeader returns the argument when the call gave it (empty
// included), else the value of the request header name, checked like an
// argument: a bad header is an input error about that header.
func argOrHeader(arg *string, extra *mcp.RequestExtra, name string) (string, error) {
	if arg != nil {
		return *arg, nil
	}
	if extra == nil || extra.Header == nil {
		return "", nil
	}
	v := strings.TrimSpace(extra.Header.Get(name))
	var ie *sage.InputError
	if err := (sage.Filter{Project: v}).Validate(); errors.As(err, &ie) {
		return "", sage.Invalidf(name+" header", "%s", ie.Message)
	} else if err != nil {
		return "", err
	}
	return v, nil
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
	return fmt.Sprintf("no session %q in this namespace", textcut.Bytes(id, 64, textcut.Ellipsis))
}
