package http

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	sage "github.com/sage-mcp/sage/daemon"
	"github.com/sage-mcp/sage/daemon/wire"
	"github.com/sage-mcp/sage/shared/api"
)

// decode reads a JSON body into v, refusing unknown fields, trailing data
// and strings that are not valid Unicode text (sage.CheckJSONText).
func decode(r *http.Request, v any) error {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return err
		}
		return sage.Invalidf("body", "could not be read: %v", err)
	}
	if err := sage.CheckJSONText(body); err != nil {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return err
		}
		if errors.Is(err, io.EOF) {
			return sage.Invalidf("body", "empty; want a JSON object")
		}
		return sage.Invalidf("body", "not valid JSON for this endpoint: %v", err)
	}
	if dec.More() {
		return sage.Invalidf("body", "unexpected data after the JSON object")
	}
	return nil
}

// answer is the handler of a JSON endpoint: h returns the body of its
// 200 answer, or an error that s.fail answers.
func (s *Server) answer(h func(r *http.Request) (any, error)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		v, err := h(r)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		s.reply(w, r, http.StatusOK, v)
	}
}

// answerBody is answer for an endpoint whose request body is a JSON In:
// a body that does not decode is answered by s.fail.
func answerBody[In any](s *Server, h func(r *http.Request, in In) (any, error)) http.HandlerFunc {
	return s.answer(func(r *http.Request) (any, error) {
		var in In
		if err := decode(r, &in); err != nil {
			return nil, err
		}
		return h(r, in)
	})
}

func (s *Server) saveTurns(r *http.Request, req api.SaveTurnsRequest) (any, error) {
	ts := make([]sage.Turn, len(req.Turns))
	for i, t := range req.Turns {
		ts[i] = wire.Turn(t)
	}
	res, err := s.Service().SaveTurns(r.Context(), ts)
	if err != nil {
		return nil, err
	}
	return api.SaveTurnsResponse{Results: wire.SaveResults(res)}, nil
}

func (s *Server) saveNote(r *http.Request, n api.Note) (any, error) {
	res, err := s.Service().Remember(r.Context(), wire.Note(n))
	if err != nil {
		return nil, err
	}
	return wire.SaveResult(res), nil
}

// intParam parses an optional integer query parameter.
func intParam(r *http.Request, name string) (int, error) {
	v := r.URL.Query().Get(name)
	if v == "" {
		return 0, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 {
		return 0, sage.Invalidf(name, "want a non-negative whole number")
	}
	return n, nil
}

// timeParam parses an optional RFC 3339 time (or date) query parameter.
func timeParam(r *http.Request, name string) (time.Time, error) {
	v := r.URL.Query().Get(name)
	if v == "" {
		return time.Time{}, nil
	}
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02"} {
		if t, err := time.Parse(layout, v); err == nil {
			return t, nil
		}
	}
	return time.Time{}, sage.Invalidf(name, "want an RFC 3339 time like 2025-01-31T12:00:00Z or a date like 2025-01-31")
}

// filterParams reads project, include_global, session_id, since, until,
// tag and kind (tag and kind may repeat or be comma-separated).
func filterParams(r *http.Request) (sage.Filter, error) {
	q := r.URL.Query()
	f := sage.Filter{Project: q.Get("project"), SessionID: q.Get("session_id")}
	var err error
	if v := q.Get("include_global"); v != "" {
		if f.IncludeGlobal, err = strconv.ParseBool(v); err != nil {
			return f, sage.Invalidf("include_global", "want true or false")
		}
	}
	if f.Since, err = timeParam(r, "since"); err != nil {
		return f, err
	}
	if f.Until, err = timeParam(r, "until"); err != nil {
		return f, err
	}
	f.Tags = listParam(q, "tag")
	for _, k := range listParam(q, "kind") {
		f.Kinds = append(f.Kinds, sage.Kind(k))
	}
	return f, nil
}

// listParam is the non-empty items of the query parameter name, repeated
// or comma-separated (tag=a,b&tag=c), trimmed.
func listParam(q url.Values, name string) []string {
	var out []string
	for _, v := range q[name] {
		for _, item := range strings.Split(v, ",") {
			if item = strings.TrimSpace(item); item != "" {
				out = append(out, item)
			}
		}
	}
	return out
}

