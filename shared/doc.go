// Package shared is the root of the module that sage-daemon, sage-bridge and
// sage-installer share. Its packages:
//
//   - api: the REST wire types of /api/v1, used by the daemon and its clients.
//   - atomicfile: a file replaced in one step (temporary file, fsync,
//     rename), for the client config and the installer's writes.
//   - config: the client configuration file and its resolution (flags >
//     environment > file), shared by the bridge, the hooks, sage_manage and
//     the installer.
//   - claudehooks: the Claude Code hook events Sage uses and the
//     settings.json entries the installer writes and the bridge runs.
//   - health: the daemon's health check (GET /healthz answers 200), for
//     the bridge's service and the installer's status.
//   - dotenv: .env files read as Docker Compose reads them (the installer's
//     --env-file, the daemon's SAGE_DAEMON_CONFIG).
//   - program: what every program's main does alike (Main: a context that
//     SIGINT or SIGTERM cancels, and the exit code).
//   - textcut: the one rune-safe truncation (Runes, Bytes; Excerpt, one
//     line of an answer for an error message).
//   - version: the one version of the three binaries (set with -ldflags -X,
//     else the build info).
//
// The test harness lives apart, in the test-only module testkit (pgtest,
// daemontest, claudetest, testenv), so this module depends on nothing.
package shared
