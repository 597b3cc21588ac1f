package http_test

import (
	"strings"
	"testing"

	sagehttp "github.com/sage-mcp/sage/daemon/http"
	"github.com/sage-mcp/sage/daemon/postgres/postgrestest"
	"github.com/sage-mcp/sage/shared/api"
	"github.com/sage-mcp/sage/testkit/daemontest"
	"github.com/sage-mcp/sage/testkit/pgtest"
)

func TestDatabaseRestartMidRun(t *testing.T) {
	t.Parallel()
	pg := pgtest.StartServer(t)
	st := MustStack(t, sagehttp.Options{}, pg.URL())
	key := st.MustKey(t, "default")
	MustDo(t, "POST", st.URL+"/api/v1/notes", key, api.Note{Content: "written before the outage"}).MustStatus(t, 200)
	MustDo(t, "GET", st.URL+"/readyz", "", nil).MustStatus(t, 200)

	pg.Stop()
	r := MustDo(t, "GET", st.URL+"/api/v1/search?q=outage", key, nil).MustStatus(t, 503)
	var eb api.ErrorBody
	r.MustJSON(t, &eb)
	if eb.Error.Code != api.CodeUnavailable || !strings.Contains(eb.Error.Message, "database unavailable") {
		t.Fatalf("while down: %s", r.Body)
	}
	MustDo(t, "POST", st.URL+"/api/v1/notes", key, api.Note{Content: "refused while down"}).MustStatus(t, 503)
	MustDo(t, "GET", st.URL+"/readyz", "", nil).MustStatus(t, 503)
	MustDo(t, "GET", st.URL+"/healthz", "", nil).MustStatus(t, 200)

	pg.Start()
	daemontest.MustEventually(t, "readyz after the restart", func() bool {
		return MustDo(t, "GET", st.URL+"/readyz", "", nil).StatusCode == 200
	})
	var sr api.SearchResponse
	MustDo(t, "GET", st.URL+"/api/v1/search?q=outage&mode=keyword", key, nil).MustStatus(t, 200).MustJSON(t, &sr)
	if len(sr.Results) != 1 || sr.Results[0].Text != "written before the outage" {
		t.Fatalf("after the restart: %+v", sr)
	}
	MustDo(t, "POST", st.URL+"/api/v1/notes", key, api.Note{Content: "written after the outage"}).MustStatus(t, 200)
}

func TestNoBackendYet(t *testing.T) {
	t.Parallel()
	srv := sagehttp.New(sagehttp.Options{})
	hs := newLoopbackServer(t, srv)
	MustDo(t, "GET", hs+"/readyz", "", nil).MustStatus(t, 503)
	MustDo(t, "GET", hs+"/healthz", "", nil).MustStatus(t, 200)
	r := MustDo(t, "GET", hs+"/api/v1/status", "sage_anything", nil).MustStatus(t, 503)
	if !strings.Contains(string(r.Body), "database unavailable") {
		t.Fatalf("body %s", r.Body)
	}
	// Until the database is there, the service fails fast too.
	if _, err := srv.Service().Status(t.Context()); err == nil || !strings.Contains(err.Error(), "database unavailable") {
		t.Fatalf("Service().Status = %v", err)
	}
	// Then it comes.
	b, _ := MustBackend(t, srv, postgrestest.MustDatabase(t))
	srv.SetBackend(b)
	MustDo(t, "GET", hs+"/readyz", "", nil).MustStatus(t, 200)
}
