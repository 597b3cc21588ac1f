// Command compose-check runs the checks of scripts/compose-test.sh against
// the project's docker-compose.yml on a Docker engine the script set up:
//
//   - `up -d`: every service becomes healthy;
//   - only 127.0.0.1:17800 is published, PostgreSQL is not;
//   - the token from `exec sage sage-daemon token show` lets the bridge on
//     the host connect (`sage-bridge doctor`), and a bridge started now
//     saves a turn and keeps answering through every step below;
//   - the turn survives `restart`, `down` + `up -d`, and `kill pg` +
//     `start pg` (the daemon reports not-ready, then recovers without a
//     restart of its own);
//   - the containers' logs hold neither the token nor POSTGRES_PASSWORD;
//   - `down -v` removes the data (a new stack has a new token and no turn);
//   - the size of the sage-daemon image is reported;
//   - the embed service (a stand-in for text-embeddings-inference) runs,
//     unpublished, and the daemon uses it: status says openai with the
//     default model, ready, and a paraphrase with no word in common is
//     found by semantic search (not by keyword search); with the service
//     stopped, a save still succeeds (pending), /readyz stays ready and
//     says "embedder: unavailable", search answers by keyword; started
//     again, the pending memory is embedded (backfill).
//
// The compose and docker commands are given as programs (the script's
// wrappers); POSTGRES_PASSWORD comes from the environment.
package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"
)

const (
	daemonURL = "http://127.0.0.1:17800"
	// consoleURL is where compose publishes the web console.
	consoleURL = "http://127.0.0.1:17801"
	// How long the stack may take to become healthy: the daemon's
	// healthcheck first runs 30 s after the start.
	healthyWithin = 3 * time.Minute
	readyWithin   = 2 * time.Minute
	callTimeout   = 2 * time.Minute
)

func main() {
	var c checker
	flag.StringVar(&c.composeCmd, "compose", "", "the docker compose command (a program)")
	flag.StringVar(&c.dockerCmd, "docker", "docker", "the docker client")
	flag.StringVar(&c.bridgeBin, "bridge", "", "the sage-bridge binary to run on the host")
	flag.StringVar(&c.image, "image", "", "the sage-daemon image compose builds (its size is reported)")
	flag.StringVar(&c.project, "project", "sage", "the compose project name")
	flag.StringVar(&c.work, "work", os.TempDir(), "a directory for the bridge's home")
	logDir := flag.String("logs", os.TempDir(), "where the containers' logs are written on a failure")
	flag.Parse()
	c.password = os.Getenv("POSTGRES_PASSWORD")
	if c.composeCmd == "" || c.bridgeBin == "" || c.image == "" || c.password == "" {
		fmt.Fprintln(os.Stderr, "usage: compose-check -compose PROG -bridge BIN -image NAME [-docker PROG] [-project NAME] [-work DIR], with POSTGRES_PASSWORD set")
		os.Exit(2)
	}
	if err := c.run(); err != nil {
		fmt.Fprintf(os.Stderr, "\ncompose-check: FAILED: %v\n", err)
		if c.logs.Len() > 0 {
			path := filepath.Join(*logDir, "containers.log")
			if os.WriteFile(path, []byte(c.logs.String()), 0o600) == nil {
				fmt.Fprintf(os.Stderr, "compose-check: the containers' logs so far: %s\n", path)
			}
		}
		os.Exit(1)
	}
}

type checker struct {
	composeCmd, dockerCmd, bridgeBin, image, project, work string
	password                                               string
	tokens                                                 []string // every admin token seen: secrets
	logs                                                   strings.Builder
}

func say(format string, args ...any) { fmt.Fprintf(os.Stderr, "--- "+format+"\n", args...) }

func (c *checker) ok(format string, args ...any) { fmt.Fprintf(os.Stderr, "ok  "+format+"\n", args...) }

