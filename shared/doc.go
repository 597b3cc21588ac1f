// Package shared is the root of the module that sage-daemon, sage-bridge and
// sage-installer share. Its packages:
//
//   - api: the REST wire types of /api/v1, used by the daemon and its clients.
//   - config: the client configuration file and its resolution (flags >
//     environment > file), shared by the bridge, the hooks, sage_manage and
//     the installer.
//   - claudehooks: the Claude Code hook events Sage uses and the
//     settings.json entries the installer writes and the bridge runs.
//   - dotenv: .env files read as Docker Compose reads them (the installer's
//     --env-file, the daemon's SAGE_DAEMON_CONFIG).
//   - textcut: the one rune-safe truncation (Runes, Bytes).
//   - version: the one version of the three binaries (set with -ldflags -X,
//     else the build info).
//
// The test harness, imported only by tests:
//
//   - pgtest: a database of its own per test on the test PostgreSQL, and
//     private servers a test may stop and restart.
//   - daemontest: builds and runs the real sage-daemon for end-to-end tests.
//   - claudetest: the real Claude Code CLI (SAGE_TEST_CLAUDE).
//   - testenv: what the test command provides through the environment.
//   - cmd/sage-pgcheck: checks that the test database is usable.
package shared
