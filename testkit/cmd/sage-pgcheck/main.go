// Command sage-pgcheck checks that SAGE_TEST_DATABASE_URL names a usable test
// server: reachable, PostgreSQL >= 14, with pgvector >= 0.7 available. The
// test command runs it first so a wrong URL fails at once with a clear message.
package main

import (
	"fmt"
	"os"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintf(os.Stderr, "sage-pgcheck: %v\n", err)
		os.Exit(1)
	}
}
