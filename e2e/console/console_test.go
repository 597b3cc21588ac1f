// Package console_test drives the daemon's web console in headless
// Chromium (chromedp): the real sage-daemon binary, the real sage-bridge
// hook binary, and the browser. Screenshots of every page (1280×800) go to
// $SAGE_TEST_ARTIFACTS/console, else testdata/screens.
package console_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"github.com/sage-mcp/sage/testkit/daemontest"
	"github.com/sage-mcp/sage/testkit/testenv"
)

// env is a daemon with its console, a browser tab and the hook binary.
type env struct {
	t       *testing.T
	d       *daemontest.Daemon
	console string // http://127.0.0.1:PORT
	ctx     context.Context
	bridge  string
	shots   string
}

var consoleRE = regexp.MustCompile(`console listening.*?url=(http://127\.0\.0\.1:[0-9]+)/console/`)

func mustEnv(t *testing.T) *env {
	t.Helper()
	chromium := testenv.Require(t, "SAGE_TEST_CHROMIUM", "installs Chromium (Debian's chromium package)")
	d := daemontest.Start(t, daemontest.Options{Env: []string{"SAGE_CONSOLE_LISTEN=127.0.0.1:0", "SAGE_LOG_FORMAT=text"}})
	m := consoleRE.FindStringSubmatch(d.Log())
	if m == nil {
		t.Fatalf("the daemon did not log its console address:\n%s", d.Log())
	}
	shots := os.Getenv("SAGE_TEST_ARTIFACTS")
	if shots != "" {
		shots = filepath.Join(shots, "console")
	} else {
		shots = filepath.Join("testdata", "screens")
	}
	if err := os.MkdirAll(shots, 0o755); err != nil {
		t.Fatal(err)
	}
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(chromium),
		chromedp.Flag("headless", true),
		chromedp.Flag("no-sandbox", true),
		chromedp.Flag("disable-gpu", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("no-first-run", true),
		chromedp.Flag("lang", "en-US"),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1280, 800),
	}
	actx, cancelA := chromedp.NewExecAllocator(context.Background(), opts...)
	t.Cleanup(cancelA)
	ctx, cancelC := chromedp.NewContext(actx)
	t.Cleanup(cancelC)
	ctx, cancelT := context.WithTimeout(ctx, 5*time.Minute)
	t.Cleanup(cancelT)
	e := &env{t: t, d: d, console: m[1], ctx: ctx, bridge: daemontest.MustBuildCommand(t, "bridge/cmd/sage-bridge"), shots: shots}
	e.run(chromedp.EmulateViewport(1280, 800))
	if _, err := chromedp.Call(ctx, network.Enable, network.EnableParams{}); err != nil {
		t.Fatalf("browser: %v", err)
	}
	e.language("en-US,en;q=0.9")
	return e
}

// language sets the Accept-Language of the browser's requests.
func (e *env) language(v string) {
	e.t.Helper()
	if _, err := chromedp.Call(e.ctx, network.SetExtraHTTPHeaders, network.SetExtraHTTPHeadersParams{Headers: network.Headers{"Accept-Language": v}}); err != nil {
		e.t.Fatalf("browser: %v", err)
	}
}

// with returns e reporting to t (a subtest).
func (e *env) with(t *testing.T) *env {
	c := *e
	c.t = t
	return &c
}

func (e *env) run(steps ...chromedp.Action[chromedp.Void]) {
	e.t.Helper()
	if err := chromedp.Do(e.ctx, steps...); err != nil {
		e.t.Fatalf("browser: %v", err)
	}
}

// nav runs steps that navigate (a click on a link or a submit) and waits
// for the new page to load; it returns the page's HTTP status.
func (e *env) nav(steps ...chromedp.Action[chromedp.Void]) int64 {
	e.t.Helper()
	resp, err := chromedp.RunResponse(e.ctx, steps...)
	if err != nil {
		e.t.Fatalf("browser: %v", err)
	}
	if resp == nil {
		return 0
	}
	return resp.Status
}

