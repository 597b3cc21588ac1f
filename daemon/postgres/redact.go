package postgres

import (
	"net/url"
	"strings"
)

// Redact returns err's text with the password of the database URL (and
// the URL itself) replaced by "xxxxx", for showing a failure of Open where
// anyone may read it (/readyz).
func Redact(err error, databaseURL string) string {
	if err == nil {
		return ""
	}
	msg := err.Error()
	if databaseURL != "" {
		msg = strings.ReplaceAll(msg, databaseURL, "xxxxx")
	}
	if u, perr := url.Parse(databaseURL); perr == nil && u.User != nil {
		if p, ok := u.User.Password(); ok && p != "" {
			msg = strings.ReplaceAll(msg, p, "xxxxx")
			if q := url.QueryEscape(p); q != p {
				msg = strings.ReplaceAll(msg, q, "xxxxx")
			}
		}
	}
	for _, key := range []string{"password=", "sslpassword="} { // keyword/value connection strings
		for i := strings.Index(msg, key); i >= 0; {
			j := i + len(key)
			k := strings.IndexAny(msg[j:], " '\"")
			if k < 0 {
				k = len(msg) - j
			}
			msg = msg[:j] + "xxxxx" + msg[j+k:]
			next := strings.Index(msg[j+len("xxxxx"):], key)
			if next < 0 {
				break
			}
			i = j + len("xxxxx") + next
		}
	}
	return msg
}
