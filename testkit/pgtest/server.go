package pgtest

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// EnvBinDir names the directory of the PostgreSQL server binaries (initdb,
// pg_ctl, postgres). scripts/test.sh sets it; otherwise they are looked up.
const EnvBinDir = "SAGE_TEST_PG_BINDIR"

// Server is a private PostgreSQL server for one test, for tests that must
// stop and restart the database. Most tests want NewDatabase instead.
type Server struct {
	t      testing.TB
	bindir string
	dir    string
	port   int
}

// StartServer initializes and starts a private PostgreSQL server with the
// vector extension in a database named "sage", stopped and removed when t
// ends. It skips t when no server binaries are found, or fails it under CI.
func StartServer(t testing.TB) *Server {
	t.Helper()
	bindir := findBinDir()
	if bindir == "" {
		msg := "no PostgreSQL server binaries (set " + EnvBinDir + ")"
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	dir, err := os.MkdirTemp("", "sage-pgtest-")
	if err != nil {
		t.Fatal(err)
	}
	s := &Server{t: t, bindir: bindir, dir: dir}
	t.Cleanup(func() {
		_ = s.pgctl("-m", "immediate", "-w", "stop")
		_ = os.RemoveAll(dir)
	})
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if os.Geteuid() == 0 {
		u, err := user.Lookup("postgres")
		if err != nil {
			t.Fatalf("pgtest: running as root needs a postgres user: %v", err)
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		if err := os.Chown(dir, uid, gid); err != nil {
			t.Fatal(err)
		}
	}
	if out, err := s.cmd(filepath.Join(bindir, "initdb"), "-D", s.data(), "-U", "postgres", "-A", "trust", "-E", "UTF8", "--locale=C").CombinedOutput(); err != nil {
		t.Fatalf("pgtest: initdb: %v\n%s", err, out)
	}
	// A port free when looked up may be taken before postgres binds it: on
	// "address already in use", try another.
	for attempt := 1; ; attempt++ {
		s.port = freePort(t)
		err := s.start()
		if err == nil {
			break
		}
		if attempt == 5 || !strings.Contains(err.Error(), "already in use") {
			t.Fatalf("pgtest: start: %v", err)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	conn, err := pgx.Connect(ctx, s.urlFor("postgres"))
	if err != nil {
		t.Fatalf("pgtest: connect: %v", err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "CREATE DATABASE sage"); err != nil {
		t.Fatal(err)
	}
	c2, err := pgx.Connect(ctx, s.URL())
	if err != nil {
		t.Fatal(err)
	}
	defer c2.Close(ctx)
	if _, err := c2.Exec(ctx, "CREATE EXTENSION IF NOT EXISTS vector"); err != nil {
		t.Fatalf("pgtest: create extension vector: %v", err)
	}
	return s
}

// URL is the connection URL of the server's "sage" database.
func (s *Server) URL() string { return s.urlFor("sage") }

// Port is the server's loopback port; it stays the same across restarts.
func (s *Server) Port() int { return s.port }

// Stop stops the server at once (like a crash: in-flight work is cut).
func (s *Server) Stop() {
	s.t.Helper()
	if err := s.pgctl("-m", "immediate", "-w", "stop"); err != nil {
		s.t.Fatalf("pgtest: stop: %v", err)
	}
}

// Start starts the server (again), on the same port.
func (s *Server) Start() {
	s.t.Helper()
	if err := s.start(); err != nil {
		s.t.Fatalf("pgtest: start: %v", err)
	}
}

// start starts the server on s.port; the error holds the server's log.
func (s *Server) start() error {
	opts := fmt.Sprintf("-p %d -c listen_addresses=127.0.0.1 -k %s -c fsync=off -c max_connections=100", s.port, s.dir)
	logFile := filepath.Join(s.dir, "server.log")
	_ = os.Remove(logFile)
	if err := s.pgctl("-l", logFile, "-w", "-t", "60", "-o", opts, "start"); err != nil {
		log, _ := os.ReadFile(logFile)
		return fmt.Errorf("%w\n%s", err, log)
	}
	return nil
}

func (s *Server) data() string { return filepath.Join(s.dir, "data") }

func (s *Server) urlFor(db string) string {
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/%s?sslmode=disable", s.port, db)
}

func (s *Server) pgctl(args ...string) error {
	args = append([]string{"-D", s.data()}, args...)
	out, err := s.cmd(filepath.Join(s.bindir, "pg_ctl"), args...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("%w: %s", err, out)
	}
	return nil
}

func (s *Server) cmd(name string, args ...string) *exec.Cmd {
	if os.Geteuid() == 0 {
		return exec.Command("runuser", append([]string{"-u", "postgres", "--", name}, args...)...)
	}
	return exec.Command(name, args...)
}

func findBinDir() string {
	cands := []string{os.Getenv(EnvBinDir)}
	if m, _ := filepath.Glob("/usr/lib/postgresql/*/bin"); len(m) > 0 {
		sort.Sort(sort.Reverse(sort.StringSlice(m)))
		cands = append(cands, m...)
	}
	if p, err := exec.LookPath("initdb"); err == nil {
		if r, err := filepath.EvalSymlinks(p); err == nil {
			cands = append(cands, filepath.Dir(r))
		}
	}
	for _, d := range cands {
		if d == "" {
			continue
		}
		ok := true
		for _, b := range []string{"initdb", "pg_ctl", "postgres"} {
			if _, err := os.Stat(filepath.Join(d, b)); err != nil {
				ok = false
			}
		}
		if ok {
			return d
		}
	}
	return ""
}

// freePort returns a loopback TCP port that is free right now; the caller
// must cope with losing it before it binds (see StartServer).
func freePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}
