package http

import (
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestValidRedirectURI(t *testing.T) {
	tests := []struct {
		uri  string
		want bool
	}{
		{"http://localhost:1234/callback", true},
		{"http://127.0.0.1:5/cb", true},
		{"http://[::1]:5/cb", true},
		{"https://app.example.com/cb", true},
		{"http://app.example.com/cb", false},
		{"http://localhost.evil.com/cb", false},
		{"javascript:alert(1)", false},
		{"https://app.example.com/cb#frag", false},
		{"https://user@app.example.com/cb", false},
		{"/relative", false},
		{"https://" + strings.Repeat("a", maxRedirectURILen) + ".com", false},
	}
	for _, tt := range tests {
		if got := validRedirectURI(tt.uri); got != tt.want {
			t.Errorf("validRedirectURI(%q) = %v, want %v", tt.uri, got, tt.want)
		}
	}
}

func TestRedirectMatches(t *testing.T) {
	reg := []string{"http://localhost:1111/callback", "https://app.example.com/cb"}
	tests := []struct {
		uri  string
		want bool
	}{
		{"http://localhost:1111/callback", true},
		{"http://localhost:2222/callback", true}, // RFC 8252: loopback port may vary
		{"http://localhost:2222/other", false},
		{"https://app.example.com/cb", true},
		{"https://app.example.com:8443/cb", false},
		{"http://127.0.0.1:1111/callback", false},
	}
	for _, tt := range tests {
		if got := redirectMatches(reg, tt.uri); got != tt.want {
			t.Errorf("redirectMatches(%q) = %v, want %v", tt.uri, got, tt.want)
		}
	}
}

func FuzzValidRedirectURI(f *testing.F) {
	for _, s := range []string{"http://localhost:1/cb", "https://a.b/c", "http://evil.com", "http://127.0.0.1.evil.com/"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if !validRedirectURI(s) {
			return
		}
		u, err := url.Parse(s)
		if err != nil {
			t.Fatalf("accepted unparsable %q", s)
		}
		if u.Scheme == "http" && !isLoopbackHost(u.Hostname()) {
			t.Fatalf("accepted plain http to a remote host: %q", s)
		}
		if u.Scheme != "http" && u.Scheme != "https" {
			t.Fatalf("accepted scheme %q", u.Scheme)
		}
	})
}

func TestThrottleBucket(t *testing.T) {
	now := time.Unix(1000, 0)
	th := newThrottle(2, 10*time.Second)
	th.now = func() time.Time { return now }
	if th.wait("a") != 0 {
		t.Fatal("a fresh client waits")
	}
	th.fail("a")
	th.fail("a")
	if d := th.wait("a"); d != 10*time.Second {
		t.Fatalf("after the burst: wait %v, want 10s", d)
	}
	if th.wait("b") != 0 {
		t.Fatal("another client is throttled")
	}
	now = now.Add(5 * time.Second)
	if d := th.wait("a"); d != 5*time.Second {
		t.Fatalf("half refilled: wait %v, want 5s", d)
	}
	now = now.Add(5 * time.Second)
	if d := th.wait("a"); d != 0 {
		t.Fatalf("refilled: wait %v", d)
	}
	// Full buckets are forgotten.
	now = now.Add(time.Hour)
	th.fail("c")
	th.mu.Lock()
	_, kept := th.buckets["a"]
	th.mu.Unlock()
	if kept {
		t.Fatal("a full bucket was kept")
	}
}

func TestIsLoopbackHost(t *testing.T) {
	for host, want := range map[string]bool{
		"localhost": true, "LOCALHOST": true, "app.localhost": true, "127.0.0.1": true, "127.1.2.3": true,
		"[::1]": true, "::1": true, "evil.com": false, "localhost.evil.com": false, "10.0.0.1": false, "": false,
	} {
		if got := isLoopbackHost(host); got != want {
			t.Errorf("isLoopbackHost(%q) = %v, want %v", host, got, want)
		}
	}
}

// TestListParam: tag and kind are repeated or comma-separated, trimmed,
// and empty items are dropped.
func TestListParam(t *testing.T) {
	tests := []struct {
		query string
		want  []string
	}{
		{"", nil},
		{"tag=", nil},
		{"tag=db", []string{"db"}},
		{"tag=a,b&tag=c", []string{"a", "b", "c"}},
		{"tag=%20a%20,,b%20&other=x", []string{"a", "b"}},
	}
	for _, tt := range tests {
		q, err := url.ParseQuery(tt.query)
		if err != nil {
			t.Fatal(err)
		}
		if got := listParam(q, "tag"); !slices.Equal(got, tt.want) {
			t.Errorf("listParam(%q) = %q, want %q", tt.query, got, tt.want)
		}
	}
}
