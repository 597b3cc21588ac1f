package metrics

import (
	"context"
	"errors"
	"time"

	sage "github.com/sage-mcp/sage/daemon"
)

// Service returns the stable sage.Service that the MCP tools and the REST
// API share: each call goes to current() — the service of the database
// now open, or an error (sage.ErrUnavailable) while there is none — and
// its latency and outcome are recorded.
func (r *Registry) Service(current func() (sage.Service, error)) sage.Service {
	return serviceProxy{r: r, current: current}
}

// serviceProxy is the Service of Registry.Service.
type serviceProxy struct {
	r       *Registry
	current func() (sage.Service, error)
}

var _ sage.Service = serviceProxy{}

// call runs fn on the current service, timing it under method.
func call[T any](p serviceProxy, method string, fn func(sage.Service) (T, error)) (T, error) {
	start := time.Now()
	var zero T
	svc, err := p.current()
	if err == nil {
		zero, err = fn(svc)
	}
	p.r.serviceDuration.WithLabelValues(method, outcome(err)).Observe(time.Since(start).Seconds())
	return zero, err
}

func outcome(err error) string {
	switch {
	case err == nil:
		return "ok"
	case errors.Is(err, sage.ErrInvalid):
		return "invalid"
	case errors.Is(err, sage.ErrNotFound):
		return "not_found"
	case errors.Is(err, sage.ErrUnavailable):
		return "unavailable"
	case errors.Is(err, sage.ErrEmbedder):
		return "embedder"
	case errors.Is(err, context.Canceled):
		return "canceled"
	}
	return "error"
}

func (p serviceProxy) SaveTurn(ctx context.Context, t sage.Turn) (sage.SaveResult, error) {
	return call(p, "SaveTurn", func(s sage.Service) (sage.SaveResult, error) { return s.SaveTurn(ctx, t) })
}

func (p serviceProxy) SaveTurns(ctx context.Context, ts []sage.Turn) ([]sage.SaveResult, error) {
	return call(p, "SaveTurns", func(s sage.Service) ([]sage.SaveResult, error) { return s.SaveTurns(ctx, ts) })
}

func (p serviceProxy) Remember(ctx context.Context, n sage.Note) (sage.SaveResult, error) {
	return call(p, "Remember", func(s sage.Service) (sage.SaveResult, error) { return s.Remember(ctx, n) })
}

func (p serviceProxy) Search(ctx context.Context, q sage.SearchQuery) ([]sage.Result, error) {
	return call(p, "Search", func(s sage.Service) ([]sage.Result, error) { return s.Search(ctx, q) })
}

func (p serviceProxy) Context(ctx context.Context, q sage.ContextQuery) (sage.Context, error) {
	return call(p, "Context", func(s sage.Service) (sage.Context, error) { return s.Context(ctx, q) })
}

func (p serviceProxy) Forget(ctx context.Context, r sage.ForgetRequest) (int64, error) {
	return call(p, "Forget", func(s sage.Service) (int64, error) { return s.Forget(ctx, r) })
}

func (p serviceProxy) Sessions(ctx context.Context, project string, limit int) ([]sage.Session, error) {
	return call(p, "Sessions", func(s sage.Service) ([]sage.Session, error) { return s.Sessions(ctx, project, limit) })
}

func (p serviceProxy) Session(ctx context.Context, id string) (sage.Session, error) {
	return call(p, "Session", func(s sage.Service) (sage.Session, error) { return s.Session(ctx, id) })
}

func (p serviceProxy) RenameSession(ctx context.Context, id, title string) error {
	_, err := call(p, "RenameSession", func(s sage.Service) (struct{}, error) { return struct{}{}, s.RenameSession(ctx, id, title) })
	return err
}

func (p serviceProxy) SessionMemories(ctx context.Context, id string) ([]sage.Memory, error) {
	return call(p, "SessionMemories", func(s sage.Service) ([]sage.Memory, error) { return s.SessionMemories(ctx, id) })
}

func (p serviceProxy) Export(ctx context.Context, f sage.Filter, fn func(sage.Memory) error) error {
	_, err := call(p, "Export", func(s sage.Service) (struct{}, error) { return struct{}{}, s.Export(ctx, f, fn) })
	return err
}

func (p serviceProxy) Import(ctx context.Context, ms []sage.Memory) (sage.ImportResult, error) {
	return call(p, "Import", func(s sage.Service) (sage.ImportResult, error) { return s.Import(ctx, ms) })
}

func (p serviceProxy) Status(ctx context.Context) (sage.Status, error) {
	return call(p, "Status", func(s sage.Service) (sage.Status, error) { return s.Status(ctx) })
}

func (p serviceProxy) Reindex(ctx context.Context, progress func(sage.ReindexProgress)) error {
	_, err := call(p, "Reindex", func(s sage.Service) (struct{}, error) { return struct{}{}, s.Reindex(ctx, progress) })
	return err
}

func (p serviceProxy) Inject(ctx context.Context, q sage.InjectQuery) (sage.Injected, error) {
	return call(p, "Inject", func(s sage.Service) (sage.Injected, error) { return s.Inject(ctx, q) })
}

func (p serviceProxy) Injections(ctx context.Context, f sage.InjectionFilter) ([]sage.Injection, error) {
	return call(p, "Injections", func(s sage.Service) ([]sage.Injection, error) { return s.Injections(ctx, f) })
}

func (p serviceProxy) Memory(ctx context.Context, id int64) (sage.Memory, error) {
	return call(p, "Memory", func(s sage.Service) (sage.Memory, error) { return s.Memory(ctx, id) })
}

func (p serviceProxy) UpdateMemory(ctx context.Context, id int64, kind sage.Kind, tags []string) (sage.Memory, error) {
	return call(p, "UpdateMemory", func(s sage.Service) (sage.Memory, error) { return s.UpdateMemory(ctx, id, kind, tags) })
}

func (p serviceProxy) Overview(ctx context.Context, days int) (sage.Overview, error) {
	return call(p, "Overview", func(s sage.Service) (sage.Overview, error) { return s.Overview(ctx, days) })
}

func (p serviceProxy) Settings(ctx context.Context) (sage.Settings, error) {
	return call(p, "Settings", func(s sage.Service) (sage.Settings, error) { return s.Settings(ctx) })
}

func (p serviceProxy) SaveSettings(ctx context.Context, st sage.Settings) (sage.Settings, error) {
	return call(p, "SaveSettings", func(s sage.Service) (sage.Settings, error) { return s.SaveSettings(ctx, st) })
}
