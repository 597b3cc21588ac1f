package postgres_test

import (
	"context"
	"errors"
	"testing"

	sage "github.com/sage-mcp/sage/daemon"
	"github.com/sage-mcp/sage/daemon/postgres"
)

// TestBadTextNeverReachesPostgres: text PostgreSQL cannot store (NUL,
// invalid UTF-8) and titles that would clear a session's title are
// refused as *sage.InputError naming the field, not sent to the database
// (which answered "invalid byte sequence for encoding UTF8").
func TestBadTextNeverReachesPostgres(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	svc, db := MustService(t)
	tokens := postgres.NewTokenStore(db.Pool())
	if _, err := svc.SaveTurn(ctx, sage.Turn{SessionID: "s1", UserPrompt: "hello", AssistantResponse: "hi"}); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name  string
		call  func() error
		field string
	}{
		{"sessions project NUL", func() error { _, err := svc.Sessions(ctx, "\x00", 0); return err }, "project"},
		{"sessions project bad UTF-8", func() error { _, err := svc.Sessions(ctx, "\xff", 0); return err }, "project"},
		{"session id NUL", func() error { _, err := svc.Session(ctx, "a\x00b"); return err }, "session_id"},
		{"session id bad UTF-8", func() error { _, err := svc.Session(ctx, "\xff"); return err }, "session_id"},
		{"session memories id NUL", func() error { _, err := svc.SessionMemories(ctx, "\x00"); return err }, "session_id"},
		{"rename id NUL", func() error { return svc.RenameSession(ctx, "\x00", "title") }, "session_id"},
		{"rename empty title", func() error { return svc.RenameSession(ctx, "s1", "") }, "title"},
		{"rename blank title", func() error { return svc.RenameSession(ctx, "s1", " \n ") }, "title"},
		{"rename title NUL", func() error { return svc.RenameSession(ctx, "s1", "a\x00") }, "title"},
		{"forget session NUL", func() error { _, err := svc.Forget(ctx, sage.ForgetRequest{SessionID: "\x00"}); return err }, "session_id"},
		{"issue token name NUL", func() error {
			_, _, err := tokens.IssueToken(ctx, sage.TokenSpec{Name: "a\x00"})
			return err
		}, "name"},
		{"issue token name bad UTF-8", func() error {
			_, _, err := tokens.IssueToken(ctx, sage.TokenSpec{Name: "\xff"})
			return err
		}, "name"},
		{"revoke token id NUL", func() error { return tokens.RevokeToken(ctx, "\x00") }, "id"},
		{"token id bad UTF-8", func() error { _, err := tokens.Token(ctx, "\xff"); return err }, "id"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var ie *sage.InputError
			if err := tt.call(); !errors.As(err, &ie) || ie.Field != tt.field {
				t.Fatalf("got %v, want an *InputError on %q", err, tt.field)
			}
		})
	}
	if s, err := svc.Session(ctx, "s1"); err != nil || s.Title != "hello" {
		t.Fatalf("the refused renames changed the session: %+v, %v", s, err)
	}
}
