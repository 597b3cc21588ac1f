package console

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	sage "github.com/sage-mcp/sage/daemon"
	"github.com/sage-mcp/sage/shared/api"
	"github.com/sage-mcp/sage/shared/textcut"
)

// overviewDays is the span of the overview's charts.
const overviewDays = 30

type overviewData struct {
	At         time.Time // when the counts were read
	Status     sage.Status
	Overview   sage.Overview
	ByProject  []share
	ByKind     []share
	PerDay     chart
	Injections chart
}

// show renders page with the data that load reads, called with the
// session's context, or shows load's error.
func show[T any](c *Console, w http.ResponseWriter, r *http.Request, s *session, page string, load func(context.Context) (T, error)) {
	ctx, cancel := ctxFor(r, s)
	defer cancel()
	d, err := load(ctx)
	if err != nil {
		c.fail(w, r, err)
		return
	}
	c.render(w, r, http.StatusOK, page, s, "", d)
}

// act runs do, called with the session's context, then flashes the
// message flash and redirects to the path do returns; or shows do's error.
func (c *Console) act(w http.ResponseWriter, r *http.Request, s *session, flash string, do func(context.Context) (string, error)) {
	ctx, cancel := ctxFor(r, s)
	defer cancel()
	to, err := do(ctx)
	if err != nil {
		c.fail(w, r, err)
		return
	}
	c.setFlash(s, flash)
	http.Redirect(w, r, to, http.StatusSeeOther)
}

func (c *Console) overview(w http.ResponseWriter, r *http.Request, s *session) {
	// The counts are exact and read in a few ms (postgres.MemoryService
	// keeps them as the rows change), so every page reads them afresh.
	show(c, w, r, s, "overview", func(ctx context.Context) (overviewData, error) {
		d := overviewData{At: c.opts.Now()}
		var err error
		if d.Status, err = c.svc.Status(ctx); err != nil {
			return d, err
		}
		if d.Overview, err = c.svc.Overview(ctx, overviewDays); err != nil {
			return d, err
		}
		o := d.Overview
		d.ByProject, d.ByKind = shares(o.ByProject, 12), shares(o.ByKind, len(sage.Kinds))
		d.PerDay, d.Injections = newChart(o.MemoriesPerDay), newChart(o.InjectionsPerDay)
		return d, nil
	})
}

type sessionsData struct {
	Project, Filter string
	Sessions        []sage.Session
}

func (c *Console) sessionsPage(w http.ResponseWriter, r *http.Request, s *session) {
	show(c, w, r, s, "sessions", func(ctx context.Context) (sessionsData, error) {
		q := r.URL.Query()
		d := sessionsData{Project: strings.TrimSpace(q.Get("project")), Filter: strings.TrimSpace(q.Get("q"))}
		list, err := c.svc.Sessions(ctx, d.Project, sage.MaxLimit)
		f := strings.ToLower(d.Filter)
		for _, x := range list {
			if f == "" || strings.Contains(strings.ToLower(x.Title), f) || strings.Contains(strings.ToLower(x.ID), f) {
				d.Sessions = append(d.Sessions, x)
			}
		}
		return d, err
	})
}

type transcriptData struct {
	Session  sage.Session
	Memories []sage.Memory
}

func (c *Console) transcript(w http.ResponseWriter, r *http.Request, s *session) {
	show(c, w, r, s, "transcript", func(ctx context.Context) (d transcriptData, err error) {
		id := r.PathValue("id")
		if d.Session, err = c.svc.Session(ctx, id); err != nil {
			return d, err
		}
		d.Memories, err = c.svc.SessionMemories(ctx, id)
		return d, err
	})
}

func (c *Console) renameSession(w http.ResponseWriter, r *http.Request, s *session) {
	c.act(w, r, s, "ss.renamed", func(ctx context.Context) (string, error) {
		id := r.PathValue("id")
		return Prefix + "/sessions/" + url.PathEscape(id), c.svc.RenameSession(ctx, id, trimForm(r, "title"))
	})
}

// confirmData is the confirmation page of a deletion.
type confirmData struct {
	Question string // message key
	Action   string // the POST target
	Cancel   string
	What     string // what goes, shown
}

