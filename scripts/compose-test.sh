#!/usr/bin/env bash
# The container test (`make compose-test`): the project's docker-compose.yml
# and Dockerfile run for real, on a private Docker engine of this machine.
#
# It needs root and a Debian/Ubuntu machine, and pulls no image: it
#   - installs docker.io and debootstrap with apt when they are missing;
#   - builds Docker Compose v2 from the Go module proxy (cached);
#   - starts its own dockerd (private socket, data and exec directories) and
#     stops it, and everything it started, on exit (Ctrl-C included);
#   - builds local stand-ins for the base images from a debootstrap of
#     Debian bookworm (mirror: this machine's apt sources): a Go builder with
#     this machine's Go toolchain and modules, a distroless-like runtime, and
#     PostgreSQL 15 with pgvector (built as scripts/pgvector.sh does), and
#     FROM scratch, testkit/cmd/embed-standin in place of text-embeddings-inference
#     (deterministic synonym vectors, no model);
#   - runs docker-compose.yml with only the image names overridden
#     (SAGE_PG_IMAGE, SAGE_BUILD_IMAGE, SAGE_RUNTIME_IMAGE, SAGE_EMBED_IMAGE) and
#     checks it with scripts/compose-check (health, ports, token, semantic
#     recall through the embed service and its outage, a bridge across
#     restart, down/up and a PostgreSQL kill, down -v, secrets in logs,
#     image size).
# Containers only talk over the engine's bridge network on this machine.
#
# Caches (kept across runs, delete to start cold) under
# ${XDG_CACHE_HOME:-$HOME/.cache}/sage: bin/docker-compose-<version>,
# compose-test/ (the debootstrap tarball and the engine's data root with the
# stand-in images and build cache) and pgvector/.
#
# Env: SAGE_COMPOSE_TEST_RUN  the engine's runtime directory
#                             (default /run/sage-compose-test; short: it holds sockets)
#      SAGE_COMPOSE_TEST_KEEP=1  leave the stack and engine running at the end
#                                (stop it later with the same script: it cleans up first)
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
cache=${XDG_CACHE_HOME:-$HOME/.cache}/sage
state=$cache/compose-test
compose_version=v2.40.3
compose_bin=$cache/bin/docker-compose-$compose_version
run=${SAGE_COMPOSE_TEST_RUN:-/run/sage-compose-test}
pg_major=15 # bookworm's PostgreSQL, the one pgvector is built for
project=sage # the name in docker-compose.yml
started=$(date +%s)

say() { printf '==> [%ss] %s\n' "$(($(date +%s) - started))" "$*" >&2; }
die() {
  printf '\ncompose-test: FAILED: %s\n' "$*" >&2
  exit 1
}

[ "$(id -u)" = 0 ] || die "run as root: the test starts its own dockerd"
command -v go >/dev/null || die "go is not on PATH"
command -v apt-get >/dev/null || die "this test sets up its engine with apt: a Debian/Ubuntu machine is needed"

# Whatever the caller's environment says, the test sets these itself.
unset DOCKER_HOST DOCKER_CONTEXT DOCKER_CONFIG COMPOSE_FILE COMPOSE_PROJECT_NAME COMPOSE_PROFILES \
  POSTGRES_PASSWORD SAGE_PG_IMAGE SAGE_BUILD_IMAGE SAGE_RUNTIME_IMAGE SAGE_VERSION \
  SAGE_EMBED_IMAGE SAGE_EMBED_PROVIDER SAGE_EMBED_URL SAGE_EMBED_MODEL