func (s *Server) search(r *http.Request) (any, error) {
	f, err := filterParams(r)
	if err != nil {
		return nil, err
	}
	limit, err := intParam(r, "limit")
	if err != nil {
		return nil, err
	}
	q := r.URL.Query()
	res, err := s.Service().Search(r.Context(), sage.SearchQuery{Query: q.Get("q"), Limit: limit, Mode: sage.Mode(q.Get("mode")), Filter: f})
	if err != nil {
		return nil, err
	}
	return api.SearchResponse{Results: wire.Results(res)}, nil
}

// context answers GET /api/v1/context: the block to inject for q, with
// exclude_session, min_score, gate and dry_run (see injections.go).
func (s *Server) context(w http.ResponseWriter, r *http.Request) {
	iq, err := injectParams(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	out, err := s.Service().Inject(r.Context(), iq)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.reply(w, r, http.StatusOK, toAPIInjected(out, iq.DryRun))
}

func (s *Server) sessions(r *http.Request) (any, error) {
	limit, err := intParam(r, "limit")
	if err != nil {
		return nil, err
	}
	ss, err := s.Service().Sessions(r.Context(), r.URL.Query().Get("project"), limit)
	if err != nil {
		return nil, err
	}
	return api.SessionsResponse{Sessions: wire.Sessions(ss)}, nil
}

func (s *Server) session(r *http.Request) (any, error) {
	id := r.PathValue("id")
	svc := s.Service()
	sess, err := svc.Session(r.Context(), id)
	if err != nil {
		return nil, err
	}
	ms, err := svc.SessionMemories(r.Context(), id)
	if err != nil {
		return nil, err
	}
	return api.SessionDetail{Session: wire.Session(sess), Items: wire.Memories(ms)}, nil
}

func (s *Server) renameSession(r *http.Request, req api.RenameSessionRequest) (any, error) {
	svc := s.Service()
	id := r.PathValue("id")
	if err := svc.RenameSession(r.Context(), id, req.Title); err != nil {
		return nil, err
	}
	sess, err := svc.Session(r.Context(), id)
	if err != nil {
		return nil, err
	}
	return wire.Session(sess), nil
}

// forgetAnswer forgets what req names; mustExist makes forgetting nothing
// sage.ErrNotFound.
func (s *Server) forgetAnswer(r *http.Request, req sage.ForgetRequest, mustExist bool) (any, error) {
	n, err := s.Service().Forget(r.Context(), req)
	if err != nil {
		return nil, err
	}
	if n == 0 && mustExist {
		return nil, sage.ErrNotFound
	}
	return api.ForgetResponse{Deleted: n}, nil
}

func (s *Server) deleteSession(r *http.Request) (any, error) {
	return s.forgetAnswer(r, sage.ForgetRequest{SessionID: r.PathValue("id")}, true)
}

func (s *Server) deleteMemory(r *http.Request) (any, error) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id <= 0 {
		return nil, sage.Invalidf("id", "want a positive memory id")
	}
	return s.forgetAnswer(r, sage.ForgetRequest{IDs: []int64{id}}, true)
}

func (s *Server) forget(r *http.Request, req api.ForgetRequest) (any, error) {
	return s.forgetAnswer(r, sage.ForgetRequest{IDs: req.IDs, SessionID: req.SessionID}, false)
}

func (s *Server) status(r *http.Request) (any, error) {
	st, err := s.Service().Status(r.Context())
	if err != nil {
		return nil, err
	}
	return wire.Status(r.Context(), st), nil
}

// maxImportLine bounds one JSONL line of an import: a memory of
// sage.MaxContentBytes, escaped, plus its metadata.
const maxImportLine = 4*sage.MaxContentBytes + 2*sage.MaxMetadataBytes

