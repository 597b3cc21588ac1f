#!/usr/bin/env bash
# The Sage test command (`make test`). It runs `go test -race ./...` in every
# module of go.work against a real PostgreSQL with pgvector:
#   - SAGE_TEST_DATABASE_URL when set (any PostgreSQL >= 14 with pgvector >= 0.7);
#   - otherwise a throwaway cluster it provisions here, installing pgvector
#     first when the server lacks it, and always removes on exit.
# It also makes the Claude Code CLI available for the end-to-end registration
# tests (npm @anthropic-ai/claude-code into the cache), unless SAGE_TEST_CLAUDE
# points at one, and Chromium for the console's browser tests (Debian's
# chromium package, apt-get), unless SAGE_TEST_CHROMIUM points at one.
#
# Env: GOTESTFLAGS (default "-race -count=1 -timeout 30m"), SAGE_TEST_PACKAGES (default ./...).
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
cache=${XDG_CACHE_HOME:-$HOME/.cache}/sage
claude_version=2.1.332

say() { printf '==> %s\n' "$*" >&2; }
die() {
  printf '\ntest: error: %s\n' "$*" >&2
  cat >&2 <<'EOF'
test: to provide a database, either
  - set SAGE_TEST_DATABASE_URL=postgres://USER:PASS@HOST:PORT/DB (PostgreSQL >= 14
    with pgvector >= 0.7; `docker compose up -d pg` with the override file works), or
  - install the PostgreSQL server (Debian/Ubuntu: apt-get install postgresql) and
    rerun: this script then starts a throwaway cluster and installs pgvector.
EOF
  exit 1
}

command -v go >/dev/null || die "go is not on PATH"

