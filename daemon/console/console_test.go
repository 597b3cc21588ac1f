package console_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	sage "github.com/sage-mcp/sage/daemon"
	"github.com/sage-mcp/sage/daemon/console"
	"github.com/sage-mcp/sage/daemon/embed"
	sagehttp "github.com/sage-mcp/sage/daemon/http"
	"github.com/sage-mcp/sage/daemon/postgres"
	"github.com/sage-mcp/sage/testkit/pgtest"
)

// stack is a daemon Server on a real database with its console, both
// served on 127.0.0.1.
type stack struct {
	URL          string // the database's
	API, Console string
	Service      *postgres.MemoryService
	Tokens       *postgres.TokenStore
	DB           *postgres.DB
}

func mustStack(t testing.TB) *stack {
	t.Helper()
	s, stop := openStack(t, pgtest.NewDatabase(t, pgtest.WithTemplate(postgres.MigrationsKey(), postgres.Migrate)))
	t.Cleanup(stop)
	return s
}

// openStack starts a stack on the database at url; stop stops it.
func openStack(t testing.TB, url string) (s *stack, stop func()) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	db, err := postgres.Open(ctx, url, postgres.Options{ConnectTimeout: 2 * time.Second, QueryTimeout: 10 * time.Minute}) // the benchmark seeds in big statements
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	emb, err := embed.NewBuiltin(384)
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(t.Output(), nil))
	srv := sagehttp.New(sagehttp.Options{Logger: log})
	svc := postgres.NewMemoryService(db, emb, nil)
	tokens := postgres.NewTokenStore(db.Pool())
	srv.SetBackend(&sagehttp.Backend{Service: svc, Tokens: tokens, Pool: db.Pool()})
	api := httptest.NewServer(srv)
	c := console.New(srv, console.Options{Logger: log})
	con := httptest.NewServer(c)
	return &stack{URL: url, API: api.URL, Console: con.URL, Service: svc, Tokens: tokens, DB: db}, func() {
		con.Close()
		api.Close()
		db.Close()
	}
}

// MustKey issues a key in namespace ns and returns its secret.
func (s *stack) MustKey(t testing.TB, ns string, scopes ...string) string {
	t.Helper()
	_, secret, err := s.Tokens.IssueToken(context.Background(), sage.TokenSpec{Name: "key-" + ns, Namespace: ns, Scopes: scopes})
	if err != nil {
		t.Fatalf("issue token: %v", err)
	}
	return secret
}

// MustNote saves a note in namespace ns.
func (s *stack) MustNote(t testing.TB, ns string, n sage.Note) int64 {
	t.Helper()
	r, err := s.Service.Remember(sage.WithNamespace(context.Background(), ns), n)
	if err != nil {
		t.Fatalf("remember: %v", err)
	}
	return r.ID
}

// MustSignedIn returns a browser of the console signed in with key.
func (s *stack) MustSignedIn(t testing.TB, key string) *browser {
	t.Helper()
	b := newBrowser(t, s.Console)
	b.MustSignIn(key)
	return b
}

// browser is an HTTP client with cookies that does not follow redirects.
type browser struct {
	t    testing.TB
	base string
	c    *http.Client
}