// compose runs docker compose with its output on stderr.
func (c *checker) compose(args ...string) error {
	cmd := exec.Command(c.composeCmd, args...)
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("docker compose %s: %w", strings.Join(args, " "), err)
	}
	return nil
}

// output runs a command and returns its standard output.
func output(name string, args ...string) (string, error) {
	cmd := exec.Command(name, args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("%s %s: %w: %s", filepath.Base(name), strings.Join(args, " "), err, strings.TrimSpace(stderr.String()))
	}
	return string(out), nil
}

func (c *checker) run() error {
	say("docker compose up -d")
	if err := c.upHealthy(); err != nil {
		return err
	}
	if err := c.checkPorts(); err != nil {
		return err
	}
	token, err := c.adminToken()
	if err != nil {
		return err
	}
	if err := c.doctor(token); err != nil {
		return err
	}

	b, err := startBridge(c.bridgeBin, c.work, token)
	if err != nil {
		return err
	}
	defer b.close()
	marker := fmt.Sprintf("composetest%x", time.Now().UnixNano())
	if err := b.save(marker); err != nil {
		return err
	}
	if err := b.mustFind(marker, "right after the save"); err != nil {
		return err
	}
	c.ok("the bridge on the host saved a turn (%s) and finds it", marker)

	if err := c.semantic(b, token, marker); err != nil {
		return err
	}

	say("docker compose restart")
	if err := c.compose("restart"); err != nil {
		return err
	}
	if err := c.back(b, marker, "after docker compose restart"); err != nil {
		return err
	}

	say("docker compose down, then up -d")
	if err := c.collectLogs(); err != nil {
		return err
	}
	if err := c.compose("down"); err != nil {
		return err
	}
	if ids, _ := c.containerIDs(); len(ids) != 0 {
		return fmt.Errorf("docker compose down left containers: %v", ids)
	}
	if err := c.compose("up", "-d"); err != nil {
		return err
	}
	if err := c.back(b, marker, "after docker compose down and up -d"); err != nil {
		return err
	}
	if again, err := c.token(); err != nil {
		return err
	} else if again != token {
		return errors.New("the admin token changed across down and up -d: the sage-data volume was not kept")
	}

	say("docker compose kill pg, then start pg")
	before, err := c.inspect("sage")
	if err != nil {
		return err
	}
	if err := c.compose("kill", "pg"); err != nil {
		return err
	}
	reason, err := waitReadyz(func(code int) bool { return code != http.StatusOK }, readyWithin)
	if err != nil {
		return fmt.Errorf("with PostgreSQL killed, /readyz: %w", err)
	}
	c.ok("with PostgreSQL killed the daemon reports not-ready: %s", reason)
	// The bridge still answers (with the daemon's error) while the
	// database is down: a tool error, or, once the daemon's 5 s token
	// cache has expired (a loaded machine), a JSON-RPC error relaying the
	// daemon's 503.
	if _, err := b.call("tools/call", map[string]any{"name": "search_memory", "arguments": map[string]any{"query": marker}}); err != nil &&
		!strings.Contains(err.Error(), "database unavailable") {
		return fmt.Errorf("the bridge, with PostgreSQL down: %w", err)
	}
	c.ok("the bridge answers while PostgreSQL is down")
	if err := c.compose("start", "pg"); err != nil {
		return err
	}
	if err := c.back(b, marker, "after docker compose kill pg and start pg"); err != nil {
		return err
	}
	after, err := c.inspect("sage")
	if err != nil {
		return err
	}
	if after.ID != before.ID || after.State.StartedAt != before.State.StartedAt || after.RestartCount != before.RestartCount {
		return fmt.Errorf("the daemon was restarted while PostgreSQL was down (started %s, restarts %d; before: %s, %d)",
			after.State.StartedAt, after.RestartCount, before.State.StartedAt, before.RestartCount)
	}
	c.ok("the daemon recovered without a restart (running since %s)", after.State.StartedAt)
	if err := b.alive(); err != nil {
		return err
	}
	c.ok("the bridge started before the first step answered through all of them")

	if err := c.reportImage(); err != nil {
		return err
	}

	say("docker compose down -v")
	if err := c.collectLogs(); err != nil {
		return err
	}
	if err := c.compose("down", "-v"); err != nil {
		return err
	}
	vols, err := output(c.dockerCmd, "volume", "ls", "-q", "--filter", "label=com.docker.compose.project="+c.project)
	if err != nil {
		return err
	}
	if strings.TrimSpace(vols) != "" {
		return fmt.Errorf("docker compose down -v left volumes: %s", strings.Fields(vols))
	}
	say("docker compose up -d on the removed data")
	if err := c.upHealthy(); err != nil {
		return err
	}
	fresh, err := c.adminToken()
	if err != nil {
		return err
	}
	if fresh == token {
		return errors.New("after down -v the daemon has the old admin token: its data volume survived")
	}
	n, err := searchREST(fresh, marker)
	if err != nil {
		return err
	}
	if n != 0 {
		return fmt.Errorf("after down -v a search for the saved turn finds %d results: the database volume survived", n)
	}
	c.ok("down -v removed the data: a new admin token, and the saved turn is gone")
	if err := c.collectLogs(); err != nil {
		return err
	}
	if err := c.checkLogs(); err != nil {
		return err
	}
	return c.compose("down", "-v")
}

