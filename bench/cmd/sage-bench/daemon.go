package main

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/sage-mcp/sage/testkit/pgtest"
)

// daemonPkg is the package of the daemon binary built when no -daemon-bin
// is given.
const daemonPkg = "github.com/sage-mcp/sage/daemon/cmd/sage-daemon"

// benchDB is a database created for one run.
type benchDB struct {
	admin string // server URL the database was created through
	name  string
	url   string
}

// createDatabase creates a fresh database on the server of admin.
func createDatabase(ctx context.Context, admin string) (*benchDB, error) {
	conn, err := pgx.Connect(ctx, admin)
	if err != nil {
		return nil, fmt.Errorf("create database: connect to %s: %w", pgtest.Redact(admin), err)
	}
	defer conn.Close(ctx)
	name := "sage_bench_" + randomHex(6)
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+name+" TEMPLATE template0"); err != nil {
		return nil, fmt.Errorf("create database: %w", err)
	}
	u, err := url.Parse(admin)
	if err != nil {
		return nil, fmt.Errorf("create database: %w", err)
	}
	u.Path = "/" + name
	return &benchDB{admin: admin, name: name, url: u.String()}, nil
}

// drop drops the database, disconnecting whoever is still on it.
func (d *benchDB) drop(ctx context.Context) error {
	conn, err := pgx.Connect(ctx, d.admin)
	if err != nil {
		return fmt.Errorf("drop database %s: %w", d.name, err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "DROP DATABASE IF EXISTS "+d.name+" WITH (FORCE)"); err != nil {
		return fmt.Errorf("drop database %s: %w", d.name, err)
	}
	return nil
}

// analyze runs ANALYZE on the memories table, as autovacuum does on a
// store that grew.
func (d *benchDB) analyze(ctx context.Context) error {
	conn, err := pgx.Connect(ctx, d.url)
	if err != nil {
		return fmt.Errorf("analyze: %w", err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "ANALYZE memories"); err != nil {
		return fmt.Errorf("analyze: %w", err)
	}
	return nil
}

// buildDaemon builds sage-daemon into dir and returns the binary's path.
func buildDaemon(ctx context.Context, dir string) (string, error) {
	bin := filepath.Join(dir, "sage-daemon")
	cmd := exec.CommandContext(ctx, "go", "build", "-o", bin, daemonPkg)
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("build sage-daemon (run sage-bench inside the repository, or give -daemon-bin): %w\n%s", err, out)
	}
	return bin, nil
}

// daemonProc is a sage-daemon process started by the benchmark.
type daemonProc struct {
	URL     string
	Token   string
	cmd     *exec.Cmd
	logPath string
	done    chan error
}

// startDaemon runs bin serve against databaseURL on a free loopback port
// with a generated admin token and the builtin embedder, and waits until
// /readyz answers 200.
func startDaemon(ctx context.Context, bin, dir, databaseURL string, wait time.Duration) (*daemonProc, error) {
	addr, err := freeAddr()
	if err != nil {
		return nil, fmt.Errorf("start daemon: %w", err)
	}
	d := &daemonProc{URL: "http://" + addr, Token: "bench-" + randomHex(16),
		logPath: filepath.Join(dir, "sage-daemon.log"), done: make(chan error, 1)}
	logf, err := os.Create(d.logPath)
	if err != nil {
		return nil, fmt.Errorf("start daemon: %w", err)
	}
	d.cmd = exec.Command(bin, "serve")
	env := []string{}
	for _, kv := range os.Environ() { // the daemon's settings are ours alone
		if !strings.HasPrefix(kv, "SAGE_") {
			env = append(env, kv)
		}
	}
	d.cmd.Env = append(env,
		"SAGE_DATABASE_URL="+databaseURL,
		"SAGE_LISTEN="+addr,
		"SAGE_DATA_DIR="+filepath.Join(dir, "data"),
		"SAGE_TOKEN="+d.Token,
		"SAGE_EMBED_PROVIDER=builtin",
		"SAGE_LOG_LEVEL=warn",
	)
	d.cmd.Stdout, d.cmd.Stderr = logf, logf
	if err := d.cmd.Start(); err != nil {
		logf.Close()
		return nil, fmt.Errorf("start daemon: %w", err)
	}
	go func() { d.done <- d.cmd.Wait(); logf.Close() }()

	deadline := time.Now().Add(wait)
	for {
		if err := ready(ctx, d.URL); err == nil {
			return d, nil
		} else if time.Now().After(deadline) {
			d.stop()
			return nil, fmt.Errorf("start daemon: not ready after %v: %w\n%s", wait, err, d.logTail(30))
		}
		select {
		case err := <-d.done:
			d.done <- err
			return nil, fmt.Errorf("start daemon: exited: %v\n%s", err, d.logTail(30))
		case <-ctx.Done():
			d.stop()
			return nil, ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// ready asks base's /readyz.
func ready(ctx context.Context, base string) error {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/readyz", nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("/readyz: %s", resp.Status)
	}
	return nil
}

// PID is the daemon's process id.
func (d *daemonProc) PID() int { return d.cmd.Process.Pid }

// stop sends SIGTERM, waits up to 20s, then kills.
func (d *daemonProc) stop() error {
	_ = d.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-d.done:
		d.done <- err
		return err
	case <-time.After(20 * time.Second):
		_ = d.cmd.Process.Kill()
		return errors.New("stop daemon: killed after 20s")
	}
}

// logTail returns the last n lines of the daemon's log.
func (d *daemonProc) logTail(n int) string {
	b, err := os.ReadFile(d.logPath)
	if err != nil {
		return ""
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return "daemon log (last lines):\n" + strings.Join(lines, "\n")
}

// memStatus is a process's memory use from /proc/<pid>/status, in KiB.
type memStatus struct {
	VmRSSKiB int64 `json:"vm_rss_kib"`
	VmHWMKiB int64 `json:"vm_hwm_kib"`
}

// readMemStatus reads VmRSS and VmHWM of pid.
func readMemStatus(pid int) (memStatus, error) {
	var m memStatus
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return m, fmt.Errorf("read memory of pid %d: %w", pid, err)
	}
	defer f.Close()
	return parseMemStatus(f.Name(), bufio.NewScanner(f))
}

func parseMemStatus(name string, sc *bufio.Scanner) (memStatus, error) {
	var m memStatus
	found := 0
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if !ok || (k != "VmRSS" && k != "VmHWM") {
			continue
		}
		f := strings.Fields(v)
		if len(f) != 2 || f[1] != "kB" {
			return m, fmt.Errorf("read %s: odd %s line %q", name, k, sc.Text())
		}
		n, err := strconv.ParseInt(f[0], 10, 64)
		if err != nil {
			return m, fmt.Errorf("read %s: %w", name, err)
		}
		if k == "VmRSS" {
			m.VmRSSKiB = n
		} else {
			m.VmHWMKiB = n
		}
		found++
	}
	if err := sc.Err(); err != nil {
		return m, fmt.Errorf("read %s: %w", name, err)
	}
	if found != 2 {
		return m, fmt.Errorf("read %s: no VmRSS/VmHWM", name)
	}
	return m, nil
}

func freeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