# ------------------------------------------------------------------ packages
missing=()
command -v dockerd >/dev/null || missing+=(docker.io)
command -v debootstrap >/dev/null || missing+=(debootstrap)
if [ ${#missing[@]} -gt 0 ]; then
  say "installing ${missing[*]} (apt)"
  apt-get update -qq >/dev/null
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null ||
    die "apt-get install ${missing[*]}"
fi
# The client that comes with the engine (docker.io), else any on PATH.
docker_cli=/usr/bin/docker
[ -x "$docker_cli" ] || docker_cli=$(command -v docker) || die "no docker client (docker.io brings one)"

# The Debian archive mirror of this machine's apt sources
# (scripts/debian-mirror.sh, shared with pgvector.sh).
debian_mirror() { "$top/scripts/debian-mirror.sh"; }

# ------------------------------------------------------------------ compose
if [ ! -x "$compose_bin" ]; then
  say "building docker compose $compose_version from the Go module proxy (once; cached in $compose_bin)"
  dir=$(cd /tmp && GOWORK=off GOFLAGS=-mod=mod go mod download -json "github.com/docker/compose/v2@$compose_version" |
    sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
  [ -n "$dir" ] && [ -d "$dir" ] || die "go mod download github.com/docker/compose/v2@$compose_version"
  work=$(mktemp -d)
  cp -r "$dir/." "$work/" && chmod -R u+w "$work"
  mkdir -p "$(dirname "$compose_bin")"
  # go install refuses the module's exclude directives: build in a copy.
  (cd "$work" && GOWORK=off GOFLAGS=-mod=mod CGO_ENABLED=0 go build -trimpath \
    -ldflags "-s -w -X github.com/docker/compose/v2/internal.Version=$compose_version" \
    -o "$compose_bin.tmp" ./cmd) || die "building docker compose"
  mv "$compose_bin.tmp" "$compose_bin"
  rm -rf "$work"
fi

# ------------------------------------------------------------------ engine
# Everything under $run belongs to this test's engine: an engine process
# whose command line names it was started by this script (now or by a run
# that died), and only those are ever stopped.
export DOCKER_HOST=unix://$run/docker.sock
export DOCKER_BUILDKIT=1 # the Dockerfile needs BuildKit (RUN --mount)
export DOCKER_CONFIG=$run/config
export BUILDKIT_PROGRESS=plain
export COMPOSE_BAKE=false # no buildx here: compose's own BuildKit client
export COMPOSE_STATUS_STDOUT=1
data_root=$state/docker

# The engine's processes (dockerd, containerd, shims) that name $run.
our_pids() {
  local p cmd comm
  for p in /proc/[0-9]*; do
    comm=$(cat "$p/comm" 2>/dev/null) || continue
    case "$comm" in dockerd | containerd | containerd-shim*) ;; *) continue ;; esac
    cmd=$({ tr '\0' ' ' <"$p/cmdline"; } 2>/dev/null) || continue
    case "$cmd" in *"$run/"*) echo "${p#/proc/}" ;; esac
  done
}

stop_engine() {
  local pid i
  if [ -f "$run/docker.pid" ]; then
    pid=$(cat "$run/docker.pid" 2>/dev/null || true)
    if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null && { tr '\0' ' ' <"/proc/$pid/cmdline"; } 2>/dev/null | grep -q -- "$run/"; then
      kill -TERM "$pid" 2>/dev/null || true
      for i in $(seq 1 60); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
    fi
  fi
  # containerd, shims and proxies it leaves behind when it was killed.
  for pid in $(our_pids); do kill -TERM "$pid" 2>/dev/null || true; done
  for i in $(seq 1 20); do [ -z "$(our_pids)" ] && break; sleep 0.5; done
  for pid in $(our_pids); do kill -KILL "$pid" 2>/dev/null || true; done
  # Mounts left by a killed engine (it also bind-mounts its data root).
  { grep -F -e " $run/" -e " $data_root" /proc/self/mounts || true; } | awk '{print $2}' | sort -r |
    while read -r m; do umount -l "$m" 2>/dev/null || true; done
  rm -f "$run/docker.sock" "$run/docker.pid"
}

