package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sage-mcp/sage/e2e/harness"
	"github.com/sage-mcp/sage/testkit/testenv"
)

// setup is one way Claude Code runs.
type setup struct {
	name  string
	env   *harness.Env
	args  []string // extra claude arguments
	wall  []time.Duration
	first []time.Duration // start to the first model request
	hook  []time.Duration // hooks' total time per run
}

// run measures n runs of each setup and prints a table to w.
func run(n int, parts bool, w io.Writer) error {
	var failure error
	// testing.Benchmark gives the harness a testing.B outside `go test`;
	// one round takes far longer than the benchmark time, so it runs once.
	var once sync.Once
	testing.Benchmark(func(b *testing.B) {
		once.Do(func() { failure = measure(b, n, parts, w) })
	})
	return failure
}

func measure(b *testing.B, n int, parts bool, w io.Writer) (err error) {
	defer func() {
		if b.Failed() && err == nil {
			err = errors.New("harness failed (see above)")
		}
	}()
	refused := testenv.RefusedURL(b) + "/mcp"
	hung := testenv.HungURL(b) + "/mcp" // stops when b ends
	debug := []string{"SAGE_HOOKS_DEBUG=1"}
	none := harness.New(b, harness.Options{Sage: harness.None})
	down := harness.New(b, harness.Options{Sage: harness.InstalledNoDaemon, DaemonURL: refused, Token: "sage_bench", Env: debug})
	setups := []*setup{
		{name: "no Sage", env: none},
		{name: "daemon down (refused)", env: down},
		{name: "daemon hung", env: harness.New(b, harness.Options{Sage: harness.InstalledNoDaemon, DaemonURL: hung, Token: "sage_bench", Env: debug})},
	}
	if parts {
		more, err := partSetups(none, down, refused)
		if err != nil {
			return err
		}
		setups = append(setups, more...)
	}
	// One warm-up run each (file system caches, Claude Code's first-run
	// files), not counted.
	for _, s := range setups {
		s.env.Print("warm up", s.args...)
	}
	for i := range n {
		for _, s := range setups {
			before := hookTotal(s.env.Cache)
			r := s.env.Print(fmt.Sprintf("Benchmark prompt number %d about the outbox format", i), s.args...)
			s.wall = append(s.wall, r.Elapsed)
			s.first = append(s.first, r.FirstRequest)
			s.hook = append(s.hook, hookTotal(s.env.Cache)-before)
		}
	}
	base, baseFirst := median(setups[0].wall), median(setups[0].first)
	fmt.Fprintf(w, "claude -p, %d runs each (median, min–max); start: to the first model request; hooks: their summed run time per `claude -p`\n", n)
	fmt.Fprintf(w, "%-26s %12s %20s %14s %12s %14s %12s\n", "setup", "wall", "range", "vs no Sage", "start", "vs no Sage", "hooks")
	ms := func(d time.Duration) time.Duration { return d.Round(time.Millisecond) }
	for _, s := range setups {
		fmt.Fprintf(w, "%-26s %12v %9v–%-10v %+14v %12v %+14v %12v\n", s.name, ms(median(s.wall)),
			ms(slices.Min(s.wall)), ms(slices.Max(s.wall)), ms(median(s.wall)-base),
			ms(median(s.first)), ms(median(s.first)-baseFirst), ms(median(s.hook)))
	}
	return nil
}

// partSetups take the down setup apart: Sage's hooks without the bridge,
// the bridge without the hooks, and null programs in their place.
func partSetups(none, down *harness.Env, refused string) ([]*setup, error) {
	null, err := self()
	if err != nil {
		return nil, err
	}
	bridge := filepath.Join(down.Home, ".local", "bin", "sage-bridge")
	nullHooks := []string{"--settings", hooksSettings(null)}
	nullServer := []string{"--mcp-config", mcpConfig(null, nil)}
	return []*setup{
		{name: "Sage hooks only (down)", env: down, args: []string{"--strict-mcp-config"}},
		{name: "sage-bridge only (down)", env: none, args: []string{"--mcp-config",
			mcpConfig(bridge, map[string]string{"SAGE_URL": refused, "SAGE_TOKEN": "sage_bench"})}},
		{name: "null hooks", env: none, args: nullHooks},
		{name: "null MCP server", env: none, args: nullServer},
		{name: "null hooks + server", env: none, args: append(slices.Clone(nullHooks), nullServer...)},
	}, nil
}

func median(ds []time.Duration) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	if len(s) == 0 {
		return 0
	}
	return s[len(s)/2]
}

// hookTotal sums the elapsed= of every finished hook run in the hook log.
func hookTotal(cache string) time.Duration {
	f, err := os.Open(filepath.Join(cache, "hook.log"))
	if err != nil {
		return 0
	}
	defer f.Close()
	var sum time.Duration
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		l := sc.Text()
		if !strings.Contains(l, `msg="hook done"`) && !strings.Contains(l, `msg="hook failed"`) {
			continue
		}
		for _, f := range strings.Fields(l) {
			if v, ok := strings.CutPrefix(f, "elapsed="); ok {
				if d, err := time.ParseDuration(v); err == nil {
					sum += d
				}
			}
		}
	}
	return sum
}
