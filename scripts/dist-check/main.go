// Command dist-check checks goreleaser's dist/ directory: one sage_ archive
// per OS/arch with the installer and the bridge side by side, the daemon for
// Linux, and checksums of them all. .ci/run runs it after the snapshot:
//
//	go run . ../../dist
package main

import (
	"fmt"
	"os"
)

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: dist-check DIST_DIR")
		os.Exit(2)
	}
	if err := check(os.Args[1], os.Stdout); err != nil {
		fmt.Fprintf(os.Stderr, "dist: %v\n", err)
		os.Exit(1)
	}
}