keep=${SAGE_COMPOSE_TEST_KEEP:-0}
tmp=""
child=""
# A long step runs in the background so that a signal to this script alone
# (a CI timeout) interrupts the wait and reaches the cleanup.
in_bg() {
  "$@" &
  child=$!
  local rc=0
  wait "$child" || rc=$?
  child=""
  return "$rc"
}
cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  if [ -n "$child" ]; then
    kill -TERM "$child" 2>/dev/null || true
    wait "$child" 2>/dev/null || true
  fi
  if [ "$keep" = 1 ] && [ "$rc" = 0 ]; then
    say "kept running (SAGE_COMPOSE_TEST_KEEP=1): DOCKER_HOST=$DOCKER_HOST $compose_bin ..."
  else
    if [ -S "$run/docker.sock" ]; then
      compose down -v --remove-orphans --timeout 10 >/dev/null 2>&1 || true
    fi
    stop_engine
  fi
  [ -n "$tmp" ] && rm -rf "$tmp"
  [ "$rc" = 0 ] || printf 'compose-test: the engine log was %s/dockerd.log (kept)\n' "$run" >&2
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# A run that died left its engine, or its socket, behind: stop it first.
if [ -e "$run/docker.pid" ] || [ -S "$run/docker.sock" ] || [ -n "$(our_pids)" ]; then
  say "stopping the engine a previous run left behind"
  stop_engine
fi
mkdir -p "$run/exec" "$run/config" "$data_root"
tmp=$(mktemp -d)

# The published port must be free, or the test would talk to someone else.
if (exec 3<>/dev/tcp/127.0.0.1/17800) 2>/dev/null; then
  die "127.0.0.1:17800 is already in use on this machine (a sage-daemon?): stop it, the test publishes the daemon there"
fi

printf '{"features": {"buildkit": true}}\n' >"$run/daemon.json"
start_engine() {
  say "starting dockerd ($run)"
  setsid dockerd --config-file "$run/daemon.json" \
    --exec-opt native.cgroupdriver=cgroupfs \
    --data-root "$data_root" --exec-root "$run/exec" \
    -H "unix://$run/docker.sock" --pidfile "$run/docker.pid" \
    >>"$run/dockerd.log" 2>&1 </dev/null &
  local engine=$! i
  for i in $(seq 1 120); do
    "$docker_cli" version >/dev/null 2>&1 && return 0
    kill -0 "$engine" 2>/dev/null || { tail -n 30 "$run/dockerd.log" >&2; die "dockerd exited at start (log above)"; }
    sleep 0.5
  done
  tail -n 30 "$run/dockerd.log" >&2
  die "dockerd did not answer within 60 s"
}
: >"$run/dockerd.log"
start_engine
docker() { "$docker_cli" "$@"; }

# Leftovers of a run that died: this engine is the test's own, so every
# container and volume on it is one (the images stay: they are the cache).
# The engine restarted them at its start (restart: unless-stopped) and may
# keep their published port: once they are gone, it starts afresh.
left=$(docker ps -aq)
if [ -n "$left" ]; then
  say "removing the containers a previous run left behind"
  docker rm -f $left >/dev/null
  stop_engine
  start_engine
fi
left=$(docker volume ls -q)
[ -z "$left" ] || docker volume rm -f $left >/dev/null
docker network prune -f >/dev/null

# ------------------------------------------------------------------ images
# Each stand-in is tagged with a hash of what goes into it, so a warm run
# reuses it and a change rebuilds it.
base_tar=$state/bookworm-minbase.tar
if [ ! -s "$base_tar" ]; then
  mirror=$(debian_mirror)
  [ -n "$mirror" ] || die "no Debian mirror in /etc/apt/sources*: debootstrap needs one"
  say "debootstrap bookworm (minbase) from $mirror (once; cached in $base_tar)"
  root=$tmp/debootstrap
  debootstrap --variant=minbase bookworm "$root" "$mirror" >"$tmp/debootstrap.log" 2>&1 ||
    { tail -n 20 "$tmp/debootstrap.log" >&2; die "debootstrap (log above)"; }
  tar --numeric-owner -C "$root" -cf "$base_tar.tmp" . && mv "$base_tar.tmp" "$base_tar"
  rm -rf "$root"
