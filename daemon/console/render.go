package console

import (
	"bytes"
	"fmt"
	"html/template"
	"net/http"
	"strings"
	"time"

	sage "github.com/sage-mcp/sage/daemon"
	"github.com/sage-mcp/sage/shared/textcut"
)

// pageNames are the templates, each with the layout.
var pageNames = []string{"login", "error", "overview", "sessions", "transcript", "confirm", "search",
	"memory", "injections", "settings", "tokens"}

func parsePages() map[string]*template.Template {
	funcs := template.FuncMap{
		"day":   func(t time.Time) string { return t.UTC().Format("2006-01-02") },
		"when":  func(t time.Time) string { return t.UTC().Format("2006-01-02 15:04") },
		"cut":   func(n int, s string) string { return textcut.Runes(s, n, textcut.Ellipsis) },
		"score": func(f float64) string { return fmt.Sprintf("%.4f", f) },
		"join":  strings.Join,
		"bytes": humanBytes,
		"dict2": func(t view, s []share) sharesArgs { return sharesArgs{T: t, S: s} },
		"hit": func(h sage.Hit) string {
			switch {
			case h.Rank > 0:
				return fmt.Sprintf("#%d · %.4f", h.Rank, h.Score)
			case h.Known():
				return fmt.Sprintf("– · %.4f", h.Score) // not listed; cosine computed after fusion
			}
			return "–"
		},
	}
	out := map[string]*template.Template{}
	for _, n := range pageNames {
		out[n] = template.Must(template.New("layout.html").Funcs(funcs).ParseFS(templateFS, "templates/layout.html", "templates/"+n+".html"))
	}
	return out
}

func humanBytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}

// sharesArgs are the arguments of the "shares" template.
type sharesArgs struct {
	T view
	S []share
}

// ownHeading are the pages that print their own heading (in a card, or
// other than their title); the layout heads the others with their title.
var ownHeading = map[string]bool{"login": true, "error": true, "confirm": true, "transcript": true}

// view is what every template gets.
type view struct {
	Msg        catalogue
	Lang       string
	Page       string
	OwnHeading bool
	Signed     bool
	Admin      bool
	User       string // the key's name
	NS         string
	CSRF       string
	Flash      string
	Data       any
	Version    string
}

// T translates key.
func (v view) T(key string) string { return v.Msg.T(key) }

// render writes page with data for session s (nil: signed out); csrf
// overrides the session's CSRF token (the sign-in form's).
func (c *Console) render(w http.ResponseWriter, r *http.Request, status int, page string, s *session, csrf string, data any) {
	m := messages(r)
	v := view{Msg: m, Lang: m.lang, Page: page, OwnHeading: ownHeading[page], Data: data, CSRF: csrf, Version: sage.Version}
	if s != nil {
		v.Signed, v.Admin, v.User, v.NS = true, s.admin, s.tokenName, s.namespace
		if csrf == "" {
			v.CSRF = s.csrf
		}
		if f := c.takeFlash(s); f != "" {
			v.Flash = m.T(f)
		}
	}
	var buf bytes.Buffer
	if err := c.pages[page].Execute(&buf, v); err != nil {
		c.log.Error("console template", "page", page, "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Content-Language", m.lang)
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}
