// Package sage holds the domain of sage-daemon: memories, sessions, search
// queries, the Service that the MCP tools and the REST API share, the
// Embedder interface and the errors they return.
//
// The other packages of the daemon, named after their dependency or their
// concept:
//
//   - postgres: sage.Service on PostgreSQL with pgvector, and the token store;
//   - embed: the embedders (builtin, OpenAI-compatible);
//   - tokenize: the word tokens of full-text search and the builtin embedder;
//   - mcpserver: the MCP tools and prompt, on the official Go SDK;
//   - http: the HTTP surface (/mcp, REST under /api/v1, auth, OAuth, health);
//   - wire: the one converter between the domain and shared/api's JSON;
//   - metrics: the Prometheus registry and the wrappers that feed it;
//   - config: the configuration, from flags, environment and file;
//   - backend: the database connection, made in the background with backoff;
//   - admintoken: the admin key a fresh daemon needs (SAGE_TOKEN, token file);
//   - mock: function-field mocks of the interfaces, for tests;
//   - servicetest: the contract suite every sage.Service passes.
//
// cmd/sage-daemon only wires them together.
package sage

import (
	"context"
	"encoding/json"
	"time"

	"github.com/sage-mcp/sage/shared/version"
)

// Version is the daemon's version: shared/version's, which releases set at
// build time with -ldflags "-X github.com/sage-mcp/sage/shared/version.Version=…".
var Version = version.String()

// Kind says what a memory is.
type Kind string

// The kinds of memory.
const (
	KindTurn     Kind = "turn"     // a conversation turn: user prompt + assistant response
	KindNote     Kind = "note"     // free-form note
	KindDecision Kind = "decision" // a decision taken
	KindFact     Kind = "fact"     // a fact about the user or the project
	KindTodo     Kind = "todo"     // an open thread
)

// Kinds lists every valid Kind.
var Kinds = []Kind{KindTurn, KindNote, KindDecision, KindFact, KindTodo}

// Valid reports whether k is one of Kinds.
func (k Kind) Valid() bool {
	for _, v := range Kinds {
		if k == v {
			return true
		}
	}
	return false
}

// Limits on input. Input beyond them is refused with an *InputError and
// nothing is stored.
const (
	MaxContentBytes   = 1 << 20 // text of one memory (turn: prompt + response)
	MaxQueryBytes     = 4096    // a search query
	MaxMetadataBytes  = 64 << 10
	MaxTags           = 32
	MaxTagBytes       = 64
	MaxIDBytes        = 256 // session id, project, idempotency key, token id
	MaxTitleBytes     = 256 // a session title
	MaxTokenNameBytes = 128 // an access token's name
	DefaultLimit      = 10
	MaxLimit          = 100
	DefaultMaxChars   = 4000
	MaxMaxChars       = 64000
	MaxBatch          = 500 // turns in one SaveTurns call, memories in one Import
	MaxForgetIDs      = 1000
	DefaultNamespace  = "default"
	MaxNamespaceBytes = 64
)

// Memory is one stored memory: a conversation turn or a note.
type Memory struct {
	ID             int64
	Namespace      string
	Project        string
	SessionID      string
	Kind           Kind
	Text           string
	ContentHash    string // hex SHA-256 of the normalized text
	IdempotencyKey string
	Metadata       json.RawMessage
	Tags           []string
	OccurredAt     time.Time // when it happened (client-supplied or now)
	CreatedAt      time.Time // when it was stored
	// EmbeddingModel is the model of the stored vector; empty while the
	// vector is pending (the embedder failed and a backfill will retry).
	EmbeddingModel string
}

// Session is a conversation session, derived from its memories.
type Session struct {
	ID        string
	Namespace string
	Project   string
	Title     string
	Memories  int
	FirstAt   time.Time
	LastAt    time.Time
}

// Turn is a conversation turn to save.
type Turn struct {
	IdempotencyKey    string
	SessionID         string
	Project           string
	UserPrompt        string
	AssistantResponse string
	Metadata          json.RawMessage
	OccurredAt        time.Time // zero means now
}

// Note is a memory to save that is not a turn.
type Note struct {
	IdempotencyKey string
	Content        string
	Kind           Kind // zero means KindNote
	Tags           []string
	Project        string
	SessionID      string
	Metadata       json.RawMessage
	OccurredAt     time.Time // zero means now
}

// SaveResult tells where a saved memory went.
type SaveResult struct {
	ID           int64
	Deduplicated bool
}

// Mode is a retrieval mode.
type Mode string

