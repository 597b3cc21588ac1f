package console

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"time"

	sage "github.com/sage-mcp/sage/daemon"
	sagehttp "github.com/sage-mcp/sage/daemon/http"
)

// Cookies of the console.
const (
	// SessionCookie holds the session id (HttpOnly, SameSite=Strict).
	SessionCookie = "sage_console"
	// loginCookie holds the sign-in form's CSRF value before a session
	// exists (double submit).
	loginCookie = "sage_console_login"
)

// MaxKeyBytes bounds a key typed into the sign-in form.
const MaxKeyBytes = 512

// session is a signed-in browser. It keeps the key's id, never its secret.
type session struct {
	id        string
	csrf      string
	tokenID   string
	tokenName string
	namespace string
	admin     bool
	expires   time.Time
	created   time.Time
	checked   time.Time // when the key was last found valid
	flash     string    // one-shot message key for the next page
}

func randomString(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

func secure(r *http.Request) bool { return r.TLS != nil }

func (c *Console) setCookie(w http.ResponseWriter, r *http.Request, name, value string, maxAge int) {
	http.SetCookie(w, &http.Cookie{Name: name, Value: value, Path: Prefix, MaxAge: maxAge,
		HttpOnly: true, Secure: secure(r), SameSite: http.SameSiteStrictMode})
}

// current returns r's live session, if any.
func (c *Console) current(r *http.Request) (*session, bool) {
	ck, err := r.Cookie(SessionCookie)
	if err != nil || ck.Value == "" {
		return nil, false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	s, ok := c.sessions[ck.Value]
	if !ok {
		return nil, false
	}
	if !c.opts.Now().Before(s.expires) {
		delete(c.sessions, s.id)
		return nil, false
	}
	return s, true
}

// takeFlash returns and clears s's flash message.
func (c *Console) takeFlash(s *session) string {
	if s == nil {
		return ""
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	f := s.flash
	s.flash = ""
	return f
}

func (c *Console) setFlash(s *session, key string) {
	c.mu.Lock()
	s.flash = key
	c.mu.Unlock()
}

// tokens returns the daemon's token store, or ErrUnavailable.
func (c *Console) tokens() (sagehttp.TokenStore, error) {
	b := c.d.Backend()
	if b == nil || b.Tokens == nil {
		return nil, sage.ErrUnavailable
	}
	return b.Tokens, nil
}

// signedIn requires a live session (and an admin key when admin), whose
// key is still valid, before h. Without one, GETs go to the sign-in page
// and other methods get 403.
func (c *Console) signedIn(admin bool, h pageFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		s, ok := c.current(r)
		if ok {
			ok = c.stillValid(r.Context(), s)
		}
		if !ok {
			if r.Method == http.MethodGet {
				next := r.URL.Path
				if r.URL.RawQuery != "" {
					next += "?" + r.URL.RawQuery
				}
				http.Redirect(w, r, Prefix+"/login?next="+url.QueryEscape(next), http.StatusSeeOther)
				return
			}
			c.errorPage(w, r, http.StatusForbidden, "error.signin")
			return
		}
		if admin && !s.admin {
			c.errorPage(w, r, http.StatusForbidden, "error.admin")
			return
		}
		w.Header().Set("Cache-Control", "no-store")
		h(w, r, s)
	}
}

// stillValid checks, at most every revalidateEvery, that s's key is
// neither revoked nor expired; a session whose key is not ends.
func (c *Console) stillValid(ctx context.Context, s *session) bool {
	now := c.opts.Now()
	c.mu.Lock()
	fresh := now.Sub(s.checked) < revalidateEvery
	c.mu.Unlock()
	if fresh {
		return true
	}
	ts, err := c.tokens()
	if err != nil {
		return true // the page will say the database is unavailable
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	list, err := ts.Tokens(ctx)
	if err != nil {
		return true
	}
	for _, t := range list {
		if t.ID == s.tokenID {
			if !t.RevokedAt.IsZero() || (!t.ExpiresAt.IsZero() && !now.Before(t.ExpiresAt)) {
				break
			}
			c.mu.Lock()
			s.checked = now
			c.mu.Unlock()
			return true
		}
	}
	c.mu.Lock()
	delete(c.sessions, s.id)
	c.mu.Unlock()
	return false
}

// endSessionsOf ends every session signed in with key id.
func (c *Console) endSessionsOf(id string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for k, s := range c.sessions {
		if s.tokenID == id {
			delete(c.sessions, k)
		}
	}
}

// sameOrigin refuses (403) a POST that a browser says comes from another
// site or origin, on top of Guard's Origin allow-list: the console's forms
// post only to themselves.
func (c *Console) sameOrigin(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if site := r.Header.Get("Sec-Fetch-Site"); site != "" && site != "same-origin" && site != "none" {
			c.errorPage(w, r, http.StatusForbidden, "error.crosssite")
			return
		}
		if o := r.Header.Get("Origin"); o != "" {
			u, err := url.Parse(o)
			if err != nil || !strings.EqualFold(u.Host, r.Host) {
				c.errorPage(w, r, http.StatusForbidden, "error.crosssite")
				return
			}
		}
		h(w, r)
	}
}

// csrf checks the form's CSRF token against the session's.
func (c *Console) csrf(h pageFunc) pageFunc {
	return func(w http.ResponseWriter, r *http.Request, s *session) {
		r.Body = http.MaxBytesReader(w, r.Body, 1<<20)
		got := r.PostFormValue("csrf")
		if got == "" || subtle.ConstantTimeCompare([]byte(got), []byte(s.csrf)) != 1 {
			c.errorPage(w, r, http.StatusForbidden, "error.csrf")
			return
		}
		h(w, r, s)
	}
}

type loginData struct {
	Next  string
	Error string
}

// safeNext keeps a redirect target inside the console.
func safeNext(next string) string {
	if !strings.HasPrefix(next, Prefix+"/") || strings.HasPrefix(next, "//") || strings.ContainsAny(next, "\\\r\n") {
		return Prefix + "/"
	}
	return next
}

func (c *Console) loginPage(w http.ResponseWriter, r *http.Request) {
	if s, ok := c.current(r); ok && c.stillValid(r.Context(), s) {
		http.Redirect(w, r, safeNext(r.URL.Query().Get("next")), http.StatusSeeOther)
		return
	}
	c.showLogin(w, r, http.StatusOK, "")
}

func (c *Console) showLogin(w http.ResponseWriter, r *http.Request, status int, errKey string) {
	token := randomString(24)
	c.setCookie(w, r, loginCookie, token, 3600)
	w.Header().Set("Cache-Control", "no-store")
	msg := ""
	if errKey != "" {
		msg = messages(r).T(errKey)
	}
	c.render(w, r, status, "login", nil, token, loginData{Next: safeNext(r.FormValue("next")), Error: msg})
}

// login signs in with an access key: the key must be valid and grant at
// least the memories scope. The key itself is never kept.
func (c *Console) login(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	ck, err := r.Cookie(loginCookie)
	form := r.PostFormValue("csrf")
	if err != nil || form == "" || subtle.ConstantTimeCompare([]byte(ck.Value), []byte(form)) != 1 {
		c.errorPage(w, r, http.StatusForbidden, "error.csrf")
		return
	}
	key := strings.TrimSpace(r.PostFormValue("key"))
	if key == "" || len(key) > MaxKeyBytes {
		c.showLogin(w, r, http.StatusUnauthorized, "login.bad")
		return
	}
	ts, err := c.tokens()
	if err != nil {
		c.fail(w, r, err)
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), 5*time.Second)
	defer cancel()
	t, err := ts.Authenticate(ctx, key)
	if errors.Is(err, sage.ErrUnauthenticated) || (err == nil && (t.Kind != sage.TokenKey || !t.HasScope(sage.ScopeMemories))) {
		c.log.Info("console sign-in refused", "remote", r.RemoteAddr)
		c.showLogin(w, r, http.StatusUnauthorized, "login.bad")
		return
	}
	if err != nil {
		c.fail(w, r, err)
		return
	}
	now := c.opts.Now()
	s := &session{id: randomString(32), csrf: randomString(32), tokenID: t.ID, tokenName: t.Name,
		namespace: t.Namespace, admin: t.HasScope(sage.ScopeAdmin), created: now, checked: now,
		expires: now.Add(c.opts.SessionTTL)}
	if !t.ExpiresAt.IsZero() && t.ExpiresAt.Before(s.expires) {
		s.expires = t.ExpiresAt
	}
	c.mu.Lock()
	if len(c.sessions) >= MaxSessions {
		var oldest *session
		for _, x := range c.sessions {
			if oldest == nil || x.created.Before(oldest.created) {
				oldest = x
			}
		}
		delete(c.sessions, oldest.id)
	}
	c.sessions[s.id] = s
	c.mu.Unlock()
	c.setCookie(w, r, loginCookie, "", -1)
	c.setCookie(w, r, SessionCookie, s.id, int(c.opts.SessionTTL.Seconds()))
	c.log.Info("console sign-in", "token_id", t.ID, "namespace", t.Namespace)
	http.Redirect(w, r, safeNext(r.PostFormValue("next")), http.StatusSeeOther)
}

func (c *Console) logout(w http.ResponseWriter, r *http.Request, s *session) {
	c.mu.Lock()
	delete(c.sessions, s.id)
	c.mu.Unlock()
	c.setCookie(w, r, SessionCookie, "", -1)
	http.Redirect(w, r, Prefix+"/login", http.StatusSeeOther)
}