// back waits for the stack to be healthy and ready again after a step, and
// checks through the bridge that the turn is still there.
func (c *checker) back(b *bridge, marker, when string) error {
	if err := c.waitHealthy(); err != nil {
		return fmt.Errorf("%s: %w", when, err)
	}
	if _, err := waitReadyz(func(code int) bool { return code == http.StatusOK }, readyWithin); err != nil {
		return fmt.Errorf("%s: /readyz: %w", when, err)
	}
	if err := b.mustFind(marker, when); err != nil {
		return err
	}
	c.ok("the saved turn is there %s (through the same bridge)", when)
	return nil
}

// containerIDs lists the project's containers, running or not.
func (c *checker) containerIDs() ([]string, error) {
	out, err := output(c.dockerCmd, "ps", "-aq", "--filter", "label=com.docker.compose.project="+c.project)
	return strings.Fields(out), err
}

// container is what docker inspect says about a container (the parts used).
type container struct {
	ID           string
	Name         string
	RestartCount int
	State        struct {
		Status    string
		StartedAt string
		Health    *struct{ Status string }
	}
	Config struct {
		Labels map[string]string
	}
	HostConfig struct {
		PortBindings map[string][]struct{ HostIP, HostPort string }
	}
	NetworkSettings struct {
		Ports map[string][]struct{ HostIP, HostPort string }
	}
}

func (c *checker) inspectAll() ([]container, error) {
	ids, err := c.containerIDs()
	if err != nil || len(ids) == 0 {
		return nil, errors.Join(err, errors.New("no containers"))
	}
	out, err := output(c.dockerCmd, append([]string{"inspect"}, ids...)...)
	if err != nil {
		return nil, err
	}
	var cs []container
	if err := json.Unmarshal([]byte(out), &cs); err != nil {
		return nil, fmt.Errorf("docker inspect: %w", err)
	}
	return cs, nil
}

func (c *checker) inspect(service string) (container, error) {
	cs, err := c.inspectAll()
	if err != nil {
		return container{}, err
	}
	for _, ct := range cs {
		if ct.Config.Labels["com.docker.compose.service"] == service {
			return ct, nil
		}
	}
	return container{}, fmt.Errorf("no container of service %s", service)
}

// waitHealthy waits until the containers of pg and sage run and are
// healthy, and embed runs (it has no healthcheck: the daemon reports it).
// upHealthy runs docker compose up -d and waits until the services are
// healthy.
func (c *checker) upHealthy() error {
	if err := c.compose("up", "-d"); err != nil {
		return err
	}
	return c.waitHealthy()
}

