package main

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/sage-mcp/sage/testkit/pgtest"
)

// run connects to the test server and checks its versions and rights.
func run() error {
	raw := os.Getenv(pgtest.EnvURL)
	if raw == "" {
		return fmt.Errorf("%s is not set", pgtest.EnvURL)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, raw)
	if err != nil {
		return fmt.Errorf("connect to %s: %w", pgtest.Redact(raw), err)
	}
	defer conn.Close(ctx)
	var num int
	if err := conn.QueryRow(ctx, "SELECT current_setting('server_version_num')::int").Scan(&num); err != nil {
		return fmt.Errorf("query server version: %w", err)
	}
	if num < 140000 {
		return fmt.Errorf("PostgreSQL %d.%d is too old: 14 or later is needed", num/10000, num%10000)
	}
	var vec *string
	err = conn.QueryRow(ctx, "SELECT default_version FROM pg_available_extensions WHERE name = 'vector'").Scan(&vec)
	if err != nil || vec == nil {
		return fmt.Errorf("the server at %s has no pgvector extension: install pgvector >= 0.7 there", pgtest.Redact(raw))
	}
	parts := strings.SplitN(*vec, ".", 3)
	major, _ := strconv.Atoi(parts[0])
	minor := 0
	if len(parts) > 1 {
		minor, _ = strconv.Atoi(parts[1])
	}
	if major == 0 && minor < 7 {
		return fmt.Errorf("pgvector %s is too old: 0.7 or later is needed", *vec)
	}
	var canCreate bool
	if err := conn.QueryRow(ctx, "SELECT rolcreatedb OR rolsuper FROM pg_roles WHERE rolname = current_user").Scan(&canCreate); err != nil {
		return fmt.Errorf("query role: %w", err)
	}
	if !canCreate {
		return fmt.Errorf("the role in %s cannot create databases: the tests need CREATEDB", pgtest.Redact(raw))
	}
	fmt.Fprintf(os.Stderr, "sage-pgcheck: PostgreSQL %d.%d with pgvector %s: ok\n", num/10000, num%10000, *vec)
	return nil
}