func newBrowser(t testing.TB, base string) *browser {
	jar, _ := cookiejar.New(nil)
	return &browser{t: t, base: base, c: &http.Client{Jar: jar, Timeout: 30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

type page struct {
	Status int
	Header http.Header
	Body   string
}

func (b *browser) do(method, path string, form url.Values, header map[string]string) page {
	b.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, b.base+path, body)
	if err != nil {
		b.t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for k, v := range header {
		if k == "Host" {
			req.Host = v
			continue
		}
		req.Header.Set(k, v)
	}
	resp, err := b.c.Do(req)
	if err != nil {
		b.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	return page{Status: resp.StatusCode, Header: resp.Header, Body: string(data)}
}

func (b *browser) get(path string) page { b.t.Helper(); return b.do("GET", path, nil, nil) }

var csrfRE = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// csrf returns the CSRF token of a page's forms.
func csrf(t testing.TB, p page) string {
	t.Helper()
	m := csrfRE.FindStringSubmatch(p.Body)
	if m == nil {
		t.Fatalf("no CSRF token in page (status %d)", p.Status)
	}
	return m[1]
}

// post submits form to path with the CSRF token of the page at from.
func (b *browser) post(from, path string, form url.Values) page {
	b.t.Helper()
	form.Set("csrf", csrf(b.t, b.get(from)))
	return b.do("POST", path, form, nil)
}

// MustSignIn signs in with key and fails unless it worked.
func (b *browser) MustSignIn(key string) {
	b.t.Helper()
	p := b.signIn(key)
	if p.Status != http.StatusSeeOther {
		b.t.Fatalf("sign in: status %d, want 303: %s", p.Status, p.Body)
	}
}

func (b *browser) signIn(key string) page {
	b.t.Helper()
	lp := b.get("/console/login")
	return b.do("POST", "/console/login", url.Values{"csrf": {csrf(b.t, lp)}, "key": {key}, "next": {"/console/"}}, nil)
}

func TestSignIn(t *testing.T) {
	s := mustStack(t)
	key := s.MustKey(t, "default", sage.ScopeAdmin)
	b := newBrowser(t, s.Console)

	for _, path := range []string{"/console/login", "/console/no-such-page"} {
		if n := strings.Count(b.get(path).Body, "<h1>"); n != 1 {
			t.Errorf("%s: %d headings, want 1", path, n)
		}
	}
	p := b.get("/console/")
	if p.Status != http.StatusSeeOther || !strings.HasPrefix(p.Header.Get("Location"), "/console/login") {
		t.Fatalf("signed out overview: %d %q, want a redirect to the sign-in page", p.Status, p.Header.Get("Location"))
	}
	if p := b.signIn("sage_not-a-key"); p.Status != http.StatusUnauthorized {
		t.Fatalf("wrong key: status %d, want 401", p.Status)
	}
	lp := b.get("/console/login")
	p = b.do("POST", "/console/login", url.Values{"csrf": {csrf(t, lp)}, "key": {key}}, nil)
	if p.Status != http.StatusSeeOther {
		t.Fatalf("sign in: %d %s", p.Status, p.Body)
	}
	var ck *http.Cookie
	for _, c := range (&http.Response{Header: p.Header}).Cookies() {
		if c.Name == console.SessionCookie {
			ck = c
		}
	}
	if ck == nil || !ck.HttpOnly || ck.SameSite != http.SameSiteStrictMode || ck.Path != "/console" {
		t.Fatalf("session cookie %+v: want HttpOnly, SameSite=Strict, Path=/console", ck)
	}
	for _, path := range []string{"/console/", "/console/sessions", "/console/search?q=x", "/console/injections", "/console/settings", "/console/tokens"} {
		p := b.get(path)
		if p.Status != http.StatusOK {
			t.Errorf("%s: status %d: %s", path, p.Status, p.Body)
		}
		if got := p.Header.Get("Content-Security-Policy"); got != console.CSP || strings.Contains(got, "unsafe-inline") {
			t.Errorf("%s: CSP %q", path, got)
		}
		if strings.Contains(p.Body, key) {
			t.Errorf("%s: the page shows the access key", path)
		}
		if strings.Contains(p.Body, "<script") || strings.Contains(p.Body, " style=") {
			t.Errorf("%s: inline script or style", path)
		}
		if n := strings.Count(p.Body, "<h1>"); n != 1 {
			t.Errorf("%s: %d headings, want 1", path, n)
		}
	}
	// Sign out: the session is gone.
	if p := b.post("/console/", "/console/logout", url.Values{}); p.Status != http.StatusSeeOther {
		t.Fatalf("logout: %d", p.Status)
	}
	if p := b.get("/console/settings"); p.Status != http.StatusSeeOther {
		t.Fatalf("after logout: status %d, want a redirect to sign in", p.Status)
	}
}

func TestPostsRefused(t *testing.T) {
	s := mustStack(t)
	key := s.MustKey(t, "default")
	b := s.MustSignedIn(t, key)
	good := csrf(t, b.get("/console/settings"))
	form := func(token string) url.Values {
		return url.Values{"csrf": {token}, "max_results": {"3"}, "max_chars": {"500"}, "min_score": {"0"}, "inject": {"on"}}
	}
	tests := []struct {
		name   string
		form   url.Values
		header map[string]string
	}{
		{"no csrf token", url.Values{"max_results": {"3"}, "max_chars": {"500"}, "min_score": {"0"}}, nil},
		{"wrong csrf token", form("x" + good), nil},
		{"cross-site origin", form(good), map[string]string{"Origin": "https://evil.example"}},
		{"another local origin", form(good), map[string]string{"Origin": "http://localhost:1"}},
		{"cross-site fetch", form(good), map[string]string{"Sec-Fetch-Site": "cross-site"}},
		{"foreign host", form(good), map[string]string{"Host": "evil.example"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := b.do("POST", "/console/settings", tt.form, tt.header)
			if p.Status != http.StatusForbidden {
				t.Fatalf("status %d, want 403", p.Status)
			}
		})
	}
	st, err := s.Service.Settings(context.Background())
	if err != nil || !st.UpdatedAt.IsZero() {
		t.Fatalf("settings changed by a refused POST: %+v %v", st, err)
	}
	// Signed out, a POST is refused too.
	anon := newBrowser(t, s.Console)
	if p := anon.do("POST", "/console/settings", form(good), nil); p.Status != http.StatusForbidden {
		t.Fatalf("signed out POST: %d, want 403", p.Status)
	}
	// The same form from the console itself works.
	if p := b.do("POST", "/console/settings", form(good), map[string]string{"Origin": s.Console, "Sec-Fetch-Site": "same-origin"}); p.Status != http.StatusSeeOther {
		t.Fatalf("same-origin POST: %d: %s", p.Status, p.Body)
	}
}

func TestNamespaceIsolation(t *testing.T) {
	s := mustStack(t)
	secret := s.MustNote(t, "alpha", sage.Note{Content: "the alpha launch code is tangerine", Project: "rocket", SessionID: "s-alpha"})
	s.MustNote(t, "beta", sage.Note{Content: "beta likes tangerine juice", Project: "kitchen"})
	b := s.MustSignedIn(t, s.MustKey(t, "beta"))

	if p := b.get("/console/memories/" + strconv.FormatInt(secret, 10)); p.Status != http.StatusNotFound {
		t.Errorf("other namespace's memory: status %d, want 404", p.Status)
	}
	p := b.get("/console/search?q=tangerine&mode=keyword")
	if strings.Contains(p.Body, "launch code") || !strings.Contains(p.Body, "juice") {
		t.Errorf("search shows another namespace's memory, or not its own:\n%s", p.Body)
	}
	p = b.get("/console/")
	if strings.Contains(p.Body, "rocket") || !strings.Contains(p.Body, "kitchen") {
		t.Errorf("overview shows another namespace's project, or not its own")
	}
	if p := b.get("/console/sessions/s-alpha"); p.Status != http.StatusNotFound {
		t.Errorf("other namespace's session: status %d, want 404", p.Status)
	}
	if p := b.post("/console/", "/console/memories/"+strconv.FormatInt(secret, 10)+"/forget", url.Values{}); p.Status != http.StatusNotFound {
		t.Errorf("forget another namespace's memory: status %d, want 404", p.Status)
	}
	if _, err := s.Service.Memory(sage.WithNamespace(context.Background(), "alpha"), secret); err != nil {
		t.Errorf("alpha's memory went: %v", err)
	}
}

func TestTokensAdminOnly(t *testing.T) {
	s := mustStack(t)
	user := s.MustSignedIn(t, s.MustKey(t, "default"))
	if p := user.get("/console/tokens"); p.Status != http.StatusForbidden {
		t.Errorf("tokens page with a memories key: %d, want 403", p.Status)
	}
	if p := user.get("/console/"); strings.Contains(p.Body, "/console/tokens") {
		t.Errorf("the menu offers token management to a memories key")
	}
	if p := user.post("/console/", "/console/tokens", url.Values{"name": {"x"}}); p.Status != http.StatusForbidden {
		t.Errorf("issuing with a memories key: %d, want 403", p.Status)
	}

	admin := s.MustSignedIn(t, s.MustKey(t, "default", sage.ScopeAdmin))
	p := admin.post("/console/tokens", "/console/tokens", url.Values{"name": {"laptop"}, "namespace": {"work"}, "ttl_days": {"0"}})
	m := regexp.MustCompile(`<code id="newkey">(sage_[A-Za-z0-9_-]+)</code>`).FindStringSubmatch(p.Body)
	if p.Status != http.StatusOK || m == nil {
		t.Fatalf("issue: %d, new key not shown", p.Status)
	}
	fresh := m[1]
	if p := admin.get("/console/tokens"); strings.Contains(p.Body, fresh) || !strings.Contains(p.Body, "laptop") {
		t.Errorf("the key list shows the new key again, or not its name")
	}
	// The new key signs in, into its namespace.
	other := s.MustSignedIn(t, fresh)
	if p := other.get("/console/"); !strings.Contains(p.Body, "work") {
		t.Errorf("the new key's session is not in namespace work")
	}
	// Revoking it ends its session.
	tok, err := s.Tokens.Authenticate(context.Background(), fresh)
	if err != nil {
		t.Fatal(err)
	}
	if p := admin.post("/console/tokens", "/console/tokens/"+tok.ID+"/revoke", url.Values{}); p.Status != http.StatusSeeOther {
		t.Fatalf("revoke: %d %s", p.Status, p.Body)
	}
	if p := other.get("/console/"); p.Status != http.StatusSeeOther {
		t.Errorf("a revoked key's session still works: %d", p.Status)
	}
}

func TestMemoryEditAndForget(t *testing.T) {
	s := mustStack(t)
	id := s.MustNote(t, "default", sage.Note{Content: "we deploy with blue green switches", Project: "ops", Tags: []string{"deploy"}})
	b := s.MustSignedIn(t, s.MustKey(t, "default"))
	path := "/console/memories/" + strconv.FormatInt(id, 10)

	if p := b.post(path, path, url.Values{"kind": {"decision"}, "tags": {"deploy, zebra-tag"}}); p.Status != http.StatusSeeOther {
		t.Fatalf("edit: %d %s", p.Status, p.Body)
	}
	if p := b.get(path); !strings.Contains(p.Body, "<h1>Memory #"+strconv.FormatInt(id, 10)+"</h1>") || strings.Count(p.Body, "<h1>") != 1 {
		t.Errorf("memory page: not one heading naming the memory")
	}
	m, err := s.Service.Memory(context.Background(), id)
	if err != nil || m.Kind != sage.KindDecision || strings.Join(m.Tags, ",") != "deploy,zebra-tag" {
		t.Fatalf("after edit: %+v %v", m, err)
	}
	// The new tag is searchable.
	if p := b.get("/console/search?q=zebra-tag&mode=keyword"); !strings.Contains(p.Body, "blue green") {
		t.Errorf("the new tag does not find the memory")
	}
	if p := b.post(path, path, url.Values{"kind": {"poem"}}); p.Status != http.StatusBadRequest {
		t.Errorf("unknown kind: %d, want 400", p.Status)
	}
	// Forget asks first, then forgets.
	if p := b.get(path + "/forget"); p.Status != http.StatusOK || !strings.Contains(p.Body, `action="`+path+`/forget"`) {
		t.Fatalf("confirmation page: %d", p.Status)
	}
	if p := b.post(path+"/forget", path+"/forget", url.Values{}); p.Status != http.StatusSeeOther {
		t.Fatalf("forget: %d %s", p.Status, p.Body)
	}
	if p := b.get(path); p.Status != http.StatusNotFound {
		t.Errorf("forgotten memory: %d, want 404", p.Status)
	}
}

func TestSettingsServedToHooks(t *testing.T) {
	s := mustStack(t)
	key := s.MustKey(t, "default")
	b := s.MustSignedIn(t, key)
	p := b.post("/console/settings", "/console/settings", url.Values{"max_results": {"3"}, "max_chars": {"900"},
		"min_score": {"0.02"}, "inject": {"on"}, "off": {"secret-project\n\n"}})
	if p.Status != http.StatusSeeOther {
		t.Fatalf("save: %d %s", p.Status, p.Body)
	}
	if p := b.post("/console/settings", "/console/settings", url.Values{"max_results": {"0"}, "max_chars": {"900"}, "min_score": {"0"}}); p.Status != http.StatusBadRequest || !strings.Contains(p.Body, "max_results") {
		t.Errorf("invalid settings: %d, want 400 naming max_results", p.Status)
	}
	tests := []struct {
		project string
		want    string
	}{
		{"web", `"stored":true,"inject":true,"max_results":3,"max_chars":900,"min_score":0.02`},
		{"secret-project", `"inject":false`},
	}
	for _, tt := range tests {
		req, _ := http.NewRequest("GET", s.API+"/api/v1/settings?project="+tt.project, nil)
		req.Header.Set("Authorization", "Bearer "+key)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), tt.want) {
			t.Errorf("project %s: %d %s, want %s", tt.project, resp.StatusCode, body, tt.want)
		}
	}
}

func TestLanguage(t *testing.T) {
	s := mustStack(t)
	b := newBrowser(t, s.Console)
	tests := []struct{ accept, want string }{
		{"zh-CN,zh;q=0.9,en;q=0.8", "访问密钥"},
		{"en-US,en;q=0.9", "Access key"},
		{"fr-FR", "Access key"},
		{"en;q=0.5, zh-TW;q=0.9", "访问密钥"},
		{"de, zh-Hant;q=0.8, en;q=0.5", "访问密钥"},
	}
	for _, tt := range tests {
		p := b.do("GET", "/console/login", nil, map[string]string{"Accept-Language": tt.accept})
		if !strings.Contains(p.Body, tt.want) {
			t.Errorf("Accept-Language %q: page lacks %q", tt.accept, tt.want)
		}
	}
}

func TestSessionActions(t *testing.T) {
	s := mustStack(t)
	for _, text := range []string{"first turn about the release", "second turn about the release"} {
		s.MustNote(t, "default", sage.Note{Content: text, Project: "web", SessionID: "s-1"})
	}
	b := s.MustSignedIn(t, s.MustKey(t, "default"))

	if p := b.get("/console/sessions?project=web&q=release"); !strings.Contains(p.Body, "/console/sessions/s-1") {
		t.Fatalf("filtered list lacks the session")
	}
	if p := b.get("/console/sessions?project=other"); strings.Contains(p.Body, "/console/sessions/s-1") {
		t.Errorf("the project filter kept another project's session")
	}
	if p := b.post("/console/sessions/s-1", "/console/sessions/s-1/rename", url.Values{"title": {"Release planning"}}); p.Status != http.StatusSeeOther {
		t.Fatalf("rename: %d %s", p.Status, p.Body)
	}
	if p := b.get("/console/sessions/s-1"); !strings.Contains(p.Body, "Release planning") || !strings.Contains(p.Body, "second turn") {
		t.Errorf("transcript lacks the new title or a turn")
	}
	p := b.get("/console/sessions/s-1/export")
	if p.Status != http.StatusOK || strings.Count(p.Body, "\n") != 2 || !strings.Contains(p.Body, `"text":"first turn about the release"`) {
		t.Errorf("export: %d %q", p.Status, p.Body)
	}
	if p := b.get("/console/sessions/s-1/delete"); p.Status != http.StatusOK || !strings.Contains(p.Body, `action="/console/sessions/s-1/delete"`) {
		t.Fatalf("delete confirmation: %d", p.Status)
	}
	if p := b.post("/console/sessions/s-1/delete", "/console/sessions/s-1/delete", url.Values{}); p.Status != http.StatusSeeOther {
		t.Fatalf("delete: %d %s", p.Status, p.Body)
	}
	if p := b.get("/console/sessions/s-1"); p.Status != http.StatusNotFound {
		t.Errorf("deleted session: %d, want 404", p.Status)
	}
}