// adminToken is token, remembered in c.tokens (the secrets the logs must
// not hold).
func (c *checker) adminToken() (string, error) {
	token, err := c.token()
	if err != nil {
		return "", err
	}
	c.tokens = append(c.tokens, token)
	return token, nil
}

func (c *checker) waitHealthy() error {
	deadline := time.Now().Add(healthyWithin)
	for {
		cs, err := c.inspectAll()
		status := map[string]string{}
		for _, ct := range cs {
			s := ct.State.Status
			if ct.State.Health != nil {
				s = ct.State.Health.Status
			}
			status[ct.Config.Labels["com.docker.compose.service"]] = s
		}
		if err == nil && len(status) == 3 && status["pg"] == "healthy" && status["sage"] == "healthy" && status["embed"] == "running" {
			c.ok("all services healthy: %v", status)
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("the services are not healthy after %s: %v (%v)", healthyWithin, status, err)
		}
		time.Sleep(2 * time.Second)
	}
}

// checkPorts: the daemon is published on 127.0.0.1:17800 and its console on
// 127.0.0.1:17801, nowhere else; PostgreSQL (and any other service) is not
// published at all.
func (c *checker) checkPorts() error {
	cs, err := c.inspectAll()
	if err != nil {
		return err
	}
	for _, ct := range cs {
		svc := ct.Config.Labels["com.docker.compose.service"]
		var published []string
		for port, binds := range ct.NetworkSettings.Ports {
			for _, b := range binds {
				published = append(published, b.HostIP+":"+b.HostPort+"->"+port)
			}
		}
		switch svc {
		case "sage":
			sort.Strings(published)
			if want := []string{"127.0.0.1:17800->17800/tcp", "127.0.0.1:17801->17801/tcp"}; !slices.Equal(published, want) {
				return fmt.Errorf("sage publishes %v, want only %v", published, want)
			}
		default:
			if len(published) != 0 {
				return fmt.Errorf("%s publishes %v, want nothing (it stays on the compose network)", svc, published)
			}
		}
	}
	resp, err := http.Get(daemonURL + "/healthz")
	if err != nil {
		return fmt.Errorf("the daemon on 127.0.0.1:17800: %w", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET 127.0.0.1:17800/healthz: %s", resp.Status)
	}
	// The console answers on its own port (its sign-in page, no key needed).
	resp, err = http.Get(consoleURL + "/console/")
	if err != nil {
		return fmt.Errorf("the console on 127.0.0.1:17801: %w", err)
	}
	resp.Body.Close()
	if resp.StatusCode >= 500 || resp.StatusCode == http.StatusNotFound {
		return fmt.Errorf("GET 127.0.0.1:17801/console/: %s", resp.Status)
	}
	c.ok("only 127.0.0.1:17800 (the daemon answers there) and 127.0.0.1:17801 (the console answers there) are published, PostgreSQL is not")
	return nil
}

// token is the admin token, as the README tells users to read it.
func (c *checker) token() (string, error) {
	out, err := output(c.composeCmd, "exec", "-T", "sage", "sage-daemon", "token", "show")
	if err != nil {
		return "", err
	}
	token := strings.TrimSpace(out)
	if len(token) < 16 || strings.ContainsAny(token, " \n") {
		return "", fmt.Errorf("docker compose exec sage sage-daemon token show printed %d bytes, want one token", len(token))
	}
	return token, nil
}

// bridgeEnv is a clean environment for sage-bridge: its own home, no config
// file, the daemon and the token.
func bridgeEnv(work, token string) ([]string, error) {
	home, err := os.MkdirTemp(work, "bridge-home-")
	if err != nil {
		return nil, err
	}
	return []string{
		"HOME=" + home,
		"PATH=" + os.Getenv("PATH"),
		"XDG_CONFIG_HOME=" + filepath.Join(home, ".config"),
		"XDG_CACHE_HOME=" + filepath.Join(home, ".cache"),
		"SAGE_CONFIG=" + filepath.Join(home, "no-config.json"),
		"SAGE_URL=" + daemonURL + "/mcp",
		"SAGE_TOKEN=" + token,
	}, nil
}

func (c *checker) doctor(token string) error {
	env, err := bridgeEnv(c.work, token)
	if err != nil {
		return err
	}
	cmd := exec.Command(c.bridgeBin, "doctor")
	cmd.Env = env
	out, err := cmd.CombinedOutput()
	if err != nil || !bytes.Contains(out, []byte("All checks passed")) {
		return fmt.Errorf("sage-bridge doctor with the token of `docker compose exec sage sage-daemon token show`: %v\n%s", err, out)
	}
	c.ok("sage-bridge doctor passes with the token from docker compose exec sage sage-daemon token show")
	return nil
}

// collectLogs appends the containers' logs (before `down` removes them).
func (c *checker) collectLogs() error {
	cmd := exec.Command(c.composeCmd, "logs", "--no-color", "--timestamps")
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("docker compose logs: %w\n%s", err, out)
	}
	c.logs.Write(out)
	return nil
}

