// Command sage-outage-bench measures what a Sage outage costs a Claude Code
// user, with the real claude CLI against a fake model (see package
// harness): the wall time of `claude -p` without Sage, with Sage installed
// and the daemon down (connections refused) and with the daemon hung
// (connections accepted, never answered), and the time Sage's hooks took in
// each run (from the hook log). Runs of the three setups are interleaved so
// that machine load affects them alike.
//
//	SAGE_TEST_CLAUDE=… go run ./bench/cmd/sage-outage-bench -n 5
package main

import (
	"flag"
	"fmt"
	"os"
)

func main() {
	n := flag.Int("n", 5, "runs of each setup")
	flag.Parse()
	if os.Getenv("SAGE_TEST_CLAUDE") == "" {
		fmt.Fprintln(os.Stderr, "sage-outage-bench: set SAGE_TEST_CLAUDE to the claude CLI (scripts/test.sh installs it)")
		os.Exit(2)
	}
	if err := run(*n, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "sage-outage-bench:", err)
		os.Exit(1)
	}
}
