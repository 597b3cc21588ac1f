// Command sage-testdb creates and drops pgtest databases for test harnesses
// that must not link a PostgreSQL driver (testkit/daemontest, used by the
// bridge's and the installer's tests, whose modules do not depend on pgx):
//
//	sage-testdb create        prints the URL of a new database with pgvector
//	sage-testdb drop URL      drops a database made by create
//
// The server is SAGE_TEST_DATABASE_URL's, as for pgtest.
package main

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/sage-mcp/sage/testkit/pgtest"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "sage-testdb:", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	admin := os.Getenv(pgtest.EnvURL)
	if admin == "" {
		return fmt.Errorf("%s is not set", pgtest.EnvURL)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	switch {
	case len(args) == 1 && args[0] == "create":
		u, err := pgtest.Create(ctx, admin)
		if err != nil {
			return err
		}
		fmt.Println(u)
		return nil
	case len(args) == 2 && args[0] == "drop":
		return pgtest.Drop(ctx, admin, args[1])
	default:
		return fmt.Errorf("usage: sage-testdb create | sage-testdb drop URL")
	}
}