// checkLogs: no secret in any container's log.
func (c *checker) checkLogs() error {
	logs := c.logs.String()
	if !strings.Contains(logs, "sage-") {
		return fmt.Errorf("the containers' logs look empty (%d bytes): nothing to check", len(logs))
	}
	secrets := map[string]string{"POSTGRES_PASSWORD": c.password}
	for i, t := range c.tokens {
		secrets[fmt.Sprintf("admin token %d", i+1)] = t
	}
	for name, s := range secrets {
		if strings.Contains(logs, s) {
			return fmt.Errorf("the containers' logs hold the %s", name)
		}
	}
	c.ok("the containers' logs (%d lines) hold no secret (POSTGRES_PASSWORD, %d admin tokens)", strings.Count(logs, "\n"), len(c.tokens))
	return nil
}

func (c *checker) reportImage() error {
	out, err := output(c.dockerCmd, "image", "inspect", "--format", "{{.Size}}", c.image)
	if err != nil {
		return err
	}
	var size int64
	if _, err := fmt.Sscan(strings.TrimSpace(out), &size); err != nil {
		return fmt.Errorf("image size %q: %w", out, err)
	}
	fmt.Printf("sage-daemon image %s: %.1f MB (%d bytes, on the stand-in runtime base)\n", c.image, float64(size)/1e6, size)
	return nil
}

// waitReadyz polls GET /readyz until done(status code) holds; it returns the
// last body.
func waitReadyz(done func(int) bool, within time.Duration) (string, error) {
	deadline := time.Now().Add(within)
	client := &http.Client{Timeout: 5 * time.Second}
	for {
		code, body := 0, ""
		resp, err := client.Get(daemonURL + "/readyz")
		if err == nil {
			b, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
			resp.Body.Close()
			code, body = resp.StatusCode, strings.TrimSpace(string(b))
			if done(code) {
				return body, nil
			}
		}
		if time.Now().After(deadline) {
			return "", fmt.Errorf("not the expected status within %s (last: %d %s %v)", within, code, body, err)
		}
		time.Sleep(250 * time.Millisecond)
	}
}

