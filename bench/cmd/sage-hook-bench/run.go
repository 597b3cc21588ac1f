package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"time"

	"github.com/sage-mcp/sage/bridge/client"
	"github.com/sage-mcp/sage/shared/api"
	"github.com/sage-mcp/sage/shared/config"
)

const usage = `Usage: sage-hook-bench [flags]

Seeds the daemon at --url (default $SAGE_URL, else the default URL) with
--memories turns of project "bench" (only what is missing; their text is
comment prose from the Go standard library, --corpus), then runs
"sage-bridge hook UserPromptSubmit" --runs times and prints latency
percentiles (wall clock, process start included).

Flags:
`

// benchFlags are the command's flags.
type benchFlags struct {
	bridge, url, token, corpusDir string
	memories, batch, runs, warmup int
	trivial                       bool
	target                        time.Duration
}

func parseFlags(args []string, stderr io.Writer) (benchFlags, error) {
	var f benchFlags
	fs := flag.NewFlagSet("sage-hook-bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&f.bridge, "bridge", "", "sage-bridge binary (default: next to this program, else on PATH)")
	fs.StringVar(&f.url, "url", os.Getenv(config.EnvURL), "daemon MCP URL")
	fs.StringVar(&f.token, "token", os.Getenv(config.EnvToken), "bearer token (default $SAGE_TOKEN)")
	fs.IntVar(&f.memories, "memories", 10000, "memories the store should hold before measuring")
	fs.IntVar(&f.batch, "batch", 500, "turns per seeding request")
	fs.IntVar(&f.runs, "runs", 200, "measured hook runs")
	fs.IntVar(&f.warmup, "warmup", 10, "unmeasured runs first")
	fs.BoolVar(&f.trivial, "trivial", false, "send only the trivial prompt \"ok\" (no daemon call): the floor of process start and setup")
	fs.StringVar(&f.corpusDir, "corpus", filepath.Join(runtime.GOROOT(), "src"), "directory of .go files whose comments make the memories' text")
	fs.DurationVar(&f.target, "target", 100*time.Millisecond, "p95 target")
	fs.Usage = func() { fmt.Fprint(stderr, usage); fs.PrintDefaults() }
	if err := fs.Parse(args); err != nil {
		return f, err
	}
	if f.url == "" {
		f.url = config.DefaultURL
	}
	return f, nil
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	f, err := parseFlags(args, stderr)
	if err != nil {
		return 2
	}
	bin, err := findBridge(f.bridge)
	if err != nil {
		fmt.Fprintln(stderr, "sage-hook-bench:", err)
		return 1
	}
	c := client.New(config.BaseURL(f.url), f.token)
	cp, err := loadCorpus(f.corpusDir, 200000)
	if err != nil {
		fmt.Fprintln(stderr, "sage-hook-bench:", err)
		return 1
	}
	if err := seed(ctx, c, cp, f.memories, f.batch, stderr); err != nil {
		fmt.Fprintln(stderr, "sage-hook-bench: seed:", err)
		return 1
	}
	st, err := c.Status(ctx)
	if err != nil {
		fmt.Fprintln(stderr, "sage-hook-bench:", err)
		return 1
	}
	cache, err := os.MkdirTemp("", "sage-hook-bench-")
	if err != nil {
		fmt.Fprintln(stderr, "sage-hook-bench:", err)
		return 1
	}
	defer os.RemoveAll(cache)
	m, ok := measure(ctx, f, bin, cache, c, cp, stderr)
	if !ok {
		return 1
	}
	return m.report(stdout, st, f.target)
}

// measured is what the runs gave.
type measured struct {
	times, daemon   []time.Duration // sorted
	injected, chars int
}

// measure runs the hook f.warmup + f.runs times, each followed by the same
// context request made directly (the daemon's share).
func measure(ctx context.Context, f benchFlags, bin, cache string, c *client.Client, cp *corpus, stderr io.Writer) (measured, bool) {
	var m measured
	cwd := filepath.Join(cache, "bench")
	_ = os.MkdirAll(cwd, 0o700)
	env := append(os.Environ(), "SAGE_URL="+f.url, "SAGE_TOKEN="+f.token, "SAGE_TOKEN_FILE=",
		"SAGE_CACHE_DIR="+cache, "SAGE_CONFIG="+filepath.Join(cache, "none.json"))
	rng := rand.New(rand.NewPCG(7, 7))
	for i := range f.warmup + f.runs {
		if ctx.Err() != nil {
			return m, false
		}
		q := cp.prompt(rng)
		if f.trivial {
			q = "ok"
		}
		payload, _ := json.Marshal(map[string]string{
			"session_id": fmt.Sprintf("bench-run-%d", i), "transcript_path": filepath.Join(cache, "t.jsonl"),
			"cwd": cwd, "hook_event_name": "UserPromptSubmit", "prompt": q,
		})
		cmd := exec.CommandContext(ctx, bin, "hook", "UserPromptSubmit")
		cmd.Env = env
		cmd.Stdin = bytes.NewReader(payload)
		var out, errb bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &errb
		start := time.Now()
		err := cmd.Run()
		el := time.Since(start)
		if err != nil || errb.Len() > 0 {
			fmt.Fprintf(stderr, "run %d: %v %s\n", i, err, strings.TrimSpace(errb.String()))
		}
		if i < f.warmup {
			continue
		}
		m.times = append(m.times, el)
		if f.trivial {
			continue
		}
		// The daemon's share: the same context request, made directly.
		dstart := time.Now()
		if _, err := c.Context(ctx, client.ContextParams{Query: q, MaxResults: 8, MaxChars: 8000, Project: "bench"}); err == nil {
			m.daemon = append(m.daemon, time.Since(dstart))
		}
		if out.Len() > 0 {
			m.injected++
			m.chars += out.Len()
		}
	}
	slices.Sort(m.times)
	slices.Sort(m.daemon)
	return m, true
}

func pctOf(ts []time.Duration, p float64) time.Duration {
	if len(ts) == 0 {
		return 0
	}
	return ts[min(len(ts)-1, int(p*float64(len(ts))))]
}

// report prints the latencies and returns the exit code: 3 when p95 is
// above target.
func (m measured) report(stdout io.Writer, st api.Status, target time.Duration) int {
	times := m.times
	pct := func(p float64) time.Duration { return pctOf(times, p) }
	var sum time.Duration
	for _, t := range times {
		sum += t
	}
	fmt.Fprintf(stdout, "sage-hook-bench: %d runs of `sage-bridge hook UserPromptSubmit` (process start included)\n", len(times))
	fmt.Fprintf(stdout, "store: %d memories, embedder %s (%s); machine: %s/%s, %d CPUs\n", st.Memories, st.Embedder, st.EmbeddingModel, runtime.GOOS, runtime.GOARCH, runtime.NumCPU())
	fmt.Fprintf(stdout, "injected context in %d of %d runs (mean output %d bytes)\n", m.injected, len(times), m.chars/max(m.injected, 1))
	fmt.Fprintf(stdout, "latency: p50 %v  p90 %v  p95 %v  p99 %v  max %v  mean %v\n",
		ms(pct(0.50)), ms(pct(0.90)), ms(pct(0.95)), ms(pct(0.99)), ms(times[len(times)-1]), ms(sum/time.Duration(len(times))))
	if len(m.daemon) > 0 {
		fmt.Fprintf(stdout, "daemon alone (GET /api/v1/context, same queries, warm connection): p50 %v  p95 %v  p99 %v\n",
			ms(pctOf(m.daemon, 0.50)), ms(pctOf(m.daemon, 0.95)), ms(pctOf(m.daemon, 0.99)))
	}
	if pct(0.95) > target {
		fmt.Fprintf(stdout, "p95 %v is above the %v target\n", ms(pct(0.95)), target)
		return 3
	}
	fmt.Fprintf(stdout, "p95 within the %v target\n", target)
	return 0
}

func ms(d time.Duration) time.Duration { return d.Round(100 * time.Microsecond) }

func findBridge(p string) (string, error) {
	if p != "" {
		return p, nil
	}
	if self, err := os.Executable(); err == nil {
		c := filepath.Join(filepath.Dir(self), "sage-bridge")
		if _, err := os.Stat(c); err == nil {
			return c, nil
		}
	}
	p, err := exec.LookPath("sage-bridge")
	if err != nil {
		return "", fmt.Errorf("no sage-bridge binary: give --bridge")
	}
	return p, nil
}

// corpus is natural English text to build memories and prompts from: the
// comment lines of the Go standard library's sources (a large, realistic
// vocabulary of programming prose; a small synthetic vocabulary would make
// every word common and every query scan the whole store).
type corpus struct {
	lines []string
}

// loadCorpus reads comment lines of the .go files under dir, at most max.
func loadCorpus(dir string, max int) (*corpus, error) {
	c := &corpus{}
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || len(c.lines) >= max {
			return filepath.SkipDir
		}
		if d.IsDir() {
			if n := d.Name(); n == "testdata" || n == "vendor" {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(p, ".go") || strings.HasSuffix(p, "_test.go") {
			return nil
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return nil
		}
		for _, l := range strings.Split(string(b), "\n") {
			l = strings.TrimSpace(l)
			if !strings.HasPrefix(l, "// ") {
				continue
			}
			l = strings.TrimSpace(l[3:])
			if len(strings.Fields(l)) >= 6 && !strings.HasPrefix(l, "Copyright") && !strings.Contains(l, "license") {
				c.lines = append(c.lines, l)
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if len(c.lines) < 1000 {
		return nil, fmt.Errorf("corpus %s: only %d comment lines", dir, len(c.lines))
	}
	return c, nil
}

// paragraph is n consecutive lines from a random place.
func (c *corpus) paragraph(r *rand.Rand, n int) string {
	i := r.IntN(len(c.lines) - n)
	return strings.Join(c.lines[i:i+n], " ")
}

// prompt is a question built from one corpus line.
func (c *corpus) prompt(r *rand.Rand) string {
	l := c.lines[r.IntN(len(c.lines))]
	switch r.IntN(3) {
	case 0:
		return "Can you remind me why " + l
	case 1:
		return "How did we handle this: " + l
	}
	return l + " — what did we decide about that?"
}

// seed adds turns of project "bench" until the store holds want memories.
func seed(ctx context.Context, c *client.Client, cp *corpus, want, batch int, stderr io.Writer) error {
	st, err := c.Status(ctx)
	if err != nil {
		return err
	}
	have := int(st.Memories)
	if have >= want {
		return nil
	}
	r := rand.New(rand.NewPCG(uint64(have), 1))
	start := time.Now()
	for have < want {
		n := min(batch, want-have)
		turns := make([]api.Turn, 0, n)
		for i := range n {
			k := have + i
			turns = append(turns, api.Turn{
				IdempotencyKey: fmt.Sprintf("bench:%d", k), SessionID: fmt.Sprintf("bench-%d", k/20), Project: "bench",
				UserPrompt: cp.prompt(r), AssistantResponse: cp.paragraph(r, 3+r.IntN(6)),
			})
		}
		if _, err := c.SaveTurns(ctx, turns); err != nil {
			return err
		}
		have += n
		fmt.Fprintf(stderr, "\rseeded %d/%d", have, want)
	}
	fmt.Fprintf(stderr, "\rseeded %d memories in %v\n", want, time.Since(start).Round(time.Second))
	return nil
}
