package client_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/sage-mcp/sage/bridge/client"
	"github.com/sage-mcp/sage/shared/api"
	"github.com/sage-mcp/sage/testkit/daemontest"
	"github.com/sage-mcp/sage/testkit/testenv"
)

// TestErrors checks the error mapping against the real daemon.
func TestErrors(t *testing.T) {
	d := daemontest.Start(t)
	ctx := context.Background()
	c := client.New(d.URL, d.Token)

	if _, err := client.New(d.URL, "sage_wrong").Status(ctx); !errors.Is(err, client.ErrUnauthorized) {
		t.Errorf("wrong token: err = %v, want ErrUnauthorized", err)
	} else if strings.Contains(err.Error(), "sage_wrong") {
		t.Errorf("error leaks the token: %v", err)
	}
	if _, err := c.Session(ctx, "no-such-session"); !errors.Is(err, client.ErrNotFound) {
		t.Errorf("missing session: err = %v, want ErrNotFound", err)
	}
	// A turn without an idempotency key is fine; an oversized one is rejected.
	_, err := c.SaveTurns(ctx, []api.Turn{{UserPrompt: strings.Repeat("x", 2<<20), AssistantResponse: "y"}})
	var ae *client.Error
	if !errors.As(err, &ae) || !ae.Rejected() || ae.Temporary() {
		t.Errorf("oversized turn: err = %v, want a rejected *Error", err)
	}
	if _, err := c.Search(ctx, client.SearchParams{Query: "x", Mode: "psychic"}); !errors.As(err, &ae) || ae.Code != api.CodeInvalid {
		t.Errorf("bad mode: err = %v, want invalid_argument", err)
	}

	if _, err := client.New(testenv.RefusedURL(t), "t").Status(ctx); !errors.Is(err, client.ErrUnreachable) {
		t.Errorf("closed port: err = %v, want ErrUnreachable", err)
	}
	// A deadline that passes is unreachable too.
	tctx, cancel := context.WithTimeout(ctx, time.Nanosecond)
	defer cancel()
	<-tctx.Done()
	if _, err := c.Status(tctx); !errors.Is(err, client.ErrUnreachable) {
		t.Errorf("expired context: err = %v, want ErrUnreachable", err)
	}
}

// answer is an http.RoundTripper that answers every request with status
// and body, without a network.
type answer struct {
	status int
	body   string
}

func (a answer) RoundTrip(*http.Request) (*http.Response, error) {
	return &http.Response{StatusCode: a.status, Header: http.Header{}, Body: io.NopCloser(strings.NewReader(a.body))}, nil
}

// TestPlainErrorBody: an error answer that is not the daemon's JSON (a
// proxy's page, say) becomes the message, trimmed and cut to 200 bytes
// without splitting a character.
func TestPlainErrorBody(t *testing.T) {
	tests := []struct {
		name, body, want string
	}{
		{"short", "  bad gateway\n", "bad gateway"},
		{"long", strings.Repeat("x", 300), strings.Repeat("x", 200)},
		{"character at the cut", strings.Repeat("x", 199) + "世界", strings.Repeat("x", 199)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := client.New("http://daemon.invalid", "")
			c.HTTP = &http.Client{Transport: answer{http.StatusBadGateway, tt.body}}
			_, err := c.Status(context.Background())
			var ae *client.Error
			if !errors.As(err, &ae) || ae.Status != http.StatusBadGateway || !ae.Temporary() {
				t.Fatalf("err = %v, want a temporary *Error with status 502", err)
			}
			if ae.Message != tt.want || !utf8.ValidString(ae.Message) {
				t.Errorf("message %q, want %q", ae.Message, tt.want)
			}
		})
	}
}

// TestRoundTrip saves, recalls, exports, imports and forgets through the
// real daemon.
func TestRoundTrip(t *testing.T) {
	d := daemontest.Start(t)
	ctx := context.Background()
	c := client.New(d.URL, d.Token)
	res, err := c.SaveTurns(ctx, []api.Turn{
		{IdempotencyKey: "s:1", SessionID: "s", Project: "p", UserPrompt: "Which database does Sage use?", AssistantResponse: "PostgreSQL with pgvector."},
		{IdempotencyKey: "s:1", SessionID: "s", Project: "p", UserPrompt: "Which database does Sage use?", AssistantResponse: "PostgreSQL with pgvector."},
	})
	if err != nil || len(res) != 2 || !res[1].Deduplicated {
		t.Fatalf("save: %v %+v", err, res)
	}
	if _, err := c.SaveNote(ctx, api.Note{Content: "Decision: pgvector HNSW index", Kind: "decision", Project: "p"}); err != nil {
		t.Fatal(err)
	}
	cr, err := c.Context(ctx, client.ContextParams{Query: "database pgvector", MaxChars: 500, Project: "p"})
	if err != nil || len(cr.Items) == 0 {
		t.Fatalf("context: %v %+v", err, cr)
	}
	ss, err := c.Sessions(ctx, "p", 10)
	if err != nil || len(ss) == 0 {
		t.Fatalf("sessions: %v %+v", err, ss)
	}
	var buf strings.Builder
	n, err := c.Export(ctx, "", &buf)
	if err != nil || n != 2 {
		t.Fatalf("export: %d %v", n, err)
	}
	imp, err := c.Import(ctx, strings.NewReader(buf.String()))
	if err != nil || imp.Deduplicated != 2 {
		t.Fatalf("import: %v %+v", err, imp)
	}
	del, err := c.Forget(ctx, nil, "s")
	if err != nil || del != 1 {
		t.Fatalf("forget: %d %v", del, err)
	}
}
