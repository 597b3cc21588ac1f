package backend_test

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"os"
	"strings"
	"testing"
	"time"

	sage "github.com/sage-mcp/sage/daemon"
	"github.com/sage-mcp/sage/daemon/admintoken"
	"github.com/sage-mcp/sage/daemon/backend"
	"github.com/sage-mcp/sage/daemon/config"
	"github.com/sage-mcp/sage/daemon/embed"
	sagehttp "github.com/sage-mcp/sage/daemon/http"
	"github.com/sage-mcp/sage/daemon/postgres/postgrestest"
	"github.com/sage-mcp/sage/testkit/daemontest"
)

// server is a backend.Server that reports each call on a channel.
type server struct {
	backends chan *sagehttp.Backend
	notReady chan string
}

func newServer() *server {
	return &server{backends: make(chan *sagehttp.Backend, 1), notReady: make(chan string, 100)}
}

func (s *server) SetBackend(b *sagehttp.Backend) { s.backends <- b }
func (s *server) SetNotReady(reason string)      { s.notReady <- reason }

// MustStart starts a connection with cfg and a fresh server; it is closed
// when t ends.
func MustStart(t *testing.T, cfg config.Config) (*backend.Conn, *server, *daemontest.Output) {
	t.Helper()
	emb, err := embed.NewBuiltin(384)
	if err != nil {
		t.Fatal(err)
	}
	srv, log := newServer(), &daemontest.Output{}
	c := backend.Start(context.Background(), cfg, slog.New(slog.NewTextHandler(log, nil)), srv, emb)
	t.Cleanup(c.Close)
	return c, srv, log
}

// MustReceive returns the next value of ch, or fails t after a minute.
func MustReceive[T any](t *testing.T, what string, ch <-chan T) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(time.Minute):
		t.Fatalf("timed out waiting for %s", what)
		panic("unreachable")
	}
}

// TestStartConnects: with a reachable database, the server gets a
// backend whose tokens know SAGE_TOKEN as an admin key; Close closes the
// database.
func TestStartConnects(t *testing.T) {
	t.Parallel()
	url := postgrestest.MustDatabase(t)
	secret := "backend-admin-token-0123456789"
	c, srv, log := MustStart(t, config.Config{DatabaseURL: url, Auth: true, Token: secret, DataDir: t.TempDir()})
	b := MustReceive(t, "the backend", srv.backends)
	if b.Service == nil || b.Tokens == nil || b.Pool == nil {
		t.Fatalf("backend %+v: want service, tokens and pool", b)
	}
	tok, err := b.Tokens.Authenticate(context.Background(), secret)
	if err != nil || !tok.HasScope(sage.ScopeAdmin) {
		t.Fatalf("SAGE_TOKEN: %+v, %v", tok, err)
	}
	if c.Err() != nil || len(srv.notReady) != 0 {
		t.Fatalf("err %v, not-ready reasons %d", c.Err(), len(srv.notReady))
	}
	if !strings.Contains(log.String(), "database ready") || strings.Contains(log.String(), secret) {
		t.Fatalf("log:\n%s", log)
	}
	c.Close()
	if err := b.Pool.Ping(context.Background()); err == nil {
		t.Fatal("the pool still answers after Close")
	}
}

// TestStartRetries: while the database is unreachable, the server hears
// why (without the URL's password), and the loop keeps trying; Close
// stops it.
func TestStartRetries(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // nothing listens there now
	c, srv, log := MustStart(t, config.Config{DatabaseURL: "postgres://sage:hunter2-secret@" + addr + "/sage?sslmode=disable&connect_timeout=5", Auth: true, Token: "backend-admin-token-0123456789"})
	reason := MustReceive(t, "a not-ready reason", srv.notReady)
	if reason == "" || strings.Contains(reason, "hunter2") {
		t.Fatalf("not-ready reason %q", reason)
	}
	select {
	case <-c.Failed():
		t.Fatalf("an unreachable database is fatal: %v", c.Err())
	default:
	}
	if !strings.Contains(log.String(), "serving 503 until it is") {
		t.Fatalf("log:\n%s", log)
	}
	c.Close()
	if len(srv.backends) != 0 {
		t.Fatal("a backend without a database")
	}
}

// TestStartBadTokenFileIsFatal: a token file too short to be a key is not
// retried: Failed is closed, Err says why without the file's content, and
// the server gets no backend.
func TestStartBadTokenFileIsFatal(t *testing.T) {
	t.Parallel()
	url := postgrestest.MustDatabase(t)
	dir := t.TempDir()
	if err := os.WriteFile(admintoken.Path(dir), []byte("short\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	c, srv, _ := MustStart(t, config.Config{DatabaseURL: url, Auth: true, DataDir: dir})
	MustReceive(t, "the failure", c.Failed())
	err := c.Err()
	if !errors.Is(err, sage.ErrInvalid) || !strings.Contains(err.Error(), "admin token") ||
		!strings.Contains(err.Error(), "at least 16 characters") || strings.Contains(err.Error(), "short\n") {
		t.Fatalf("err %v", err)
	}
	if len(srv.backends) != 0 || len(srv.notReady) != 0 {
		t.Fatalf("backends %d, not-ready reasons %d: want none", len(srv.backends), len(srv.notReady))
	}
}

// TestStartNoAuth: with SAGE_AUTH=off, no admin key is made, and none is
// needed.
func TestStartNoAuth(t *testing.T) {
	t.Parallel()
	url := postgrestest.MustDatabase(t)
	dir := t.TempDir()
	_, srv, _ := MustStart(t, config.Config{DatabaseURL: url, DataDir: dir})
	b := MustReceive(t, "the backend", srv.backends)
	if _, err := os.Stat(admintoken.Path(dir)); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("auth off, yet a token file: %v", err)
	}
	if b.Service == nil {
		t.Fatal("no service")
	}
}