// importMemories reads JSONL of api.Memory, streamed, and imports it in
// batches of sage.MaxBatch. A bad line stops the import with 400 naming
// the line; the batches before it stay imported (imports are idempotent,
// so the fixed file can simply be sent again). A body over
// Options.MaxImportBytes stops it with 413: the whole lines before the
// limit are imported, the rest is not, and the answer says how far it got.
func (s *Server) importMemories(w http.ResponseWriter, r *http.Request) {
	body := &limitSeen{r: r.Body}
	sc := bufio.NewScanner(body)
	sc.Buffer(make([]byte, 64<<10), maxImportLine)
	piece := false // the last line read has no newline: the body ended (or was cut) there
	sc.Split(func(data []byte, atEOF bool) (int, []byte, error) {
		n, tok, err := bufio.ScanLines(data, atEOF)
		piece = tok != nil && atEOF && bytes.IndexByte(data[:n], '\n') < 0
		return n, tok, err
	})
	var total sage.ImportResult
	batch := make([]sage.Memory, 0, sage.MaxBatch)
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		res, err := s.Service().Import(r.Context(), batch)
		if err != nil {
			return err
		}
		total.Imported += res.Imported
		total.Deduplicated += res.Deduplicated
		batch = batch[:0]
		return nil
	}
	failAt := func(line int, err error) {
		status, code, msg := errorStatus(err)
		if status == http.StatusInternalServerError && r.Context().Err() == nil {
			s.log.Error("import failed", "line", line, "err", err)
		}
		writeErr(w, status, code, fmt.Sprintf("line %d: %s (%d memories before it were imported, %d deduplicated; importing again is idempotent)",
			line, msg, total.Imported, total.Deduplicated))
	}
	// tooLarge ends an import whose body passed the limit: line is the
	// first line not (wholly) read.
	tooLarge := func(line int) {
		if err := flush(); err != nil {
			failAt(line, err)
			return
		}
		writeErr(w, http.StatusRequestEntityTooLarge, api.CodeTooLarge, fmt.Sprintf(
			"the import body is larger than the limit of %d bytes: the %d lines before line %d were imported (%d memories new, %d deduplicated); line %d and the rest were not. "+
				"Send the rest (from line %d) in another request; importing again is idempotent",
			s.opts.MaxImportBytes, line-1, line, total.Imported, total.Deduplicated, line, line))
	}
	line := 0
	for sc.Scan() {
		line++
		b := bytes.TrimSpace(sc.Bytes())
		if body.hit && piece {
			// The limit cut the body within this line.
			tooLarge(line)
			return
		}
		if len(b) == 0 {
			continue
		}
		if err := sage.CheckJSONText(b); err != nil {
			failAt(line, err)
			return
		}
		var m api.Memory
		dec := json.NewDecoder(bytes.NewReader(b))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&m); err != nil {
			failAt(line, sage.Invalidf("memory", "not a JSON memory: %v", err))
			return
		}
		batch = append(batch, wire.Imported(m))
		if len(batch) == sage.MaxBatch {
			if err := flush(); err != nil {
				failAt(line, err)
				return
			}
		}
	}
	if err := sc.Err(); err != nil {
		if body.hit {
			tooLarge(line + 1)
			return
		}
		if errors.Is(err, bufio.ErrTooLong) {
			err = sage.Invalidf("memory", "line longer than %d bytes", maxImportLine)
		}
		failAt(line+1, err)
		return
	}
	if err := flush(); err != nil {
		failAt(line, err)
		return
	}
	s.reply(w, r, http.StatusOK, api.ImportResponse{Imported: total.Imported, Deduplicated: total.Deduplicated})
}

// limitSeen notes when reading r fails on the body limit
// (http.MaxBytesReader), so that a line cut by the limit is not mistaken
// for a bad line.
type limitSeen struct {
	r   io.Reader
	hit bool
}

func (l *limitSeen) Read(p []byte) (int, error) {
	n, err := l.r.Read(p)
	var mbe *http.MaxBytesError
	if err != nil && errors.As(err, &mbe) {
		l.hit = true
	}
	return n, err
}

