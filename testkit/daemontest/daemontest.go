// Package daemontest runs the real sage-daemon for end-to-end tests of the
// bridge, the hooks and the installer. It builds daemon/cmd/sage-daemon from
// this checkout (once per test process, with the Go build cache), starts it on
// a loopback port the kernel picks, against a fresh pgtest database (made
// through testkit/cmd/sage-testdb, so this package links no PostgreSQL
// driver) and a known admin token, and waits until it is ready. MustBuildCommand builds the checkout's other
// commands the same way.
package daemontest

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sage-mcp/sage/testkit/testenv"
)

// Options change how Start runs the daemon.
type Options struct {
	// DatabaseURL is the database to use; empty means a new pgtest database.
	DatabaseURL string
	// Env is extra environment (KEY=VALUE) for the daemon.
	Env []string
}

// Daemon is a running sage-daemon.
type Daemon struct {
	// URL is the base URL, like http://127.0.0.1:PORT.
	URL string
	// MCPURL is URL + "/mcp".
	MCPURL string
	// Token is an admin bearer token for the default namespace.
	Token string
	// DatabaseURL is the database the daemon uses.
	DatabaseURL string
	// DataDir is the daemon's SAGE_DATA_DIR.
	DataDir string

	t    testing.TB
	bin  string
	env  []string
	mu   sync.Mutex
	cmd  *exec.Cmd
	done chan struct{}
	log  *Output
}

// Start builds (once) and starts a daemon for t, stopped when t ends.
func Start(t testing.TB, opts ...Options) *Daemon {
	t.Helper()
	var o Options
	if len(opts) > 0 {
		o = opts[0]
	}
	if o.DatabaseURL == "" {
		o.DatabaseURL = NewDatabase(t)
	}
	bin := MustBuild(t)
	d := &Daemon{
		Token:       "sage_test_" + randomHex(16),
		DatabaseURL: o.DatabaseURL,
		DataDir:     t.TempDir(),
		t:           t,
		bin:         bin,
		log:         &Output{},
	}
	// The first start listens on a port the kernel picks (no free-port race
	// with other processes); restarts reuse it.
	d.env = append(os.Environ(),
		"SAGE_DATABASE_URL="+d.DatabaseURL,
		"SAGE_LISTEN=127.0.0.1:0",
		// No console unless a test asks for one (Options.Env): test daemons
		// would contend for its one default port.
		"SAGE_CONSOLE_LISTEN=off",
		"SAGE_DATA_DIR="+d.DataDir,
		"SAGE_TOKEN="+d.Token,
		"SAGE_LOG_LEVEL=info",
	)
	d.env = append(d.env, o.Env...)
	t.Cleanup(func() {
		d.Stop()
		if t.Failed() {
			t.Logf("sage-daemon log:\n%s", d.log.String())
		}
	})
	d.Start()
	return d
}