fi
base_id=$(stat -c %Y-%s "$base_tar")

have_image() { docker image inspect "$1" >/dev/null 2>&1; }
# Earlier versions of a stand-in (another key) only take space.
drop_others() { # REPO KEEP_TAG
  local old
  old=$(docker images --format '{{.Repository}}:{{.Tag}}' "$1" | grep -vxF "$2" || true)
  [ -z "$old" ] || docker rmi $old >/dev/null 2>&1 || true
}
hash_of() { sha256sum | cut -c1-12; }
import_dir() { # DIR TAG [--change ...]
  local dir=$1 tag=$2
  shift 2
  tar --numeric-owner -C "$dir" -c . | docker import "$@" - "$tag" >/dev/null || die "docker import $tag"
}
std_path=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin

# Runtime: what distroless/static offers a static binary: a passwd with the
# nonroot user 65532, its home, /tmp and the CA certificates.
runtime_key=$(printf 'runtime-1\n' | hash_of)
runtime_image=sage-standin/runtime:$runtime_key
if ! have_image "$runtime_image"; then
  say "stand-in runtime image $runtime_image"
  r=$tmp/runtime
  mkdir -p "$r/etc/ssl/certs" "$r/tmp" "$r/home/nonroot"
  printf 'root:x:0:0:root:/root:/sbin/nologin\nnonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n' >"$r/etc/passwd"
  printf 'root:x:0:\nnonroot:x:65532:\n' >"$r/etc/group"
  [ -f /etc/ssl/certs/ca-certificates.crt ] && cp /etc/ssl/certs/ca-certificates.crt "$r/etc/ssl/certs/"
  chmod 1777 "$r/tmp"
  chown 65532:65532 "$r/home/nonroot"
  import_dir "$r" "$runtime_image" --change "ENV PATH=$std_path" --change "USER 65532" --change "WORKDIR /home/nonroot"
fi

# Go builder: the debootstrap base, this machine's Go toolchain, and the
# modules the workspace needs served as a file proxy (the Dockerfile's cache
# mount hides /go/pkg/mod, so the modules cannot simply sit there).
goroot=$(go env GOROOT)
gomodcache=$(go env GOMODCACHE)
goversion=$(go env GOVERSION)
# The module files of the workspace, as the Dockerfile copies them, in a
# directory of their own: `go mod download` there completes go.work.sum
# without touching the checkout's, and then lists every module version the
# build can ask for.
ws=$tmp/workspace
mkdir -p "$ws"
cp go.work go.work.sum "$ws/"
for m in */go.mod; do
  mkdir -p "$ws/${m%/go.mod}"
  cp "$m" "$ws/$m"
  [ ! -f "${m%.mod}.sum" ] || cp "${m%.mod}.sum" "$ws/${m%.mod}.sum"
done
(cd "$ws" && go mod download >/dev/null) || die "go mod download (the builder's modules)"
sums=$(cd "$ws" && ls go.work.sum */go.sum)
builder_key=$( (echo "$base_id $goversion builder-1"; cd "$ws" && cat $sums) | hash_of)
builder_image=sage-standin/golang:$goversion-$builder_key
if ! have_image "$builder_image"; then
  say "stand-in Go builder image $builder_image ($goversion)"
  # Every module version the go.sum files name, from the module cache.
  r=$tmp/builder
  mkdir -p "$r"
  tar -C "$r" -xf "$base_tar"
  mkdir -p "$r/usr/local" "$r/goproxy" "$r/go"
  cp -a "$goroot" "$r/usr/local/go"
  dl=$gomodcache/cache/download
  (cd "$ws" && awk '{ v=$2; sub(/\/go\.mod$/, "", v); print $1, v }' $sums) | sort -u | while read -r mod ver; do
    esc=$(printf '%s' "$mod" | sed 's/[A-Z]/!\L&/g')
    vesc=$(printf '%s' "$ver" | sed 's/[A-Z]/!\L&/g')
    for ext in info mod zip; do
      f=$esc/@v/$vesc.$ext
      if [ -f "$dl/$f" ]; then
        mkdir -p "$r/goproxy/$esc/@v"
        cp "$dl/$f" "$r/goproxy/$f"
      fi
    done
  done
  import_dir "$r" "$builder_image" \
    --change "ENV PATH=/go/bin:/usr/local/go/bin:$std_path" --change "ENV GOPATH=/go" \
    --change "ENV GOPROXY=file:///goproxy" --change "ENV GOSUMDB=off" --change "ENV GOTOOLCHAIN=local" \
    --change "WORKDIR /go"
  rm -rf "$r"
