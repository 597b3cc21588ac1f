// Package testkit is the root of Sage's test-only module: the harness that
// tests of every module use, kept apart so that no shipped module depends on
// it beyond its tests (and none links pgx through it but the daemon). Its
// packages:
//
//   - pgtest: a database of its own per test on the test PostgreSQL, and
//     private servers a test may stop and restart.
//   - daemontest: builds and runs the real sage-daemon for end-to-end tests
//     (its databases come from cmd/sage-testdb, so it links no driver).
//   - claudetest: the real Claude Code CLI (SAGE_TEST_CLAUDE).
//   - testenv: what the test command provides through the environment, and
//     the daemon stand-ins of outage tests (RefusedURL, HungURL).
//   - golden: compares CLI output with testdata/*.golden files (-update
//     rewrites them).
//   - cmd/sage-pgcheck: checks that the test database is usable.
//   - cmd/sage-testdb: creates and drops pgtest databases for daemontest.
//   - wanterr: checks a table case's error against the message it wants.
//   - synonyms: a fake embedding model (synonym table, deterministic
//     vectors) for the embed package's tests and cmd/embed-standin.
//   - cmd/embed-standin: stands in for text-embeddings-inference in
//     scripts/compose-test.sh.
package testkit