func (c *Console) confirmDeleteSession(w http.ResponseWriter, r *http.Request, s *session) {
	show(c, w, r, s, "confirm", func(ctx context.Context) (confirmData, error) {
		id := r.PathValue("id")
		x, err := c.svc.Session(ctx, id)
		p := Prefix + "/sessions/" + url.PathEscape(id)
		return confirmData{Question: "ss.deleteq", Action: p + "/delete", Cancel: p,
			What: x.Title + " (" + strconv.Itoa(x.Memories) + ")"}, err
	})
}

func (c *Console) deleteSession(w http.ResponseWriter, r *http.Request, s *session) {
	c.act(w, r, s, "ss.deleted", func(ctx context.Context) (string, error) {
		_, err := c.svc.Forget(ctx, sage.ForgetRequest{SessionID: r.PathValue("id")})
		return Prefix + "/sessions", err
	})
}

// exportSession streams a session's memories as JSON lines (the format of
// GET /api/v1/export, which sage_manage import reads back).
func (c *Console) exportSession(w http.ResponseWriter, r *http.Request, s *session) {
	ctx, cancel := ctxFor(r, s)
	defer cancel()
	id := r.PathValue("id")
	if _, err := c.svc.Session(ctx, id); err != nil {
		c.fail(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "application/x-ndjson")
	w.Header().Set("Content-Disposition", `attachment; filename="session.jsonl"`)
	enc := json.NewEncoder(w)
	err := c.svc.Export(ctx, sage.Filter{SessionID: id}, func(m sage.Memory) error {
		return enc.Encode(api.Memory{ID: m.ID, Kind: string(m.Kind), Text: m.Text, SessionID: m.SessionID,
			Project: m.Project, Tags: m.Tags, Metadata: m.Metadata, IdempotencyKey: m.IdempotencyKey,
			OccurredAt: m.OccurredAt, CreatedAt: m.CreatedAt})
	})
	if err != nil {
		c.log.Warn("console export failed", "err", err)
	}
}

type searchData struct {
	Query, Mode, Project, Kind, Session string
	Limit                               int
	Modes                               []sage.Mode
	Kinds                               []sage.Kind
	Results                             []sage.Result
	Searched                            bool
}

func (c *Console) search(w http.ResponseWriter, r *http.Request, s *session) {
	q := r.URL.Query()
	d := searchData{Query: strings.TrimSpace(q.Get("q")), Mode: q.Get("mode"), Project: strings.TrimSpace(q.Get("project")),
		Kind: q.Get("kind"), Session: strings.TrimSpace(q.Get("session")), Limit: sage.DefaultLimit,
		Modes: []sage.Mode{sage.ModeHybrid, sage.ModeKeyword, sage.ModeSemantic}, Kinds: sage.Kinds}
	if n, err := strconv.Atoi(q.Get("limit")); err == nil {
		d.Limit = n
	}
	if d.Mode == "" {
		d.Mode = string(sage.ModeHybrid)
	}
	if d.Query != "" {
		ctx, cancel := ctxFor(r, s)
		defer cancel()
		sq := sage.SearchQuery{Query: d.Query, Limit: d.Limit, Mode: sage.Mode(d.Mode),
			Filter: sage.Filter{Project: d.Project, SessionID: d.Session}}
		if d.Kind != "" {
			sq.Filter.Kinds = []sage.Kind{sage.Kind(d.Kind)}
		}
		rs, err := c.svc.Search(ctx, sq)
		if err != nil {
			c.fail(w, r, err)
			return
		}
		d.Results, d.Searched = rs, true
	}
	c.render(w, r, http.StatusOK, "search", s, "", d)
}

// memoryID parses the {id} of a memory path.
func memoryID(r *http.Request) (int64, error) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id <= 0 {
		return 0, sage.Invalidf("id", "not a memory id: %q", textcut.Bytes(r.PathValue("id"), 40, textcut.Ellipsis))
	}
	return id, nil
}

type memoryData struct {
	Memory   sage.Memory
	Kinds    []sage.Kind
	Metadata string
}

// readMemory reads the memory of the request's path.
func (c *Console) readMemory(ctx context.Context, r *http.Request) (sage.Memory, error) {
	id, err := memoryID(r)
	if err != nil {
		return sage.Memory{}, err
	}
	return c.svc.Memory(ctx, id)
}

func (c *Console) memory(w http.ResponseWriter, r *http.Request, s *session) {
	show(c, w, r, s, "memory", func(ctx context.Context) (memoryData, error) {
		m, err := c.readMemory(ctx, r)
		return memoryData{Memory: m, Kinds: sage.Kinds, Metadata: string(m.Metadata)}, err
	})
}

