// Package mock holds function-field mocks of the daemon's interfaces, for
// tests of the edges (MCP tools, REST handlers) that need no database.
// Each method calls the field of the same name plus Fn; a method whose
// field is nil panics, naming it, so that a test states every call it
// expects.
//
// Unlike the real service, the mocks validate nothing: a test of an input
// error has the field return the input's Validate error, as the service
// does before anything else.
package mock

import (
	"context"
	"reflect"

	sage "github.com/sage-mcp/sage/daemon"
)

// Service is a sage.Service whose methods call its fields.
type Service struct {
	SaveTurnFn        func(ctx context.Context, t sage.Turn) (sage.SaveResult, error)
	SaveTurnsFn       func(ctx context.Context, ts []sage.Turn) ([]sage.SaveResult, error)
	RememberFn        func(ctx context.Context, n sage.Note) (sage.SaveResult, error)
	SearchFn          func(ctx context.Context, q sage.SearchQuery) ([]sage.Result, error)
	ContextFn         func(ctx context.Context, q sage.ContextQuery) (sage.Context, error)
	ForgetFn          func(ctx context.Context, r sage.ForgetRequest) (int64, error)
	SessionsFn        func(ctx context.Context, project string, limit int) ([]sage.Session, error)
	SessionFn         func(ctx context.Context, id string) (sage.Session, error)
	RenameSessionFn   func(ctx context.Context, id, title string) error
	SessionMemoriesFn func(ctx context.Context, id string) ([]sage.Memory, error)
	ExportFn          func(ctx context.Context, f sage.Filter, fn func(sage.Memory) error) error
	ImportFn          func(ctx context.Context, ms []sage.Memory) (sage.ImportResult, error)
	StatusFn          func(ctx context.Context) (sage.Status, error)
	ReindexFn         func(ctx context.Context, progress func(sage.ReindexProgress)) error
	InjectFn          func(ctx context.Context, q sage.InjectQuery) (sage.Injected, error)
	InjectionsFn      func(ctx context.Context, f sage.InjectionFilter) ([]sage.Injection, error)
	MemoryFn          func(ctx context.Context, id int64) (sage.Memory, error)
	UpdateMemoryFn    func(ctx context.Context, id int64, kind sage.Kind, tags []string) (sage.Memory, error)
	OverviewFn        func(ctx context.Context, days int) (sage.Overview, error)
	SettingsFn        func(ctx context.Context) (sage.Settings, error)
	SaveSettingsFn    func(ctx context.Context, st sage.Settings) (sage.Settings, error)
}

var _ sage.Service = (*Service)(nil)

// must returns fn, or panics naming method when fn is nil.
func must[F any](fn F, method string) F {
	if reflect.ValueOf(fn).IsNil() {
		panic("mock: Service." + method + " called, but " + method + "Fn is nil")
	}
	return fn
}

// SaveTurn calls SaveTurnFn.
func (s *Service) SaveTurn(ctx context.Context, t sage.Turn) (sage.SaveResult, error) {
	return must(s.SaveTurnFn, "SaveTurn")(ctx, t)
}

// SaveTurns calls SaveTurnsFn.
func (s *Service) SaveTurns(ctx context.Context, ts []sage.Turn) ([]sage.SaveResult, error) {
	return must(s.SaveTurnsFn, "SaveTurns")(ctx, ts)
}

// Remember calls RememberFn.
func (s *Service) Remember(ctx context.Context, n sage.Note) (sage.SaveResult, error) {
	return must(s.RememberFn, "Remember")(ctx, n)
}

// Search calls SearchFn.
func (s *Service) Search(ctx context.Context, q sage.SearchQuery) ([]sage.Result, error) {
	return must(s.SearchFn, "Search")(ctx, q)
}

// Context calls ContextFn.
func (s *Service) Context(ctx context.Context, q sage.ContextQuery) (sage.Context, error) {
	return must(s.ContextFn, "Context")(ctx, q)
}

// Forget calls ForgetFn.
func (s *Service) Forget(ctx context.Context, r sage.ForgetRequest) (int64, error) {
	return must(s.ForgetFn, "Forget")(ctx, r)
}

// Sessions calls SessionsFn.
func (s *Service) Sessions(ctx context.Context, project string, limit int) ([]sage.Session, error) {
	return must(s.SessionsFn, "Sessions")(ctx, project, limit)
}

// Session calls SessionFn.
func (s *Service) Session(ctx context.Context, id string) (sage.Session, error) {
	return must(s.SessionFn, "Session")(ctx, id)
}

// RenameSession calls RenameSessionFn.
func (s *Service) RenameSession(ctx context.Context, id, title string) error {
	return must(s.RenameSessionFn, "RenameSession")(ctx, id, title)
}

// SessionMemories calls SessionMemoriesFn.
func (s *Service) SessionMemories(ctx context.Context, id string) ([]sage.Memory, error) {
	return must(s.SessionMemoriesFn, "SessionMemories")(ctx, id)
}

// Export calls ExportFn.
func (s *Service) Export(ctx context.Context, f sage.Filter, fn func(sage.Memory) error) error {
	return must(s.ExportFn, "Export")(ctx, f, fn)
}

// Import calls ImportFn.
func (s *Service) Import(ctx context.Context, ms []sage.Memory) (sage.ImportResult, error) {
	return must(s.ImportFn, "Import")(ctx, ms)
}

// Status calls StatusFn.
func (s *Service) Status(ctx context.Context) (sage.Status, error) {
	return must(s.StatusFn, "Status")(ctx)
}

// Reindex calls ReindexFn.
func (s *Service) Reindex(ctx context.Context, progress func(sage.ReindexProgress)) error {
	return must(s.ReindexFn, "Reindex")(ctx, progress)
}

// Inject calls InjectFn.
func (s *Service) Inject(ctx context.Context, q sage.InjectQuery) (sage.Injected, error) {
	return must(s.InjectFn, "Inject")(ctx, q)
}

// Injections calls InjectionsFn.
func (s *Service) Injections(ctx context.Context, f sage.InjectionFilter) ([]sage.Injection, error) {
	return must(s.InjectionsFn, "Injections")(ctx, f)
}

// Memory calls MemoryFn.
func (s *Service) Memory(ctx context.Context, id int64) (sage.Memory, error) {
	return must(s.MemoryFn, "Memory")(ctx, id)
}

// UpdateMemory calls UpdateMemoryFn.
func (s *Service) UpdateMemory(ctx context.Context, id int64, kind sage.Kind, tags []string) (sage.Memory, error) {
	return must(s.UpdateMemoryFn, "UpdateMemory")(ctx, id, kind, tags)
}

// Overview calls OverviewFn.
func (s *Service) Overview(ctx context.Context, days int) (sage.Overview, error) {
	return must(s.OverviewFn, "Overview")(ctx, days)
}

// Settings calls SettingsFn.
func (s *Service) Settings(ctx context.Context) (sage.Settings, error) {
	return must(s.SettingsFn, "Settings")(ctx)
}

// SaveSettings calls SaveSettingsFn.
func (s *Service) SaveSettings(ctx context.Context, st sage.Settings) (sage.Settings, error) {
	return must(s.SaveSettingsFn, "SaveSettings")(ctx, st)
}