// The retrieval modes.
const (
	ModeHybrid   Mode = "hybrid"   // vector + full text, fused (default)
	ModeSemantic Mode = "semantic" // vector only
	ModeKeyword  Mode = "keyword"  // full text only
)

// Filter narrows a search. Zero fields do not filter.
type Filter struct {
	Project   string
	SessionID string
	Kinds     []Kind
	Tags      []string // a memory must carry every tag
	Since     time.Time
	Until     time.Time
	// IncludeGlobal makes a Project filter match the memories without a
	// project too (global facts and preferences, recalled in every
	// project). Without Project it changes nothing.
	IncludeGlobal bool
}

// SearchQuery asks for the memories most relevant to Query.
type SearchQuery struct {
	Query  string
	Limit  int  // 0 means DefaultLimit; at most MaxLimit
	Mode   Mode // zero means ModeHybrid
	Filter Filter
}

// Result is a memory with its relevance score (higher is better).
type Result struct {
	Memory
	Score float64
	// Keyword and Vector say how each retriever ranked the memory; a zero
	// Rank means that retriever did not return it (or did not run).
	Keyword, Vector Hit
}

// Hit is one retriever's verdict on a memory: its 1-based rank in that
// retriever's list (0: not in it) and the retriever's own score. A search
// result the vector retriever did not list still gets its cosine
// similarity with the query as the vector Hit's Score, with Rank 0, when
// the query was embedded and the memory has a vector of the same model
// (in a large store a good keyword match often lies beyond the vector
// retriever's candidate pool). So Rank 0 with a nonzero Score is a score
// without a rank; Rank 0 with Score 0 is no score at all (see Known).
type Hit struct {
	Rank  int
	Score float64
}

// Known reports whether h has a score: the retriever listed the memory, or
// its score was computed without it (Rank 0, nonzero Score).
func (h Hit) Known() bool { return h.Rank > 0 || h.Score != 0 }

// ContextQuery asks for a compact context block to inject into a prompt.
type ContextQuery struct {
	Query      string
	MaxResults int  // 0 means DefaultLimit
	MaxChars   int  // 0 means DefaultMaxChars; the block never exceeds it
	Mode       Mode // of the search; zero means ModeHybrid
	// Filter narrows the memories; Context always sets IncludeGlobal, so
	// a project's context holds the global memories too.
	Filter Filter
	// ExcludeSession drops the memories of this session before the limit
	// is applied (the hook's own session is already in the model's context).
	ExcludeSession string
	// MinScore drops results scoring below it before the limit is applied
	// (0: no threshold).
	MinScore float64
}

// Context is a block ready to inject and the memories it was made of.
type Context struct {
	Text  string
	Items []Result
}

// ForgetRequest deletes memories by id or a whole session.
type ForgetRequest struct {
	IDs       []int64
	SessionID string
}

// Status describes the running daemon and its store.
type Status struct {
	Version           string
	PostgresVersion   string
	PgvectorVersion   string
	Embedder          string
	EmbeddingModel    string
	Dimensions        int
	Memories          int64
	Sessions          int64
	PendingEmbeddings int64
	Uptime            time.Duration
	Namespace         string
	// EmbedderState is EmbedderReady, EmbedderDownloading or
	// EmbedderUnavailable; while it is not ready, saves are stored pending
	// (backfilled once it answers) and searches use keywords only.
	EmbedderState string
	// EmbedderDetail says why the embedder is not ready (its last error).
	EmbedderDetail string
}

// ImportResult counts what an import did.
type ImportResult struct {
	Imported     int
	Deduplicated int
}

// ReindexProgress reports how far a reindex has come.
type ReindexProgress struct {
	Done, Total int64
}