// Start starts the daemon (again, on the same port) and waits until /readyz
// answers 200.
func (d *Daemon) Start() {
	d.t.Helper()
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.cmd != nil {
		d.t.Fatal("daemontest: already running")
	}
	cmd := exec.Command(d.bin, "serve")
	cmd.Env = d.env
	cmd.Stdout = d.log
	cmd.Stderr = d.log
	if err := cmd.Start(); err != nil {
		d.t.Fatalf("daemontest: start: %v", err)
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	d.cmd, d.done = cmd, done
	deadline := time.Now().Add(60 * time.Second)
	for {
		select {
		case <-done:
			d.cmd = nil
			d.t.Fatalf("daemontest: sage-daemon exited at start:\n%s", d.log.String())
		default:
		}
		if d.URL == "" && !d.learnAddr() {
			if time.Now().After(deadline) {
				d.t.Fatalf("daemontest: sage-daemon did not log its address after 60s:\n%s", d.log.String())
			}
			time.Sleep(20 * time.Millisecond)
			continue
		}
		resp, err := http.Get(d.URL + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		if time.Now().After(deadline) {
			d.t.Fatalf("daemontest: sage-daemon not ready after 60s:\n%s", d.log.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// listenRE finds the address in the daemon's "sage-daemon listening" log
// line (text or JSON format).
var listenRE = regexp.MustCompile(`sage-daemon listening.*?\baddr"?[=:]"?(127\.0\.0\.1:[0-9]+)`)

// learnAddr reads the port of the first start from the daemon's log and
// pins URL, MCPURL and SAGE_LISTEN to it; it reports whether it did.
func (d *Daemon) learnAddr() bool {
	m := listenRE.FindStringSubmatch(d.log.String())
	if m == nil {
		return false
	}
	d.URL = "http://" + m[1]
	d.MCPURL = d.URL + "/mcp"
	for i, kv := range d.env {
		if kv == "SAGE_LISTEN=127.0.0.1:0" {
			d.env[i] = "SAGE_LISTEN=" + m[1]
		}
	}
	return true
}

// NewDatabase creates a fresh pgtest database for t through the
// testkit/cmd/sage-testdb program (so this package does not link pgx, and
// the bridge's and installer's modules need no PostgreSQL driver) and drops
// it when t ends. Without SAGE_TEST_DATABASE_URL it skips t, or fails it
// under CI=true.
func NewDatabase(t testing.TB) string {
	t.Helper()
	testenv.Require(t, "SAGE_TEST_DATABASE_URL", "provides PostgreSQL with pgvector")
	bin := MustBuildCommand(t, "testkit/cmd/sage-testdb")
	out, err := exec.Command(bin, "create").Output()
	if err != nil {
		t.Fatalf("daemontest: sage-testdb create: %v\n%s", err, stderrOf(err))
	}
	dbURL := strings.TrimSpace(string(out))
	t.Cleanup(func() {
		if out, err := exec.Command(bin, "drop", dbURL).CombinedOutput(); err != nil {
			t.Errorf("daemontest: sage-testdb drop: %v\n%s", err, out)
		}
	})
	return dbURL
}

func stderrOf(err error) []byte {
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return ee.Stderr
	}
	return nil
}

// Stop stops the daemon gracefully (SIGTERM, then SIGKILL after 10 s).
func (d *Daemon) Stop() {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.cmd == nil {
		return
	}
	_ = d.cmd.Process.Signal(os.Interrupt)
	select {
	case <-d.done:
	case <-time.After(10 * time.Second):
		_ = d.cmd.Process.Kill()
		<-d.done
	}
	d.cmd = nil
}

// Log returns what the daemon has logged so far.
func (d *Daemon) Log() string { return d.log.String() }

// MustBuild builds daemon/cmd/sage-daemon once per process and returns the
// binary's path.
func MustBuild(t testing.TB) string {
	t.Helper()
	return MustBuildCommand(t, "daemon/cmd/sage-daemon")
}

// build is one command built for this test process.
type build struct {
	once sync.Once
	bin  string
	err  error
}

var (
	buildsMu sync.Mutex
	builds   = map[string]*build{}
)

// MustBuildCommand builds the command in dir (relative to the checkout's
// top, like "bridge/cmd/sage-bridge") with extra go build flags, once per
// process and set of flags, and returns the binary's path. Binaries go to
// the temporary directory's sage-daemontest folder, where later test
// processes remove them after an hour.
func MustBuildCommand(t testing.TB, dir string, flags ...string) string {
	t.Helper()
	key := strings.Join(append([]string{dir}, flags...), "\x00")
	buildsMu.Lock()
	b := builds[key]
	if b == nil {
		b = &build{}
		builds[key] = b
	}
	buildsMu.Unlock()
	b.once.Do(func() { b.bin, b.err = buildCommand(dir, flags) })
	if b.err != nil {
		t.Fatalf("daemontest: %v", b.err)
	}
	return b.bin
}

func buildCommand(dir string, flags []string) (string, error) {
	root, err := RepoRoot()
	if err != nil {
		return "", err
	}
	out := filepath.Join(os.TempDir(), "sage-daemontest")
	if err := os.MkdirAll(out, 0o755); err != nil {
		return "", err
	}
	name := filepath.Base(dir)
	// Binaries of earlier test processes are litter after an hour.
	if old, _ := filepath.Glob(filepath.Join(out, "*")); len(old) > 0 {
		for _, f := range old {
			if fi, err := os.Stat(f); err == nil && time.Since(fi.ModTime()) > time.Hour {
				_ = os.Remove(f)
			}
		}
	}
	bin := filepath.Join(out, fmt.Sprintf("%s-%d-%s", name, os.Getpid(), randomHex(4)))
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	args := append(append([]string{"build"}, flags...), "-o", bin, "./"+dir)
	cmd := exec.CommandContext(ctx, "go", args...)
	cmd.Dir = root
	if b, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build %s: %v\n%s", dir, err, b)
	}
	return bin, nil
}

// RepoRoot finds the checkout's top directory (the one holding go.work),
// walking up from the working directory.
func RepoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.work")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("no go.work above the working directory")
		}
		dir = parent
	}
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// Output collects what a process or a logger writes, safe to read while it
// writes. The zero value is ready to use.
type Output struct {
	mu sync.Mutex
	b  bytes.Buffer
}

// Write appends p.
func (s *Output) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

// String returns everything written so far.
func (s *Output) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
