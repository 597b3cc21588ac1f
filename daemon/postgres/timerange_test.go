package postgres_test

import (
	"context"
	"encoding/json"
	"log/slog"
	"strings"
	"testing"
	"time"

	sage "github.com/sage-mcp/sage/daemon"
	"github.com/sage-mcp/sage/daemon/postgres"
	"github.com/sage-mcp/sage/testkit/daemontest"
)

// mustEncode fails t unless v encodes as JSON (the REST and MCP answers
// are JSON: a time outside the years 0–9999 does not encode).
func mustEncode(t *testing.T, what string, v any) {
	t.Helper()
	if _, err := json.Marshal(v); err != nil {
		t.Fatalf("%s does not encode as JSON: %v", what, err)
	}
}

// mustInRange fails t unless every time is within sage.MinTime..MaxTime.
func mustInRange(t *testing.T, what string, ts ...time.Time) {
	t.Helper()
	for _, x := range ts {
		if x.Before(sage.MinTime) || x.After(sage.MaxTime) {
			t.Fatalf("%s: time %s is out of range", what, x.UTC().Format(time.RFC3339Nano))
		}
	}
}

// TestOutOfRangeRows: rows whose times were written out of range by SQL
// (year 10000, year 0, ±infinity) never fail a read. They come back
// clamped to the range, with a log line, and export → import works.
func TestOutOfRangeRows(t *testing.T) {
	t.Parallel()
	ctx := sage.WithNamespace(context.Background(), "ns")
	db := MustOpen(t, MustDatabase(t))
	logs := &daemontest.Output{}
	svc := postgres.NewMemoryService(db, MustBuiltin(t, 384), slog.New(slog.NewJSONHandler(logs, nil)))

	bad := map[string]string{ // session → the occurred_at SQL sets
		"late":     "'10000-01-01 23:58:59+00'",
		"early":    "'0001-12-31 00:01:00+00 BC'", // year 0
		"infinite": "'infinity'",
		"minus":    "'-infinity'",
	}
	for session := range bad {
		for i, text := range []string{"zebra crossing " + session, "ordinary turn " + session} {
			if _, err := svc.SaveTurn(ctx, sage.Turn{SessionID: session, Project: "p", UserPrompt: text, AssistantResponse: "ok",
				OccurredAt: time.Date(2026, 1, 1, 0, i, 0, 0, time.UTC)}); err != nil {
				t.Fatal(err)
			}
		}
	}
	for session, at := range bad {
		for _, sql := range []string{
			"UPDATE memories SET occurred_at = " + at + " WHERE session_id = $1 AND text LIKE 'User: zebra%'",
			"UPDATE memories SET created_at = " + at + " WHERE session_id = $1 AND text LIKE 'User: zebra%'",
			"UPDATE sessions SET first_at = " + at + ", last_at = " + at + " WHERE id = $1",
		} {
			if _, err := db.Pool().Exec(ctx, sql, session); err != nil {
				t.Fatalf("%s: %v", sql, err)
			}
		}
	}

	tests := []struct {
		name string
		read func() (any, []time.Time, int, error)
	}{
		{"search", func() (any, []time.Time, int, error) {
			rs, err := svc.Search(ctx, sage.SearchQuery{Query: "zebra crossing", Limit: 20})
			return rs, resultTimes(rs), len(rs), err
		}},
		{"search keyword", func() (any, []time.Time, int, error) {
			rs, err := svc.Search(ctx, sage.SearchQuery{Query: "zebra", Mode: sage.ModeKeyword, Limit: 20})
			return rs, resultTimes(rs), len(rs), err
		}},
		{"context", func() (any, []time.Time, int, error) {
			c, err := svc.Context(ctx, sage.ContextQuery{Query: "zebra crossing", MaxResults: 20})
			return c, resultTimes(c.Items), len(c.Items), err
		}},
		{"context recent", func() (any, []time.Time, int, error) {
			c, err := svc.Context(ctx, sage.ContextQuery{MaxResults: 20, MaxChars: sage.MaxMaxChars})
			return c, resultTimes(c.Items), len(c.Items), err
		}},
		{"sessions", func() (any, []time.Time, int, error) {
			ss, err := svc.Sessions(ctx, "", 20)
			var ts []time.Time
			for _, s := range ss {
				ts = append(ts, s.FirstAt, s.LastAt)
			}
			return ss, ts, len(ss), err
		}},
		{"session", func() (any, []time.Time, int, error) {
			s, err := svc.Session(ctx, "late")
			return s, []time.Time{s.FirstAt, s.LastAt}, 1, err
		}},
		{"session memories", func() (any, []time.Time, int, error) {
			ms, err := svc.SessionMemories(ctx, "minus")
			return ms, memoryTimes(ms), len(ms), err
		}},
		{"export", func() (any, []time.Time, int, error) {
			var ms []sage.Memory
			err := svc.Export(ctx, sage.Filter{}, func(m sage.Memory) error { ms = append(ms, m); return nil })
			return ms, memoryTimes(ms), len(ms), err
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v, ts, n, err := tt.read()
			if err != nil {
				t.Fatalf("%s: %v", tt.name, err)
			}
			if n < 1 {
				t.Fatalf("%s: %d items, want the rows with bad times too", tt.name, n)
			}
			mustInRange(t, tt.name, ts...)
			mustEncode(t, tt.name, v)
		})
	}
	if !strings.Contains(logs.String(), "time out of range") || !strings.Contains(logs.String(), "10000-01-01T23:58:59Z") {
		t.Fatalf("no log line names the rows out of range:\n%s", logs.String())
	}

	// Export pages through rows of any time exactly once, and what it
	// gives imports again.
	var all []sage.Memory
	if err := svc.Export(ctx, sage.Filter{}, func(m sage.Memory) error { all = append(all, m); return nil }); err != nil {
		t.Fatal(err)
	}
	if len(all) != 2*len(bad) {
		t.Fatalf("export gave %d memories, want %d", len(all), 2*len(bad))
	}
	res, err := svc.Import(sage.WithNamespace(context.Background(), "copy"), all)
	if err != nil || res.Imported != len(all) {
		t.Fatalf("import of the export: %+v, %v", res, err)
	}
}

func resultTimes(rs []sage.Result) []time.Time {
	var ts []time.Time
	for _, r := range rs {
		ts = append(ts, r.OccurredAt, r.CreatedAt)
	}
	return ts
}

func memoryTimes(ms []sage.Memory) []time.Time {
	var ts []time.Time
	for _, m := range ms {
		ts = append(ts, m.OccurredAt, m.CreatedAt)
	}
	return ts
}