// Service is the memory service: the one layer behind the MCP tools and the
// REST API. Every method works in the namespace of its context (see
// WithNamespace); memories of other namespaces are invisible.
type Service interface {
	// SaveTurn stores a turn once: a second save with the same idempotency
	// key, or with the same session and content, returns the first id with
	// Deduplicated set.
	SaveTurn(ctx context.Context, t Turn) (SaveResult, error)
	// SaveTurns saves a batch atomically: all turns or none.
	SaveTurns(ctx context.Context, ts []Turn) ([]SaveResult, error)
	// Remember stores a note.
	Remember(ctx context.Context, n Note) (SaveResult, error)
	// Search ranks memories by relevance to the query. Memories with the
	// same or nearly the same text appear once: the most relevant (or, when
	// as relevant, the most recent).
	Search(ctx context.Context, q SearchQuery) ([]Result, error)
	// Context builds a block of relevant memories within q.MaxChars. A
	// project filter matches the memories without a project too (as with
	// Filter.IncludeGlobal).
	Context(ctx context.Context, q ContextQuery) (Context, error)
	// Forget deletes memories and returns how many went.
	Forget(ctx context.Context, r ForgetRequest) (int64, error)
	// Sessions lists sessions, most recent first.
	Sessions(ctx context.Context, project string, limit int) ([]Session, error)
	// Session returns one session, or ErrNotFound.
	Session(ctx context.Context, id string) (Session, error)
	// RenameSession sets a session's title.
	RenameSession(ctx context.Context, id, title string) error
	// SessionMemories returns a session's memories in time order.
	SessionMemories(ctx context.Context, id string) ([]Memory, error)
	// Export calls fn for every memory matching f, oldest first, streaming.
	Export(ctx context.Context, f Filter, fn func(Memory) error) error
	// Import stores memories (idempotently, by idempotency key or content).
	Import(ctx context.Context, ms []Memory) (ImportResult, error)
	// Status describes the daemon and the namespace's store.
	Status(ctx context.Context) (Status, error)
	// Reindex re-embeds every memory whose vector is missing or from another
	// model than the current embedder's. Search keeps working meanwhile.
	Reindex(ctx context.Context, progress func(ReindexProgress)) error
	// Inject builds the block to inject into a prompt (Context, then the
	// gate with q.Gate) and records it in the injection audit unless
	// q.DryRun or the block is empty.
	Inject(ctx context.Context, q InjectQuery) (Injected, error)
	// Injections lists recorded injections, most recent first.
	Injections(ctx context.Context, f InjectionFilter) ([]Injection, error)
	// Memory returns one memory, or ErrNotFound.
	Memory(ctx context.Context, id int64) (Memory, error)
	// UpdateMemory sets a memory's kind and tags (its text is kept) and
	// returns it updated, or ErrNotFound.
	UpdateMemory(ctx context.Context, id int64, kind Kind, tags []string) (Memory, error)
	// Overview counts the namespace's memories by project, kind and day
	// (the last days days) and its injections by day.
	Overview(ctx context.Context, days int) (Overview, error)
	// Settings returns the namespace's recall settings (DefaultSettings,
	// UpdatedAt zero, until saved).
	Settings(ctx context.Context) (Settings, error)
	// SaveSettings validates and stores the namespace's recall settings.
	SaveSettings(ctx context.Context, s Settings) (Settings, error)
}

// Embedder turns texts into vectors.
type Embedder interface {
	// Name is the provider ("builtin", "openai").
	Name() string
	// Model names the vectors it makes; it is stored with each vector, and a
	// different model (or dimension) means a reindex.
	Model() string
	// Dimensions is the length of every vector.
	Dimensions() int
	// Embed returns one vector per text, in order. It never returns a fake
	// vector: on failure it returns an error.
	Embed(ctx context.Context, texts []string) ([][]float32, error)
}

// The states of an embedder (Status.EmbedderState).
const (
	EmbedderReady = "ready"
	// EmbedderDownloading: a remote embedder that has not answered since the
	// daemon started, the way a server still downloading or loading its
	// model fails (connection refused, 503, model not found).
	EmbedderDownloading = "downloading"
	// EmbedderUnavailable: any other failure, or a failure after it answered.
	EmbedderUnavailable = "unavailable"
)

// EmbedderHealth is what an embedder that can fail knows of its health.
type EmbedderHealth struct {
	State  string    // EmbedderReady, EmbedderDownloading or EmbedderUnavailable
	Detail string    // the last error while not ready
	Since  time.Time // when it entered State
}

// HealthReporter is implemented by embedders that track their health (a
// remote one); others are always ready.
type HealthReporter interface {
	Health() EmbedderHealth
}

// HealthOf returns the health of e, looking through wrappers that have an
// Unwrap() Embedder method; an embedder that does not report is ready.
func HealthOf(e Embedder) EmbedderHealth {
	for e != nil {
		if h, ok := e.(HealthReporter); ok {
			return h.Health()
		}
		u, ok := e.(interface{ Unwrap() Embedder })
		if !ok {
			break
		}
		e = u.Unwrap()
	}
	return EmbedderHealth{State: EmbedderReady}
}

type namespaceKey struct{}

// WithNamespace returns a context whose Service calls work in ns.
func WithNamespace(ctx context.Context, ns string) context.Context {
	return context.WithValue(ctx, namespaceKey{}, ns)
}

// NamespaceFrom returns the namespace of ctx, or DefaultNamespace.
func NamespaceFrom(ctx context.Context) string {
	if ns, ok := ctx.Value(namespaceKey{}).(string); ok && ns != "" {
		return ns
	}
	return DefaultNamespace
}