// searchREST counts the results of a keyword search over the REST API.
func searchREST(token, q string) (int, error) {
	req, err := http.NewRequest(http.MethodGet, daemonURL+"/api/v1/search?mode=keyword&q="+url.QueryEscape(q), nil)
	if err != nil {
		return 0, err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := (&http.Client{Timeout: 30 * time.Second}).Do(req)
	if err != nil {
		return 0, fmt.Errorf("GET /api/v1/search: %w", err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode != http.StatusOK {
		return 0, fmt.Errorf("GET /api/v1/search: %s: %s", resp.Status, body)
	}
	var r struct {
		Results []json.RawMessage `json:"results"`
	}
	if err := json.Unmarshal(body, &r); err != nil {
		return 0, fmt.Errorf("GET /api/v1/search: %w", err)
	}
	return len(r.Results), nil
}

// bridge is sage-bridge running on the host, spoken to over its stdio.
type bridge struct {
	cmd    *exec.Cmd
	in     io.WriteCloser
	lines  chan []byte
	done   chan struct{} // closed once the process has exited
	err    error         // its exit, once done is closed
	stderr *lockedBuffer
	mu     sync.Mutex
	nextID int
}

func startBridge(bin, work, token string) (*bridge, error) {
	env, err := bridgeEnv(work, token)
	if err != nil {
		return nil, err
	}
	b := &bridge{cmd: exec.Command(bin), lines: make(chan []byte, 16), done: make(chan struct{}), stderr: &lockedBuffer{}}
	b.cmd.Env = env
	b.cmd.Stderr = b.stderr
	b.in, err = b.cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	out, err := b.cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := b.cmd.Start(); err != nil {
		return nil, fmt.Errorf("start sage-bridge: %w", err)
	}
	go func() {
		sc := bufio.NewScanner(out)
		sc.Buffer(make([]byte, 64<<10), 16<<20)
		for sc.Scan() {
			b.lines <- append([]byte(nil), sc.Bytes()...)
		}
		close(b.lines)
		b.err = b.cmd.Wait()
		close(b.done)
	}()
	if _, err := b.call("initialize", map[string]any{
		"protocolVersion": "2025-06-18",
		"capabilities":    map[string]any{},
		"clientInfo":      map[string]any{"name": "compose-check", "version": "1"},
	}); err != nil {
		b.close()
		return nil, fmt.Errorf("sage-bridge initialize: %w", err)
	}
	if err := b.send(map[string]any{"jsonrpc": "2.0", "method": "notifications/initialized"}); err != nil {
		b.close()
		return nil, err
	}
	return b, nil
}

func (b *bridge) send(msg any) error {
	line, err := json.Marshal(msg)
	if err != nil {
		return err
	}
	if _, err := b.in.Write(append(line, '\n')); err != nil {
		return fmt.Errorf("write to sage-bridge: %w", err)
	}
	return nil
}

// call sends a request and waits for its answer: the result, or the
// JSON-RPC error as an error.
func (b *bridge) call(method string, params any) (json.RawMessage, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.nextID++
	id := b.nextID
	if err := b.send(map[string]any{"jsonrpc": "2.0", "id": id, "method": method, "params": params}); err != nil {
		return nil, err
	}
	timeout := time.NewTimer(callTimeout)
	defer timeout.Stop()
	for {
		select {
		case line, ok := <-b.lines:
			if !ok {
				return nil, fmt.Errorf("sage-bridge exited during %s; its stderr:\n%s", method, b.stderr.String())
			}
			var msg struct {
				ID     json.RawMessage `json:"id"`
				Result json.RawMessage `json:"result"`
				Error  *struct {
					Code    int    `json:"code"`
					Message string `json:"message"`
				} `json:"error"`
			}
			if err := json.Unmarshal(line, &msg); err != nil {
				return nil, fmt.Errorf("sage-bridge wrote a line that is not JSON-RPC: %q", line)
			}
			if string(msg.ID) != fmt.Sprint(id) {
				continue // a notification, or a server request
			}
			if msg.Error != nil {
				return nil, fmt.Errorf("%s: JSON-RPC error %d: %s", method, msg.Error.Code, msg.Error.Message)
			}
			return msg.Result, nil
		case <-timeout.C:
			return nil, fmt.Errorf("sage-bridge did not answer %s within %s; its stderr:\n%s", method, callTimeout, b.stderr.String())
		}
	}
}

// tool calls an MCP tool and fails on an error result.
func (b *bridge) tool(name string, args map[string]any) (string, error) {
	res, err := b.call("tools/call", map[string]any{"name": name, "arguments": args})
	if err != nil {
		return "", err
	}
	var r struct {
		IsError bool `json:"isError"`
	}
	if err := json.Unmarshal(res, &r); err != nil {
		return "", fmt.Errorf("%s: %w", name, err)
	}
	if r.IsError {
		return "", fmt.Errorf("%s: error result: %s", name, res)
	}
	return string(res), nil
}

func (b *bridge) save(marker string) error {
	_, err := b.tool("remember", map[string]any{
		"kind":            "turn",
		"content":         "Does the compose stack keep what it saves? " + marker,
		"response":        "It should: the turn " + marker + " is saved through the bridge on the host.",
		"session_id":      "compose-test",
		"project":         "compose-test",
		"idempotency_key": "compose-test:" + marker,
	})
	return err
}

func (b *bridge) mustFind(marker, when string) error {
	out, err := b.tool("search_memory", map[string]any{"query": marker, "project": "compose-test"})
	if err != nil {
		return fmt.Errorf("search_memory %s: %w", when, err)
	}
	if !strings.Contains(out, marker) {
		return fmt.Errorf("search_memory %s does not find the saved turn %s: %s", when, marker, out)
	}
	return nil
}

// alive checks the bridge process is still the one started first.
func (b *bridge) alive() error {
	select {
	case <-b.done:
		return fmt.Errorf("sage-bridge exited: %v; its stderr:\n%s", b.err, b.stderr.String())
	default:
	}
	_, err := b.call("ping", map[string]any{})
	return err
}

func (b *bridge) close() {
	b.in.Close()
	go func() {
		for range b.lines { // whatever it still writes
		}
	}()
	select {
	case <-b.done:
	case <-time.After(10 * time.Second):
		_ = b.cmd.Process.Kill()
		<-b.done
	}
}

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// Model the compose file serves by default, as the daemon names its vectors.
const defaultEmbeddingModel = "intfloat/multilingual-e5-small@384"

// apiStatus is the part of GET /api/v1/status checked here.
type apiStatus struct {
	Embedder          string `json:"embedder"`
	EmbeddingModel    string `json:"embedding_model"`
	PendingEmbeddings int64  `json:"pending_embeddings"`
	EmbedderState     string `json:"embedder_state"`
	EmbedderDetail    string `json:"embedder_detail"`
}

// restGet GETs an /api/v1 path with the token into out.
func restGet(token, path string, out any) error {
	req, err := http.NewRequest(http.MethodGet, daemonURL+path, nil)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := (&http.Client{Timeout: 30 * time.Second}).Do(req)
	if err != nil {
		return fmt.Errorf("GET %s: %w", path, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s: %s", path, resp.Status, body)
	}
	if err := json.Unmarshal(body, out); err != nil {
		return fmt.Errorf("GET %s: %w", path, err)
	}
	return nil
}

// waitStatus polls the daemon's status until done holds.
func waitStatus(token string, within time.Duration, done func(apiStatus) bool) (apiStatus, error) {
	deadline := time.Now().Add(within)
	for {
		var st apiStatus
		err := restGet(token, "/api/v1/status", &st)
		if err == nil && done(st) {
			return st, nil
		}
		if time.Now().After(deadline) {
			return st, fmt.Errorf("status not as expected within %s: %+v (%v)", within, st, err)
		}
		time.Sleep(500 * time.Millisecond)
	}
}

// searchTexts returns the texts of a search's results over REST.
func searchTexts(token, q, mode string) ([]string, error) {
	var r struct {
		Results []struct {
			Text string `json:"text"`
		} `json:"results"`
	}
	path := "/api/v1/search?project=compose-semantic&mode=" + mode + "&q=" + url.QueryEscape(q)
	if err := restGet(token, path, &r); err != nil {
		return nil, err
	}
	var out []string
	for _, x := range r.Results {
		out = append(out, x.Text)
	}
	return out, nil
}

// semantic checks that the daemon embeds with the compose file's embed
// service, that a paraphrase is found only through it, and that an outage
// of the service costs nothing but semantic recall.
func (c *checker) semantic(b *bridge, token, marker string) error {
	say("semantic recall through the embed service")
	st, err := waitStatus(token, readyWithin, func(st apiStatus) bool { return st.EmbedderState == "ready" })
	if err != nil {
		return fmt.Errorf("the embedder never became ready: %w", err)
	}
	if st.Embedder != "openai" || st.EmbeddingModel != defaultEmbeddingModel {
		return fmt.Errorf("the daemon embeds with %s %s, want openai %s (the embed service)", st.Embedder, st.EmbeddingModel, defaultEmbeddingModel)
	}
	c.ok("status: embedder openai, model %s, %s", st.EmbeddingModel, st.EmbedderState)
	note := func(text, key string) error {
		_, err := b.tool("remember", map[string]any{"kind": "decision", "content": text, "project": "compose-semantic", "idempotency_key": key})
		return err
	}
	memory := "We traced the auth regression to the token refresh change " + marker
	if err := note(memory, "compose-semantic:1:"+marker); err != nil {
		return err
	}
	if err := note("The database got sluggish after Friday's rollout.", "compose-semantic:2:"+marker); err != nil {
		return err
	}
	question := "what did we decide about the login bug?"
	if got, err := searchTexts(token, question, "keyword"); err != nil {
		return err
	} else if len(got) > 0 && strings.Contains(strings.Join(got, "\n"), marker) {
		return fmt.Errorf("keyword search for %q finds the memory: the test proves nothing", question)
	}
	got, err := searchTexts(token, question, "semantic")
	if err != nil {
		return err
	}
	if len(got) == 0 || !strings.Contains(got[0], marker) {
		return fmt.Errorf("semantic search for %q = %q, want the memory %q first", question, got, memory)
	}
	c.ok("a paraphrase with no word in common is found by semantic search, not by keyword search")

	say("docker compose stop embed")
	if err := c.compose("stop", "embed"); err != nil {
		return err
	}
	down := "The login page shows a blank screen on Safari " + marker + "x"
	if err := note(down, "compose-semantic:3:"+marker); err != nil {
		return fmt.Errorf("a save with the embed service stopped: %w", err)
	}
	st, err = waitStatus(token, readyWithin, func(st apiStatus) bool { return st.EmbedderState == "unavailable" && st.PendingEmbeddings >= 1 })
	if err != nil {
		return err
	}
	body, err := waitReadyz(func(code int) bool { return code == http.StatusOK }, readyWithin)
	if err != nil || !strings.Contains(body, `"embedder":"unavailable"`) {
		return fmt.Errorf("/readyz with the embed service stopped = %s, %v; want 200 saying the embedder is unavailable", body, err)
	}
	if got, err := searchTexts(token, "blank screen Safari", "hybrid"); err != nil {
		return err
	} else if len(got) == 0 || !strings.Contains(got[0], marker+"x") {
		return fmt.Errorf("hybrid search with the embed service stopped = %q, want the new memory by keyword", got)
	}
	c.ok("with the embed service stopped: the save succeeded (%d pending), /readyz is 200 (%s), search answers by keyword", st.PendingEmbeddings, body)

	say("docker compose start embed")
	if err := c.compose("start", "embed"); err != nil {
		return err
	}
	// The backfill runs every minute.
	st, err = waitStatus(token, 3*time.Minute, func(st apiStatus) bool { return st.EmbedderState == "ready" && st.PendingEmbeddings == 0 })
	if err != nil {
		return fmt.Errorf("after start embed: %w", err)
	}
	c.ok("embed started again: the embedder is ready and the pending memory was embedded")
	return nil
}
