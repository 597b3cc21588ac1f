// Command sage-outage-bench measures what a Sage outage costs a Claude Code
// user, with the real claude CLI against a fake model (see package
// harness): the wall time of `claude -p`, and the time from its start to the
// model request that carries the prompt, without Sage, with Sage installed
// and the daemon down (connections refused) and with the daemon hung
// (connections accepted, never answered), and the time Sage's hooks took in
// each run (from the hook log). Runs of the setups are interleaved so that
// machine load affects them alike.
//
// With -parts it also takes the down setup apart: Sage's hooks alone, the
// bridge alone, and the same four hooks and one stdio MCP server as null
// programs (this binary again, answering nothing), which is what Claude
// Code itself spends on any such extension.
//
//	SAGE_TEST_CLAUDE=… go run ./bench/cmd/sage-outage-bench -n 5 [-parts]
package main

import (
	"flag"
	"fmt"
	"os"
)

func main() {
	// The null programs of -parts: this binary started by Claude Code.
	if len(os.Args) > 1 {
		switch os.Args[1] {
		case "hook":
			nullHook(os.Stdin)
			return
		case "serve":
			nullMCP(os.Stdin, os.Stdout)
			return
		}
	}
	n := flag.Int("n", 5, "runs of each setup")
	parts := flag.Bool("parts", false, "also measure the parts of the down setup and null programs in Sage's place")
	flag.Parse()
	if os.Getenv("SAGE_TEST_CLAUDE") == "" {
		fmt.Fprintln(os.Stderr, "sage-outage-bench: set SAGE_TEST_CLAUDE to the claude CLI (scripts/test.sh installs it)")
		os.Exit(2)
	}
	if err := run(*n, *parts, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "sage-outage-bench:", err)
		os.Exit(1)
	}
}
