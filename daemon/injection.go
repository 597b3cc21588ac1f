package sage

import (
	"time"

	"github.com/sage-mcp/sage/shared/textcut"
)

// Sources of an injection (Injection.Source).
const (
	SourceHook   = "hook"          // the prompt hook (UserPromptSubmit)
	SourceSearch = "search_memory" // search_memory with max_chars
	SourceREST   = "rest"          // GET /api/v1/context without a source
)

// MaxPromptHead bounds the start of a prompt kept in the injection audit.
const MaxPromptHead = 200

// InjectQuery asks for the block to inject into a prompt: Context's block,
// optionally gated, recorded in the injection audit unless DryRun.
type InjectQuery struct {
	ContextQuery
	// Gate keeps only the results the injection gate passes (package
	// gate; thresholds per embedding model), so an unrelated prompt gets
	// nothing.
	Gate bool
	// DryRun records nothing (sage_manage why), and its Candidates also
	// hold the memories ExcludeSession and MinScore kept out, with the
	// reason (one more Context query when either is set).
	DryRun bool
	// Source says who injects (SourceHook, SourceSearch…), for the audit.
	Source string
	// SessionID is the session the block goes to, for the audit (the
	// hook's own; ExcludeSession is usually the same).
	SessionID string
}

// Candidate is a result Inject considered, with the gate's verdict.
type Candidate struct {
	Result
	// Passed is whether the gate (or, without it, the filters) let it in.
	Passed bool
	// Reason says why, with the scores compared.
	Reason string
}

// Injected is what Inject decided: the block (empty: nothing to inject),
// every result considered with its verdict, and the audit record's id
// (0 when nothing was recorded).
type Injected struct {
	Context
	Candidates []Candidate
	Recorded   int64
}

// InjectedMemory is one memory of a recorded injection.
type InjectedMemory struct {
	ID              int64
	Score           float64
	Keyword, Vector Hit
}

// Injection is one record of the injection audit.
type Injection struct {
	ID         int64
	At         time.Time
	Source     string
	SessionID  string
	Project    string
	PromptHash string // hex SHA-256 of the whole prompt
	PromptHead string // its first MaxPromptHead runes
	Memories   []InjectedMemory
	Chars      int // runes injected
}

// InjectionFilter narrows Injections. Zero fields do not filter.
type InjectionFilter struct {
	SessionID string
	Limit     int // 0 means DefaultLimit; at most MaxLimit
}

// Validate checks an inject query's fields.
func (q InjectQuery) Validate() error {
	if err := q.ContextQuery.Validate(); err != nil {
		return err
	}
	switch q.Source {
	case "", SourceHook, SourceSearch, SourceREST:
	default:
		return Invalidf("source", "want %s, %s or %s, got %q", SourceHook, SourceSearch, SourceREST, textcut.Bytes(q.Source, 40, textcut.Ellipsis))
	}
	return checkID("session_id", q.SessionID)
}

// Validate checks an injection filter's fields.
func (f InjectionFilter) Validate() error {
	if f.Limit < 0 || f.Limit > MaxLimit {
		return Invalidf("limit", "must be between 1 and %d (0 means %d), got %d", MaxLimit, DefaultLimit, f.Limit)
	}
	return checkID("session", f.SessionID)
}