fi

# PostgreSQL 15 (Debian's, installed with apt in a chroot of the base) and
# pgvector (this machine's build of Debian's source package, as the test
# command makes it), with an entrypoint like the official image's.
pgv_cache=${SAGE_PGVECTOR_CACHE:-$cache/pgvector}/pg$pg_major
if [ ! -f "$pgv_cache/built" ]; then
  pg_bin=/usr/lib/postgresql/$pg_major/bin
  if [ ! -x "$pg_bin/postgres" ]; then
    say "installing postgresql-$pg_major on this machine (apt) to build pgvector for it"
    apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "postgresql-$pg_major" >/dev/null ||
      die "apt-get install postgresql-$pg_major"
  fi
  say "building pgvector for PostgreSQL $pg_major (scripts/pgvector.sh)"
  scripts/pgvector.sh "$pg_bin" || die "scripts/pgvector.sh"
  [ -f "$pgv_cache/built" ] || die "scripts/pgvector.sh left no build in $pgv_cache"
fi
pg_key=$( (echo "$base_id pg$pg_major pg-1"; cat scripts/compose-test-pg-entrypoint.sh; ls -l "$pgv_cache/src/vector.so") | hash_of)
pg_image=sage-standin/pgvector:pg$pg_major-$pg_key
if ! have_image "$pg_image"; then
  mirror=$(debian_mirror)
  [ -n "$mirror" ] || die "no Debian mirror in /etc/apt/sources*"
  say "stand-in PostgreSQL image $pg_image (apt in a chroot, from $mirror)"
  r=$tmp/pg
  mkdir -p "$r"
  tar -C "$r" -xf "$base_tar"
  cp /etc/resolv.conf "$r/etc/resolv.conf"
  printf '#!/bin/sh\nexit 101\n' >"$r/usr/sbin/policy-rc.d" && chmod 755 "$r/usr/sbin/policy-rc.d"
  mkdir -p "$r/etc/postgresql-common"
  echo "create_main_cluster = false" >"$r/etc/postgresql-common/createcluster.conf"
  echo "deb $mirror bookworm main" >"$r/etc/apt/sources.list"
  chroot "$r" /bin/sh -c "apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
      --no-install-recommends -o Dpkg::Options::=--force-confold postgresql-$pg_major && apt-get clean" \
    >"$tmp/pg-apt.log" 2>&1 || { tail -n 20 "$tmp/pg-apt.log" >&2; die "apt-get install postgresql-$pg_major in the chroot (log above)"; }
  rm -rf "$r/var/lib/apt/lists/"* "$r/usr/sbin/policy-rc.d" "$r/etc/resolv.conf"
  make -s -C "$pgv_cache/src" install DESTDIR="$r" PG_CONFIG="/usr/lib/postgresql/$pg_major/bin/pg_config" OPTFLAGS="" >/dev/null ||
    die "installing pgvector into the image"
  [ -f "$r/usr/share/postgresql/$pg_major/extension/vector.control" ] || die "pgvector is not where PostgreSQL $pg_major looks"
  install -m 755 scripts/compose-test-pg-entrypoint.sh "$r/usr/local/bin/docker-entrypoint.sh"
  mkdir -p "$r/var/lib/postgresql/data" "$r/var/run/postgresql"
  import_dir "$r" "$pg_image-rootfs"
  rm -rf "$r"
  # The settings of the official image (docker import cannot set STOPSIGNAL:
  # the classic builder, which needs no context, adds them).
  DOCKER_BUILDKIT=0 docker build -q -t "$pg_image" - >/dev/null <<EOF || die "docker build $pg_image"