// splitTags splits "a, b ,c" into its non-empty tags.
func splitTags(s string) []string {
	var out []string
	for _, t := range strings.Split(s, ",") {
		if t = strings.TrimSpace(t); t != "" {
			out = append(out, t)
		}
	}
	return out
}

func (c *Console) updateMemory(w http.ResponseWriter, r *http.Request, s *session) {
	c.act(w, r, s, "mem.saved", func(ctx context.Context) (string, error) {
		id, err := memoryID(r)
		if err == nil {
			_, err = c.svc.UpdateMemory(ctx, id, sage.Kind(r.PostFormValue("kind")), splitTags(r.PostFormValue("tags")))
		}
		return Prefix + "/memories/" + strconv.FormatInt(id, 10), err
	})
}

func (c *Console) confirmForget(w http.ResponseWriter, r *http.Request, s *session) {
	show(c, w, r, s, "confirm", func(ctx context.Context) (confirmData, error) {
		m, err := c.readMemory(ctx, r)
		p := Prefix + "/memories/" + strconv.FormatInt(m.ID, 10)
		return confirmData{Question: "mem.forgetq", Action: p + "/forget", Cancel: p,
			What: textcut.Runes(m.Text, 300, textcut.Ellipsis)}, err
	})
}

func (c *Console) forget(w http.ResponseWriter, r *http.Request, s *session) {
	c.act(w, r, s, "mem.forgotten", func(ctx context.Context) (string, error) {
		id, err := memoryID(r)
		if err != nil {
			return "", err
		}
		n, err := c.svc.Forget(ctx, sage.ForgetRequest{IDs: []int64{id}})
		if err == nil && n == 0 {
			err = fmt.Errorf("memory %d: %w", id, sage.ErrNotFound)
		}
		return Prefix + "/search", err
	})
}

type injectionsData struct {
	Session    string
	Injections []sage.Injection
}

func (c *Console) injections(w http.ResponseWriter, r *http.Request, s *session) {
	show(c, w, r, s, "injections", func(ctx context.Context) (d injectionsData, err error) {
		d.Session = strings.TrimSpace(r.URL.Query().Get("session"))
		d.Injections, err = c.svc.Injections(ctx, sage.InjectionFilter{SessionID: d.Session, Limit: sage.MaxLimit})
		return d, err
	})
}

type settingsData struct {
	Settings   sage.Settings
	Off        string
	Status     sage.Status
	Reindexing bool
	Error      string
}

func (c *Console) settingsPage(w http.ResponseWriter, r *http.Request, s *session) {
	c.showSettings(w, r, s, http.StatusOK, nil, "")
}

func (c *Console) showSettings(w http.ResponseWriter, r *http.Request, s *session, status int, st *sage.Settings, msg string) {
	ctx, cancel := ctxFor(r, s)
	defer cancel()
	if st == nil {
		cur, err := c.svc.Settings(ctx)
		if err != nil {
			c.fail(w, r, err)
			return
		}
		st = &cur
	}
	stat, err := c.svc.Status(ctx)
	if err != nil {
		c.fail(w, r, err)
		return
	}
	c.reindexMu.Lock()
	running := c.reindex[s.namespace]
	c.reindexMu.Unlock()
	c.render(w, r, status, "settings", s, "", settingsData{Settings: *st, Off: strings.Join(st.OffProjects, "\n"),
		Status: stat, Reindexing: running, Error: msg})
}

func (c *Console) saveSettings(w http.ResponseWriter, r *http.Request, s *session) {
	st := sage.Settings{Inject: r.PostFormValue("inject") == "on", OffProjects: strings.Split(r.PostFormValue("off"), "\n")}
	var bad []string
	var err error
	if st.MaxResults, err = strconv.Atoi(trimForm(r, "max_results")); err != nil {
		bad = append(bad, "max_results")
	}
	if st.MaxChars, err = strconv.Atoi(trimForm(r, "max_chars")); err != nil {
		bad = append(bad, "max_chars")
	}
	if st.MinScore, err = strconv.ParseFloat(trimForm(r, "min_score"), 64); err != nil {
		bad = append(bad, "min_score")
	}
	st = st.Normalize()
	if len(bad) > 0 {
		c.showSettings(w, r, s, http.StatusBadRequest, &st, "not a number: "+strings.Join(bad, ", "))
		return
	}
	ctx, cancel := ctxFor(r, s)
	defer cancel()
	if _, err := c.svc.SaveSettings(ctx, st); err != nil {
		if isInvalid(err) {
			c.showSettings(w, r, s, http.StatusBadRequest, &st, err.Error())
			return
		}
		c.fail(w, r, err)
		return
	}
	c.setFlash(s, "set.saved")
	http.Redirect(w, r, Prefix+"/settings", http.StatusSeeOther)
}