func get[T any](e *env, a chromedp.Action[T]) T {
	e.t.Helper()
	v, err := chromedp.Run(e.ctx, a)
	if err != nil {
		e.t.Fatalf("browser: %v", err)
	}
	return v
}

// shot saves a 1280×800 screenshot of the current page as name.png.
func (e *env) shot(name string) {
	e.t.Helper()
	buf := get(e, chromedp.CaptureScreenshot())
	if err := os.WriteFile(filepath.Join(e.shots, name+".png"), buf, 0o644); err != nil {
		e.t.Fatal(err)
	}
}

func (e *env) text(sel string) string {
	e.t.Helper()
	return get(e, chromedp.Text(css(sel)))
}

func (e *env) html(sel string) string {
	e.t.Helper()
	return get(e, chromedp.OuterHTML(css(sel)))
}

func (e *env) location() string {
	e.t.Helper()
	return get(e, chromedp.Location())
}

type css = chromedp.CSS

// api calls the daemon's REST API with the admin token.
func (e *env) api(method, path string, body any) []byte {
	e.t.Helper()
	var r io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		r = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, e.d.URL+"/api/v1"+path, r)
	req.Header.Set("Authorization", "Bearer "+e.d.Token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	if resp.StatusCode >= 300 {
		e.t.Fatalf("%s %s: %d %s", method, path, resp.StatusCode, out)
	}
	return out
}

// hook runs the real prompt hook in a project directory named project
// and returns the memory lines it injected.
func (e *env) hook(projectDir, prompt string) []string {
	e.t.Helper()
	in, _ := json.Marshal(map[string]string{"session_id": "hook-session", "hook_event_name": "UserPromptSubmit",
		"cwd": projectDir, "prompt": prompt, "prompt_id": fmt.Sprint(time.Now().UnixNano())})
	cmd := exec.Command(e.bridge, "hook", "UserPromptSubmit")
	cmd.Stdin = bytes.NewReader(in)
	cache := e.t.TempDir()
	cmd.Env = append(os.Environ(), "SAGE_URL="+e.d.URL, "SAGE_TOKEN="+e.d.Token, "SAGE_CACHE_DIR="+cache,
		"SAGE_CONFIG="+filepath.Join(cache, "none.json"), "SAGE_HOOKS_TIMEOUT_MS=3000")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil || stderr.Len() > 0 {
		e.t.Fatalf("hook: %v %s", err, stderr.String())
	}
	if len(bytes.TrimSpace(out)) == 0 {
		return nil
	}
	var o struct {
		HookSpecificOutput struct {
			AdditionalContext string `json:"additionalContext"`
		} `json:"hookSpecificOutput"`
	}
	if err := json.Unmarshal(out, &o); err != nil {
		e.t.Fatalf("hook output %q: %v", out, err)
	}
	var lines []string
	for _, l := range strings.Split(o.HookSpecificOutput.AdditionalContext, "\n") {
		if strings.HasPrefix(l, "- ") {
			lines = append(lines, l)
		}
	}
	return lines
}

// saveSettings submits the settings form; an empty value leaves its field
// as it is.
func (e *env) saveSettings(maxResults, maxChars, minScore, off string, inject bool) {
	e.t.Helper()
	e.run(chromedp.Navigate(e.console+"/console/settings"), chromedp.WaitVisible(css("#settings")))
	for _, f := range []struct{ sel, v string }{{"#max_results", maxResults}, {"#max_chars", maxChars}, {"#min_score", minScore}, {"#off", off}} {
		if f.v == "" {
			continue // left as it is (chromedp cannot set "")
		}
		if err := chromedp.Do(e.ctx, chromedp.SetValue(css(f.sel), f.v)); err != nil {
			e.t.Fatalf("set %s to %q: %v", f.sel, f.v, err)
		}
	}
	if checked := get(e, chromedp.JavascriptAttribute[bool](css("#inject"), "checked")); checked != inject {
		e.run(chromedp.Click(css("#inject")))
	}
	e.nav(chromedp.Click(css(`#settings button[type=submit]`)))
	e.run(chromedp.WaitVisible(css(".flash")))
}

