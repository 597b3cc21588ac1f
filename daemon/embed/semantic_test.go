package embed_test

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	sage "github.com/sage-mcp/sage/daemon"
	"github.com/sage-mcp/sage/daemon/embed"
	"github.com/sage-mcp/sage/daemon/postgres"
	"github.com/sage-mcp/sage/testkit/pgtest"
)

// testClock is a clock the test moves.
type testClock struct{ ns atomic.Int64 }

func (c *testClock) now() time.Time          { return time.Unix(0, c.ns.Load()) }
func (c *testClock) advance(d time.Duration) { c.ns.Add(int64(d)) }

// MustSemanticService is a memory service on its own database whose
// embedder is the openai one (guarded, as embed.New makes it) on srv.
func MustSemanticService(t *testing.T, srvURL string, clock *testClock) (*postgres.MemoryService, *embed.Guard) {
	t.Helper()
	return MustSemanticServiceOn(t, pgtest.NewDatabase(t, pgtest.WithTemplate(postgres.MigrationsKey(), postgres.Migrate)), srvURL, clock)
}

// MustOpen opens the database at url.
func MustOpen(t *testing.T, url string) *postgres.DB {
	t.Helper()
	db, err := postgres.Open(context.Background(), url, postgres.Options{})
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	t.Cleanup(db.Close)
	return db
}

// MustSemanticServiceOn is MustSemanticService on the database at url.
func MustSemanticServiceOn(t *testing.T, url, srvURL string, clock *testClock) (*postgres.MemoryService, *embed.Guard) {
	t.Helper()
	db := MustOpen(t, url)
	e, err := embed.New(embed.Config{Provider: embed.ProviderOpenAI, URL: srvURL, Model: "synonyms", Dimensions: conceptDims, MaxRetries: -1, Timeout: 30 * time.Second}, nil)
	if err != nil {
		t.Fatalf("embed.New: %v", err)
	}
	g := embed.NewGuard(e.(*embed.Guard).Unwrap(), embed.GuardOptions{QueryTimeout: time.Second, NoProbe: true, Now: clock.now})
	return postgres.NewMemoryService(db, g, nil), g
}

func MustRemember(t *testing.T, svc sage.Service, text string) int64 {
	t.Helper()
	r, err := svc.Remember(context.Background(), sage.Note{Content: text, Project: "p"})
	if err != nil {
		t.Fatalf("Remember(%q): %v", text, err)
	}
	return r.ID
}

func MustSearch(t *testing.T, svc sage.Service, q string, mode sage.Mode) []sage.Result {
	t.Helper()
	res, err := svc.Search(context.Background(), sage.SearchQuery{Query: q, Mode: mode, Limit: 5})
	if err != nil {
		t.Fatalf("Search(%q, %s): %v", q, mode, err)
	}
	return res
}

func MustStatus(t *testing.T, svc sage.Service) sage.Status {
	t.Helper()
	st, err := svc.Status(context.Background())
	if err != nil {
		t.Fatalf("Status: %v", err)
	}
	return st
}

var paraphraseMemories = []string{
	"We traced the auth regression to the token refresh change and reverted it.",
	"The database got sluggish after Friday's rollout.",
	"Lunch on Thursday is at the Italian place.",
}

// TestParaphraseFoundOnlyThroughModel: the question shares no word with the
// memory it is about; keyword search cannot find it, the model can.
func TestParaphraseFoundOnlyThroughModel(t *testing.T) {
	fake := &synonymServer{}
	srv := httptest.NewServer(fake)
	t.Cleanup(srv.Close)
	svc, _ := MustSemanticService(t, srv.URL, &testClock{})
	var want int64
	for i, m := range paraphraseMemories {
		id := MustRemember(t, svc, m)
		if i == 0 {
			want = id
		}
	}
	for _, tc := range []struct {
		query string
		mode  sage.Mode
		found bool
	}{
		{"what did we decide about the login bug?", sage.ModeKeyword, false},
		{"what did we decide about the login bug?", sage.ModeHybrid, true},
		{"what did we decide about the login bug?", sage.ModeSemantic, true},
		{"登录故障怎么处理的", sage.ModeKeyword, false},
		{"登录故障怎么处理的", sage.ModeHybrid, true},
	} {
		res := MustSearch(t, svc, tc.query, tc.mode)
		found := len(res) > 0 && res[0].ID == want
		for _, r := range res {
			if tc.mode == sage.ModeKeyword && r.ID == want {
				found = true
			}
		}
		if found != tc.found {
			t.Errorf("%s search %q: memory first/found = %v, want %v (results %v)", tc.mode, tc.query, found, tc.found, ids(res))
		}
	}
	if st := MustStatus(t, svc); st.EmbedderState != sage.EmbedderReady || st.PendingEmbeddings != 0 || st.Embedder != "openai" || st.EmbeddingModel != "synonyms@64" {
		t.Errorf("status %+v, want openai synonyms@64 ready, none pending", st)
	}
}