// export streams the namespace's memories as JSONL of api.Memory, oldest
// first, filtered like search. A failure after the first line ends the
// stream with a JSON error line ({"error":{…}}).
func (s *Server) export(w http.ResponseWriter, r *http.Request) {
	f, err := filterParams(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	rc := http.NewResponseController(w)
	enc := json.NewEncoder(w)
	started := false
	n := 0
	err = s.Service().Export(r.Context(), f, func(m sage.Memory) error {
		if !started {
			w.Header().Set("Content-Type", "application/x-ndjson")
			w.Header().Set("Cache-Control", "no-store")
			w.WriteHeader(http.StatusOK)
			started = true
		}
		if err := enc.Encode(wire.Memory(m, 0)); err != nil {
			return err
		}
		if n++; n%sage.MaxBatch == 0 {
			_ = rc.Flush()
		}
		return nil
	})
	if err != nil && !started {
		s.fail(w, r, err)
		return
	}
	if err != nil {
		_, code, msg := errorStatus(err)
		if code == api.CodeInternal {
			s.log.Error("export failed", "after", n, "err", err)
		}
		_ = enc.Encode(api.ErrorBody{Error: api.ErrorDetail{Code: code, Message: msg}})
		return
	}
	if !started {
		w.Header().Set("Content-Type", "application/x-ndjson")
		w.WriteHeader(http.StatusOK)
	}
}

// reindex re-embeds stale memories synchronously, streaming progress as
// JSONL; the last line has finished=true or an error.
func (s *Server) reindex(w http.ResponseWriter, r *http.Request) {
	rc := http.NewResponseController(w)
	w.Header().Set("Content-Type", "application/x-ndjson")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
	enc := json.NewEncoder(w)
	var last sage.ReindexProgress
	err := s.Service().Reindex(r.Context(), func(p sage.ReindexProgress) {
		last = p
		_ = enc.Encode(wire.Progress(p))
		_ = rc.Flush()
	})
	end := wire.Progress(last)
	end.Finished = err == nil
	if err != nil {
		_, code, msg := errorStatus(err)
		if code == api.CodeInternal {
			s.log.Error("reindex failed", "err", err)
		}
		end.Error = &api.ErrorDetail{Code: code, Message: msg}
	}
	_ = enc.Encode(end)
}

func (s *Server) listTokens(r *http.Request) (any, error) {
	ts, err := s.backendTokens()
	if err != nil {
		return nil, err
	}
	list, err := ts.Tokens(r.Context())
	if err != nil {
		return nil, err
	}
	out := api.TokensResponse{Tokens: make([]api.Token, len(list))}
	for i, t := range list {
		out.Tokens[i] = wire.Token(t)
	}
	return out, nil
}

func (s *Server) issueToken(w http.ResponseWriter, r *http.Request) {
	var req api.IssueTokenRequest
	if err := decode(r, &req); err != nil {
		s.fail(w, r, err)
		return
	}
	spec := sage.TokenSpec{Name: req.Name, Namespace: req.Namespace, Scopes: req.Scopes}
	if req.TTL != "" {
		d, err := time.ParseDuration(req.TTL)
		if err != nil || d <= 0 {
			s.fail(w, r, sage.Invalidf("ttl", "want a positive Go duration like 720h"))
			return
		}
		spec.TTL = d
	}
	ts, err := s.backendTokens()
	if err != nil {
		s.fail(w, r, err)
		return
	}
	t, secret, err := ts.IssueToken(r.Context(), spec)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	caller, _ := TokenFrom(r.Context())
	s.log.Info("token issued", "id", t.ID, "name", t.Name, "namespace", t.Namespace, "scopes", t.Scopes, "by", caller.ID)
	s.reply(w, r, http.StatusCreated, api.IssuedToken{Token: wire.Token(t), Secret: secret})
}

func (s *Server) revokeToken(w http.ResponseWriter, r *http.Request) {
	ts, err := s.backendTokens()
	if err != nil {
		s.fail(w, r, err)
		return
	}
	id := r.PathValue("id")
	if err := ts.RevokeToken(r.Context(), id); err != nil {
		s.fail(w, r, err)
		return
	}
	caller, _ := TokenFrom(r.Context())
	s.log.Info("token revoked", "id", id, "by", caller.ID)
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) backendTokens() (TokenStore, error) {
	b := s.backend.Load()
	if b == nil || b.Tokens == nil {
		return nil, errNotReady
	}
	return b.Tokens, nil
}
