package http_test

import (
	"net"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/sage-mcp/sage/daemon/embed"
	sagehttp "github.com/sage-mcp/sage/daemon/http"
	"github.com/sage-mcp/sage/daemon/postgres"
	"github.com/sage-mcp/sage/daemon/postgres/postgrestest"
	"github.com/sage-mcp/sage/shared/api"
)

// TestEmbedderDown: with the embedding service not answering (still
// downloading its model, say), a save succeeds as pending, /readyz stays
// ready and says why recall is keyword-only, and the status tells the state
// and the pending count.
func TestEmbedderDown(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := "http://" + ln.Addr().String()
	ln.Close() // nothing listens there
	emb, err := embed.New(embed.Config{Provider: embed.ProviderOpenAI, URL: dead, Model: "intfloat/multilingual-e5-small", MaxRetries: -1}, nil)
	if err != nil {
		t.Fatal(err)
	}
	srv := sagehttp.New(sagehttp.Options{})
	db := postgrestest.MustOpen(t)
	tokens := postgres.NewTokenStore(db.Pool())
	emb = srv.Metrics().Embedder(emb)
	srv.ReportEmbedder(emb)
	srv.SetBackend(&sagehttp.Backend{Service: postgres.NewMemoryService(db, emb, nil), Tokens: tokens, Pool: db.Pool()})
	hs := httptest.NewServer(srv)
	t.Cleanup(hs.Close)
	st := &stack{URL: hs.URL, Server: srv, Tokens: tokens, DB: db}
	key := st.MustKey(t, "default")

	MustDo(t, "POST", hs.URL+"/api/v1/notes", key, api.Note{Content: "saved while the model downloads"}).MustStatus(t, 200)
	var status api.Status
	MustDo(t, "GET", hs.URL+"/api/v1/status", key, nil).MustStatus(t, 200).MustJSON(t, &status)
	if status.EmbedderState != "downloading" || status.PendingEmbeddings != 1 || !strings.Contains(status.EmbedderDetail, "refused") {
		t.Errorf("status = %+v, want downloading (connection refused), 1 pending", status)
	}
	r := MustDo(t, "GET", hs.URL+"/readyz", "", nil).MustStatus(t, 200)
	for _, want := range []string{`"status":"ready"`, `"embedder":"downloading"`, `"pending_embeddings":"1"`} {
		if !strings.Contains(string(r.Body), want) {
			t.Errorf("/readyz = %s, want %s", r.Body, want)
		}
	}
	var sr api.SearchResponse
	MustDo(t, "GET", hs.URL+"/api/v1/search?q=downloads", key, nil).MustStatus(t, 200).MustJSON(t, &sr)
	if len(sr.Results) != 1 {
		t.Errorf("hybrid search while the model downloads = %+v, want the note by keyword", sr)
	}
}