func ids(rs []sage.Result) []int64 {
	out := make([]int64, len(rs))
	for i, r := range rs {
		out[i] = r.ID
	}
	return out
}

// TestEmbedderFailures: whatever goes wrong with the model, saves succeed
// (pending), search answers by keyword within the query deadline, status
// says what is happening, and once the model is back the backfill embeds
// the pending memories and the paraphrase is found again.
func TestEmbedderFailures(t *testing.T) {
	release := make(chan struct{})
	t.Cleanup(func() { close(release) })
	for _, tc := range []struct {
		name  string
		fail  func(w http.ResponseWriter, r *http.Request) bool
		down  bool // the server is not there at all
		state string
	}{
		{name: "down", down: true, state: sage.EmbedderDownloading},
		{name: "slow", state: sage.EmbedderUnavailable, fail: func(w http.ResponseWriter, r *http.Request) bool {
			select { // hangs until the client gives up
			case <-r.Context().Done():
			case <-release:
			}
			return true
		}},
		{name: "429", state: sage.EmbedderUnavailable, fail: status(http.StatusTooManyRequests, `{"error":{"message":"rate limited"}}`)},
		{name: "500", state: sage.EmbedderUnavailable, fail: status(http.StatusInternalServerError, `{"error":"boom"}`)},
		{name: "503 loading", state: sage.EmbedderDownloading, fail: status(http.StatusServiceUnavailable, `{"error":"Model is loading"}`)},
		{name: "wrong dimensions", state: sage.EmbedderUnavailable, fail: status(http.StatusOK, `{"data":[{"index":0,"embedding":[0.1,0.2,0.3]}]}`)},
		{name: "NaN", state: sage.EmbedderUnavailable, fail: func(w http.ResponseWriter, r *http.Request) bool {
			v := make([]string, conceptDims)
			for i := range v {
				v[i] = "0.1"
			}
			v[3] = "NaN" // as Python's json.dumps writes it
			w.Header().Set("Content-Type", "application/json")
			_, _ = w.Write([]byte(`{"data":[{"index":0,"embedding":[` + strings.Join(v, ",") + `]}]}`))
			return true
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fake := &synonymServer{}
			fake.setFail(tc.fail)
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			addr := ln.Addr().String()
			serve := func(ln net.Listener) {
				srv := &http.Server{Handler: fake}
				go func() { _ = srv.Serve(ln) }()
				t.Cleanup(func() { _ = srv.Close() })
			}
			if tc.down {
				ln.Close() // nothing listens there: connection refused
			} else {
				serve(ln)
			}
			clock := &testClock{}
			svc, g := MustSemanticService(t, "http://"+addr, clock)
			ctx := context.Background()
			if err := svc.Start(ctx); err != nil {
				t.Fatal(err)
			}
			// Saves succeed, pending.
			var want int64
			for i, m := range paraphraseMemories {
				id := MustRemember(t, svc, m)
				if i == 0 {
					want = id
				}
			}
			st := MustStatus(t, svc)
			if st.PendingEmbeddings != int64(len(paraphraseMemories)) || st.EmbedderState != tc.state || st.EmbedderDetail == "" {
				t.Fatalf("status: %d pending, state %q (%s); want %d pending, %q with a reason",
					st.PendingEmbeddings, st.EmbedderState, st.EmbedderDetail, len(paraphraseMemories), tc.state)
			}
			// Search answers by keyword, within the query deadline, also
			// after the cooldown (a new try that fails again).
			for round := 0; round < 2; round++ {
				start := time.Now()
				res := MustSearch(t, svc, "auth regression", sage.ModeHybrid)
				if took := time.Since(start); took > 10*time.Second { // the request timeout is 30 s
					t.Errorf("round %d: hybrid search took %s with the embedder failing", round, took)
				}
				if len(res) == 0 || res[0].ID != want {
					t.Errorf("round %d: hybrid search while the embedder fails = %v, want %d first (by keyword)", round, ids(res), want)
				}
				if _, err := svc.Search(ctx, sage.SearchQuery{Query: "auth regression", Mode: sage.ModeSemantic}); err == nil {
					t.Errorf("round %d: semantic search without an embedder succeeded", round)
				}
				c, err := svc.Context(ctx, sage.ContextQuery{Query: "auth regression", Filter: sage.Filter{Project: "p"}})
				if err != nil || !strings.Contains(c.Text, "auth regression") {
					t.Errorf("round %d: context while the embedder fails: %v %q", round, err, c.Text)
				}
				clock.advance(embed.DefaultCooldown)
			}
			// While failing, a new call within the cooldown does not reach
			// the server.
			before := fake.count()
			_ = MustSearch(t, svc, "something else entirely", sage.ModeHybrid)
			_ = MustSearch(t, svc, "something else entirely", sage.ModeHybrid)
			if want := before + 1; tc.down {
				want = 0
				if fake.count() != want {
					t.Errorf("%d requests reached a server that is down", fake.count())
				}
			} else if fake.count() != want {
				t.Errorf("%d requests for two searches within the cooldown, want 1", fake.count()-before)
			}

			// The model is back.
			fake.setFail(nil)
			if tc.down {
				ln, err := net.Listen("tcp", addr)
				if err != nil {
					t.Fatalf("listen again on %s: %v", addr, err)
				}
				serve(ln)
			}
			clock.advance(embed.DefaultCooldown)
			if n, err := svc.Backfill(ctx); err != nil || n != len(paraphraseMemories) {
				t.Fatalf("backfill: %d, %v", n, err)
			}
			if st := MustStatus(t, svc); st.PendingEmbeddings != 0 || st.EmbedderState != sage.EmbedderReady {
				t.Errorf("after the backfill: %d pending, state %q", st.PendingEmbeddings, st.EmbedderState)
			}
			if h := g.Health(); h.State != sage.EmbedderReady {
				t.Errorf("health %+v", h)
			}
			res := MustSearch(t, svc, "what did we decide about the login bug?", sage.ModeSemantic)
			if len(res) == 0 || res[0].ID != want {
				t.Errorf("semantic search after the backfill = %v, want %d first", ids(res), want)
			}
		})
	}
}