func TestConsole(t *testing.T) {
	e := mustEnv(t)
	notes := []string{
		"The deploy pipeline runs the canary for ten minutes before the full rollout.",
		"Canary deploys are rolled back automatically when the error rate doubles.",
		"We chose PostgreSQL with pgvector for the memory store, not a separate vector database.",
		"The staging deploy uses the same canary pipeline with a two minute window.",
	}
	for i, n := range notes {
		e.api("POST", "/notes", map[string]any{"content": n, "project": "shop", "session_id": "design-review",
			"kind": []string{"note", "decision", "decision", "fact"}[i], "tags": []string{"deploy"}})
	}
	e.api("POST", "/turns", map[string]any{"turns": []map[string]any{{"session_id": "design-review", "project": "shop",
		"user_prompt": "How long does the canary run?", "assistant_response": "Ten minutes, then the full rollout starts."}}})

	t.Run("refused without signing in", func(t *testing.T) {
		e := e.with(t)
		e.run(chromedp.Navigate(e.console+"/console/settings"), chromedp.WaitVisible(css("#key")))
		if loc := e.location(); !strings.Contains(loc, "/console/login") {
			t.Fatalf("signed out, settings led to %s, want the sign-in page", loc)
		}
		e.shot("login")
		e.run(chromedp.SetValue(css("#key"), "sage_wrong"))
		if st := e.nav(chromedp.Click(css(`#login button[type=submit]`))); st != http.StatusUnauthorized {
			t.Errorf("wrong key: status %d, want 401", st)
		}
		e.run(chromedp.WaitVisible(css(".error")))
	})

	t.Run("sign in", func(t *testing.T) {
		e := e.with(t)
		e.run(chromedp.SetValue(css("#key"), e.d.Token))
		e.nav(chromedp.Click(css(`#login button[type=submit]`)))
		// Signed in, the browser lands where it was going: the settings.
		e.run(chromedp.WaitVisible(css("#settings")))
		e.run(chromedp.Navigate(e.console+"/console/"), chromedp.WaitVisible(css(".chart")))
		if n := e.text("#memories"); n != "5" {
			t.Errorf("overview counts %s memories, want 5", n)
		}
		if strings.Contains(e.html("html"), e.d.Token) {
			t.Fatal("the overview shows the access key")
		}
		e.shot("overview")
		e.run(chromedp.Navigate(e.console+"/console/sessions"), chromedp.WaitVisible(css("table.list")))
		e.shot("sessions")
		e.run(chromedp.Navigate(e.console+"/console/sessions/design-review"), chromedp.WaitVisible(css("ol.transcript")))
		e.shot("transcript")
	})

	t.Run("search, forget and see it gone", func(t *testing.T) {
		e := e.with(t)
		e.run(chromedp.Navigate(e.console+"/console/search"), chromedp.WaitVisible(css("#search")),
			chromedp.SetValue(css(`#search input[name=q]`), "canary rollback error rate"))
		e.nav(chromedp.Click(css(`#search button[type=submit]`)))
		e.run(chromedp.WaitVisible(css("a.result")))
		if got := e.text("table.results"); !strings.Contains(got, "rolled back automatically") {
			t.Fatalf("search results lack the memory:\n%s", got)
		}
		e.shot("search")
		e.nav(chromedp.Click(chromedp.Search(`//a[contains(@class,"result")][contains(., "rolled back automatically")]`)))
		e.run(chromedp.WaitVisible(css("#edit")))
		e.shot("memory")
		e.nav(chromedp.Click(css("#forget")))
		e.run(chromedp.WaitVisible(css("#confirm")))
		e.shot("confirm")
		e.nav(chromedp.Click(css("#confirm")))
		e.run(chromedp.WaitVisible(css(".flash")))
		e.run(chromedp.Navigate(e.console+"/console/search?q=canary+rollback+error+rate"),
			chromedp.WaitVisible(css("table.results")))
		if strings.Contains(e.text("table.results"), "rolled back automatically") {
			t.Fatal("the forgotten memory is still found")
		}
	})

	t.Run("a setting changes the next prompt hook", func(t *testing.T) {
		e := e.with(t)
		project := filepath.Join(t.TempDir(), "shop")
		if err := os.MkdirAll(project, 0o755); err != nil {
			t.Fatal(err)
		}
		const prompt = "how long does the canary deploy pipeline run before rollout?"
		e.saveSettings("5", "4000", "0", "", true)
		if got := e.hook(project, prompt); len(got) < 2 {
			t.Fatalf("with 5 results and no threshold the hook injected %d memories, want several: %q", len(got), got)
		}
		e.saveSettings("1", "4000", "0", "", true)
		if got := e.hook(project, prompt); len(got) != 1 {
			t.Fatalf("with max results 1 the hook injected %d memories: %q", len(got), got)
		}
		e.shot("settings")
		e.saveSettings("5", "4000", "0", "shop", true)
		if got := e.hook(project, prompt); len(got) != 0 {
			t.Fatalf("with recall off in project shop the hook injected %q", got)
		}
	})

	t.Run("pages", func(t *testing.T) {
		e := e.with(t)
		e.run(chromedp.Navigate(e.console+"/console/injections"), chromedp.WaitVisible(css("h1")))
		e.shot("injections")
		e.run(chromedp.Navigate(e.console+"/console/tokens"), chromedp.WaitVisible(css("#issue")),
			chromedp.SetValue(css(`#issue input[name=name]`), "laptop"))
		e.nav(chromedp.Click(css(`#issue button[type=submit]`)))
		e.run(chromedp.WaitVisible(css("#newkey")))
		if k := e.text("#newkey"); !strings.HasPrefix(k, "sage_") {
			t.Fatalf("new key shown as %q", k)
		}
		e.shot("tokens")
		e.language("zh-CN,zh;q=0.9")
		e.run(chromedp.Navigate(e.console+"/console/"), chromedp.WaitVisible(css(".chart")))
		if h := e.text("h1"); h != "概览" {
			t.Errorf("Chinese overview title %q", h)
		}
		e.shot("overview-zh")
		e.language("en-US")
	})

	t.Run("cross-site POST refused", func(t *testing.T) {
		e := e.with(t)
		// A page on another site posts the settings form to the console.
		evil := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			fmt.Fprintf(w, `<!doctype html><form method="post" action="%s/console/settings">
<input name="max_results" value="50"><input name="max_chars" value="200"><input name="min_score" value="1">
<input name="csrf" value="guess"><button id="go" type="submit">go</button></form>`, e.console)
		}))
		defer evil.Close()
		page := strings.Replace(evil.URL, "127.0.0.1", "localhost", 1) // another site than 127.0.0.1
		e.run(chromedp.Navigate(page), chromedp.WaitVisible(css("#go")))
		if st := e.nav(chromedp.Click(css("#go"))); st != http.StatusForbidden {
			t.Errorf("cross-site POST: status %d, want 403", st)
		}
		e.run(chromedp.WaitVisible(css(".error")))
		if h := e.text("h1"); !strings.Contains(h, "403") {
			t.Errorf("cross-site POST answered %q, want 403", h)
		}
		var st struct {
			MaxResults int `json:"max_results"`
		}
		_ = json.Unmarshal(e.api("GET", "/settings?project=shop", nil), &st)
		if st.MaxResults == 50 {
			t.Fatal("the cross-site POST changed the settings")
		}
	})
}