FROM $pg_image-rootfs
ENV PATH=/usr/lib/postgresql/$pg_major/bin:$std_path PGDATA=/var/lib/postgresql/data
VOLUME /var/lib/postgresql/data
EXPOSE 5432
STOPSIGNAL SIGINT
ENTRYPOINT ["/usr/local/bin/docker-entrypoint.sh"]
CMD ["postgres"]
EOF
  docker rmi "$pg_image-rootfs" >/dev/null
fi

# The embedding service: testkit/cmd/embed-standin (TEI's command line and
# /v1/embeddings, the synonym vectors of testkit/synonyms), alone in a FROM
# scratch image.
embed_key=$( (echo "embed-1 $goversion"; cat testkit/go.mod testkit/cmd/embed-standin/main.go testkit/synonyms/synonyms.go) | hash_of)
embed_image=sage-standin/text-embeddings-inference:$embed_key
if ! have_image "$embed_image"; then
  say "stand-in embedding image $embed_image (testkit/cmd/embed-standin, FROM scratch)"
  r=$tmp/embed
  mkdir -p "$r/data"
  (cd testkit && GOWORK=off CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" \
    -o "$r/text-embeddings-router" ./cmd/embed-standin) || die "go build testkit/cmd/embed-standin"
  import_dir "$r" "$embed_image" --change 'ENTRYPOINT ["/text-embeddings-router"]'
  rm -rf "$r"
fi

drop_others sage-standin/runtime "$runtime_image"
drop_others sage-standin/text-embeddings-inference "$embed_image"
drop_others sage-standin/golang "$builder_image"
drop_others sage-standin/pgvector "$pg_image"

# ------------------------------------------------------------------ compose
export SAGE_PG_IMAGE=$pg_image SAGE_BUILD_IMAGE=$builder_image SAGE_RUNTIME_IMAGE=$runtime_image SAGE_EMBED_IMAGE=$embed_image
export SAGE_VERSION=compose-test
POSTGRES_PASSWORD=$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')
export POSTGRES_PASSWORD
files=(-f "$top/docker-compose.yml")
if [ -f "$top/.env" ]; then
  # A developer's .env would change the daemon under test: leave it out.
  printf 'services:\n  sage:\n    env_file: !reset []\n' >"$tmp/no-dotenv.yml"
  files+=(-f "$tmp/no-dotenv.yml")
  say "leaving out $top/.env"
fi
: >"$tmp/empty.env"
{
  echo '#!/usr/bin/env bash'
  printf 'exec'
  printf ' %q' "$compose_bin" --project-directory "$top" "${files[@]}" --env-file "$tmp/empty.env"
  printf ' "$@"\n'
} >"$tmp/compose"
chmod +x "$tmp/compose"
compose() { "$tmp/compose" "$@"; }

say "building sage-bridge for the host"
CGO_ENABLED=0 go build -o "$tmp/sage-bridge" ./bridge/cmd/sage-bridge || die "go build ./bridge/cmd/sage-bridge"

say "building sage-daemon:$SAGE_VERSION with the Dockerfile (docker compose build)"
in_bg compose --progress plain build sage || die "docker compose build: the Dockerfile does not build with the stand-in base images"

say "running the checks (scripts/compose-check)"
(cd scripts/compose-check && GOWORK=off GOFLAGS=-mod=mod go build -o "$tmp/compose-check" .) || die "go build scripts/compose-check"
in_bg "$tmp/compose-check" -logs "$run" -compose "$tmp/compose" -docker "$docker_cli" -bridge "$tmp/sage-bridge" \
  -image "sage-daemon:$SAGE_VERSION" -project "$project" -work "$tmp" || die "the container checks (above)"

say "compose-test passed in $(($(date +%s) - started)) s"