# ---------------------------------------------------------------- database
cluster=""
pg_bindir=""
child=""
cleanup() {
  local rc=$?
  if [ -n "$child" ]; then
    kill -TERM -- "-$child" 2>/dev/null || kill -TERM "$child" 2>/dev/null || true
    wait "$child" 2>/dev/null || true
  fi
  if [ -n "$cluster" ] && [ -d "$cluster" ]; then
    as_pg "$pg_bindir/pg_ctl" -D "$cluster/data" -m immediate -w stop >/dev/null 2>&1 || true
    rm -rf "$cluster"
  fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

as_pg() {
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

find_pg_bindir() {
  local d
  for d in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -t/ -k4 -n -r) \
    "$(dirname "$(command -v initdb 2>/dev/null || echo /nonexistent/x)")" \
    "$(dirname "$(command -v pg_ctl 2>/dev/null || echo /nonexistent/x)")"; do
    if [ -x "$d/initdb" ] && [ -x "$d/pg_ctl" ] && [ -x "$d/postgres" ]; then
      echo "$d"
      return 0
    fi
  done
  return 1
}

free_port() {
  local p i
  for i in $(seq 1 50); do
    p=$((20000 + RANDOM % 30000))
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
      echo "$p"
      return 0
    fi
  done
  return 1
}

start_cluster() {
  pg_bindir=$(find_pg_bindir) || die "no PostgreSQL server binaries found (initdb, pg_ctl, postgres)"
  local ver
  ver=$("$pg_bindir/postgres" --version)
  say "PostgreSQL server: $ver ($pg_bindir)"
  export SAGE_TEST_PG_BINDIR=$pg_bindir
  "$top/scripts/pgvector.sh" "$pg_bindir" || die "the vector extension is missing and could not be installed"

  if [ "$(id -u)" = 0 ] && ! id postgres >/dev/null 2>&1; then
    die "running as root but there is no postgres user to run the server as"
  fi
  cluster=$(mktemp -d "${TMPDIR:-/tmp}/sage-test-pg.XXXXXX")
  chmod 755 "$cluster"
  [ "$(id -u)" = 0 ] && chown postgres: "$cluster"
  as_pg "$pg_bindir/initdb" -D "$cluster/data" -U postgres -A trust -E UTF8 --locale=C.UTF-8 >"$cluster/initdb.log" 2>&1 ||
    as_pg "$pg_bindir/initdb" -D "$cluster/data" -U postgres -A trust -E UTF8 --locale=C >"$cluster/initdb.log" 2>&1 ||
    { cat "$cluster/initdb.log" >&2; die "initdb failed"; }

  local port try
  for try in 1 2 3 4 5; do
    port=$(free_port) || die "no free loopback port"
    if as_pg "$pg_bindir/pg_ctl" -D "$cluster/data" -l "$cluster/server.log" -w -t 60 \
      -o "-p $port -c listen_addresses=127.0.0.1 -k $cluster -c max_connections=400 -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c shared_buffers=256MB" \
      start >/dev/null; then
      break
    fi
    port=""
  done
  [ -n "$port" ] || { tail -20 "$cluster/server.log" >&2; die "the test cluster did not start"; }
  export SAGE_TEST_DATABASE_URL="postgres://postgres@127.0.0.1:$port/sage_test?sslmode=disable"
  as_pg "$pg_bindir/psql" -h 127.0.0.1 -p "$port" -U postgres -d postgres -qAtc "CREATE DATABASE sage_test" >/dev/null ||
    die "could not create the test database"
  say "throwaway cluster on 127.0.0.1:$port ($cluster)"
}

if [ -n "${SAGE_TEST_DATABASE_URL:-}" ]; then
  say "using SAGE_TEST_DATABASE_URL"
else
  start_cluster
fi
# A clear, early failure for a wrong URL, a server too old, or no pgvector.
go run ./testkit/cmd/sage-pgcheck || die "the test database is not usable (see above)"

# ---------------------------------------------------------------- Claude Code
if [ -z "${SAGE_TEST_CLAUDE:-}" ]; then
  if command -v npm >/dev/null; then
    cdir="$cache/claude-code-$claude_version"
    if [ ! -x "$cdir/node_modules/.bin/claude" ]; then
      say "installing the Claude Code CLI $claude_version (npm) into $cdir"
      mkdir -p "$cdir"
      npm install --silent --no-audit --no-fund --prefix "$cdir" "@anthropic-ai/claude-code@$claude_version" >&2 ||
        die "npm could not install @anthropic-ai/claude-code (set SAGE_TEST_CLAUDE to a claude binary)"
    fi
    export SAGE_TEST_CLAUDE="$cdir/node_modules/.bin/claude"
  elif [ "${CI:-}" = true ]; then
    die "npm is needed to install the Claude Code CLI for the end-to-end tests"
  fi
fi

# ---------------------------------------------------------------- Chromium
# The console's browser tests (e2e/console) drive headless Chromium.
if [ -z "${SAGE_TEST_CHROMIUM:-}" ]; then
  for c in chromium chromium-browser; do
    if command -v "$c" >/dev/null; then SAGE_TEST_CHROMIUM=$(command -v "$c"); break; fi
  done
  if [ -z "${SAGE_TEST_CHROMIUM:-}" ] && command -v apt-get >/dev/null && [ "$(id -u)" = 0 ]; then
    say "installing Chromium and CJK fonts (apt-get install chromium fonts-noto-cjk) for the console's browser tests"
    { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-noto-cjk; } >&2 ||
      die "apt-get could not install chromium (set SAGE_TEST_CHROMIUM to a Chromium binary)"
    SAGE_TEST_CHROMIUM=$(command -v chromium)
  fi
  if [ -n "${SAGE_TEST_CHROMIUM:-}" ]; then
    export SAGE_TEST_CHROMIUM
  elif [ "${CI:-}" = true ]; then
    die "Chromium is needed for the console's browser tests (apt-get install chromium, or set SAGE_TEST_CHROMIUM)"
  fi
fi

# ---------------------------------------------------------------- tests
read -r -a flags <<<"${GOTESTFLAGS:--race -count=1 -timeout 30m}"
status=0
for mod in $(go list -m -f '{{.Dir}}'); do
  say "go test ${flags[*]} ${SAGE_TEST_PACKAGES:-./...} in ${mod#"$top"/}"
  # In the background (own process group) so that a signal to this script
  # runs the cleanup at once instead of after the tests.
  set -m
  (cd "$mod" && exec go test "${flags[@]}" ${SAGE_TEST_PACKAGES:-./...}) &
  child=$!
  set +m
  wait "$child" || status=1
  child=""
done
if [ "$status" != 0 ]; then
  printf '\ntest: FAILED (see the failing packages above)\n' >&2
  exit 1
fi
say "all modules passed"