// startReindex runs a reindex of the session's namespace in the
// background (one at a time per namespace).
func (c *Console) startReindex(w http.ResponseWriter, r *http.Request, s *session) {
	ns := s.namespace
	c.reindexMu.Lock()
	running := c.reindex[ns]
	c.reindex[ns] = true
	c.reindexMu.Unlock()
	if !running {
		go func() {
			defer func() {
				c.reindexMu.Lock()
				delete(c.reindex, ns)
				c.reindexMu.Unlock()
			}()
			ctx, cancel := context.WithTimeout(sage.WithNamespace(context.Background(), ns), 6*time.Hour)
			defer cancel()
			if err := c.svc.Reindex(ctx, nil); err != nil {
				c.log.Warn("console reindex failed", "namespace", ns, "err", err)
				return
			}
			c.log.Info("console reindex done", "namespace", ns)
		}()
	}
	c.setFlash(s, "set.started")
	http.Redirect(w, r, Prefix+"/settings", http.StatusSeeOther)
}

type tokensData struct {
	Tokens    []sage.Token
	Self      string
	NewSecret string
	NewName   string
	Error     string
}

func (c *Console) tokensPage(w http.ResponseWriter, r *http.Request, s *session) {
	c.showTokens(w, r, s, http.StatusOK, tokensData{})
}

func (c *Console) showTokens(w http.ResponseWriter, r *http.Request, s *session, status int, d tokensData) {
	ts, err := c.tokens()
	if err != nil {
		c.fail(w, r, err)
		return
	}
	ctx, cancel := ctxFor(r, s)
	defer cancel()
	list, err := ts.Tokens(ctx)
	if err != nil {
		c.fail(w, r, err)
		return
	}
	slices.Reverse(list) // newest first
	d.Tokens, d.Self = list, s.tokenID
	c.render(w, r, status, "tokens", s, "", d)
}

func (c *Console) issueToken(w http.ResponseWriter, r *http.Request, s *session) {
	ts, err := c.tokens()
	if err != nil {
		c.fail(w, r, err)
		return
	}
	spec := sage.TokenSpec{Name: trimForm(r, "name"), Namespace: trimForm(r, "namespace")}
	if r.PostFormValue("admin") == "on" {
		spec.Scopes = []string{sage.ScopeAdmin}
	}
	if v := trimForm(r, "ttl_days"); v != "" && v != "0" {
		days, err := strconv.Atoi(v)
		if err != nil || days < 0 || days > 3650 {
			c.showTokens(w, r, s, http.StatusBadRequest, tokensData{Error: "ttl_days: want a number of days between 0 and 3650"})
			return
		}
		spec.TTL = time.Duration(days) * 24 * time.Hour
	}
	ctx, cancel := ctxFor(r, s)
	defer cancel()
	t, secret, err := ts.IssueToken(ctx, spec)
	if err != nil {
		if isInvalid(err) {
			c.showTokens(w, r, s, http.StatusBadRequest, tokensData{Error: err.Error()})
			return
		}
		c.fail(w, r, err)
		return
	}
	c.log.Info("console issued a key", "token_id", t.ID, "namespace", t.Namespace, "by", s.tokenID)
	// The secret is in this response only (Cache-Control: no-store).
	c.showTokens(w, r, s, http.StatusOK, tokensData{NewSecret: secret, NewName: t.Name})
}

func (c *Console) revokeToken(w http.ResponseWriter, r *http.Request, s *session) {
	c.act(w, r, s, "tk.revokedmsg", func(ctx context.Context) (string, error) {
		ts, err := c.tokens()
		if err != nil {
			return "", err
		}
		id := r.PathValue("id")
		if err := ts.RevokeToken(ctx, id); err != nil {
			return "", err
		}
		c.endSessionsOf(id)
		c.log.Info("console revoked a key", "token_id", id, "by", s.tokenID)
		if id == s.tokenID { // this session ended with its key
			c.setCookie(w, r, SessionCookie, "", -1)
			return Prefix + "/login", nil
		}
		return Prefix + "/tokens", nil
	})
}
