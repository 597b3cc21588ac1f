package http

import (
	"math"
	"net/http"
	"strconv"

	sage "github.com/sage-mcp/sage/daemon"
	"github.com/sage-mcp/sage/daemon/wire"
	"github.com/sage-mcp/sage/shared/api"
)

// boolParam parses an optional boolean query parameter.
func boolParam(r *http.Request, name string) (bool, error) {
	v := r.URL.Query().Get(name)
	if v == "" {
		return false, nil
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		return false, sage.Invalidf(name, "want true or false")
	}
	return b, nil
}

// injectParams reads GET /api/v1/context's parameters: q, max_results,
// max_chars, project, session_id (only that session), exclude_session
// (drop that session; also the session the audit records), min_score,
// gate (apply the injection gate), dry_run (record nothing) and source
// (hook, or rest by default).
func injectParams(r *http.Request) (sage.InjectQuery, error) {
	q := r.URL.Query()
	var iq sage.InjectQuery
	var err error
	if iq.MaxResults, err = intParam(r, "max_results"); err != nil {
		return iq, err
	}
	if iq.MaxChars, err = intParam(r, "max_chars"); err != nil {
		return iq, err
	}
	if v := q.Get("min_score"); v != "" {
		if iq.MinScore, err = strconv.ParseFloat(v, 64); err != nil || iq.MinScore < 0 || math.IsInf(iq.MinScore, 0) || math.IsNaN(iq.MinScore) {
			return iq, sage.Invalidf("min_score", "want a number >= 0 like 0.02")
		}
	}
	if iq.Gate, err = boolParam(r, "gate"); err != nil {
		return iq, err
	}
	if iq.DryRun, err = boolParam(r, "dry_run"); err != nil {
		return iq, err
	}
	iq.Query = q.Get("q")
	iq.Filter = sage.Filter{Project: q.Get("project"), SessionID: q.Get("session_id")}
	iq.ExcludeSession = q.Get("exclude_session")
	iq.Source = q.Get("source")
	switch iq.Source {
	case "":
		iq.Source = sage.SourceREST
	case sage.SourceHook, sage.SourceREST:
	default:
		return iq, sage.Invalidf("source", "want %s or %s", sage.SourceHook, sage.SourceREST)
	}
	return iq, nil
}

func toAPIHit(h sage.Hit) api.Hit { return api.Hit{Rank: h.Rank, Score: h.Score} }

// toAPIInjected is the answer to GET /api/v1/context; the candidates only
// for a dry run (the hook does not need them).
func toAPIInjected(out sage.Injected, candidates bool) api.ContextResponse {
	resp := api.ContextResponse{Context: out.Text, Items: wire.Results(out.Items), Recorded: out.Recorded}
	if candidates {
		resp.Candidates = make([]api.Candidate, 0, len(out.Candidates))
		for _, c := range out.Candidates {
			resp.Candidates = append(resp.Candidates, api.Candidate{Memory: wire.Memory(c.Memory, c.Score),
				Keyword: toAPIHit(c.Keyword), Vector: toAPIHit(c.Vector), Injected: c.Passed, Reason: c.Reason})
		}
	}
	return resp
}

// injections answers GET /api/v1/injections[?session=ID&limit=N]: the
// injection audit, most recent first.
func (s *Server) injections(w http.ResponseWriter, r *http.Request) {
	limit, err := intParam(r, "limit")
	if err != nil {
		s.fail(w, r, err)
		return
	}
	list, err := s.Service().Injections(r.Context(), sage.InjectionFilter{SessionID: r.URL.Query().Get("session"), Limit: limit})
	if err != nil {
		s.fail(w, r, err)
		return
	}
	out := api.InjectionsResponse{Injections: make([]api.Injection, 0, len(list))}
	for _, in := range list {
		ai := api.Injection{ID: in.ID, At: in.At, Source: in.Source, SessionID: in.SessionID, Project: in.Project,
			PromptSHA256: in.PromptHash, PromptHead: in.PromptHead, Chars: in.Chars, Memories: make([]api.InjectedMemory, 0, len(in.Memories))}
		for _, m := range in.Memories {
			ai.Memories = append(ai.Memories, api.InjectedMemory{ID: m.ID, Score: m.Score, Keyword: toAPIHit(m.Keyword), Vector: toAPIHit(m.Vector)})
		}
		out.Injections = append(out.Injections, ai)
	}
	s.reply(w, r, http.StatusOK, out)
}