func status(code int, body string) func(w http.ResponseWriter, r *http.Request) bool {
	return func(w http.ResponseWriter, r *http.Request) bool {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(code)
		_, _ = w.Write([]byte(body))
		return true
	}
}

// TestSwitchModelReindexes: memories stored with the builtin embedder are
// re-embedded by the backfill once the daemon runs with a model (no manual
// reindex); meanwhile status counts them as pending and search works (by
// keyword); afterwards the paraphrase is found through the model.
func TestSwitchModelReindexes(t *testing.T) {
	url := pgtest.NewDatabase(t, pgtest.WithTemplate(postgres.MigrationsKey(), postgres.Migrate))
	builtin, err := embed.NewBuiltin(0)
	if err != nil {
		t.Fatal(err)
	}
	before := postgres.NewMemoryService(MustOpen(t, url), builtin, nil)
	var want int64
	for i, m := range paraphraseMemories {
		id := MustRemember(t, before, m)
		if i == 0 {
			want = id
		}
	}
	if st := MustStatus(t, before); st.PendingEmbeddings != 0 {
		t.Fatalf("builtin: %d pending", st.PendingEmbeddings)
	}

	fake := &synonymServer{}
	srv := httptest.NewServer(fake)
	t.Cleanup(srv.Close)
	svc, _ := MustSemanticServiceOn(t, url, srv.URL, &testClock{})
	if st := MustStatus(t, svc); st.PendingEmbeddings != int64(len(paraphraseMemories)) {
		t.Errorf("after the switch: %d pending, want %d (vectors of the old model)", st.PendingEmbeddings, len(paraphraseMemories))
	}
	if res := MustSearch(t, svc, "auth regression", sage.ModeHybrid); len(res) == 0 || res[0].ID != want {
		t.Errorf("hybrid search before the reindex = %v, want %d first", ids(res), want)
	}
	n, err := svc.Backfill(context.Background())
	if err != nil || n != len(paraphraseMemories) {
		t.Fatalf("backfill after the switch: %d, %v; want %d re-embedded", n, err, len(paraphraseMemories))
	}
	if st := MustStatus(t, svc); st.PendingEmbeddings != 0 {
		t.Errorf("after the backfill: %d pending", st.PendingEmbeddings)
	}
	if res := MustSearch(t, svc, "what did we decide about the login bug?", sage.ModeSemantic); len(res) == 0 || res[0].ID != want {
		t.Errorf("semantic search after the reindex = %v, want %d first", ids(res), want)
	}
	if n, err := svc.Backfill(context.Background()); err != nil || n != 0 {
		t.Errorf("second backfill: %d, %v; want nothing left", n, err)
	}
}
