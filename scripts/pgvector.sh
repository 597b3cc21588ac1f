#!/usr/bin/env bash
# Install the pgvector extension into the local PostgreSQL server when it is
# missing. Debian bookworm ships no pgvector package for PostgreSQL 15, so we
# build Debian trixie's source package. The apt mirror is derived from this
# machine's own apt sources; no registry host is written here.
#
# Usage: scripts/pgvector.sh PG_BINDIR
# Env:   SAGE_PGVECTOR_CACHE  where the build is kept for reuse
#                             (default ${XDG_CACHE_HOME:-$HOME/.cache}/sage/pgvector)
set -euo pipefail

bindir=${1:?usage: pgvector.sh PG_BINDIR}
major=$("$bindir/postgres" --version | sed -E 's/[^0-9]*([0-9]+).*/\1/')
cache=${SAGE_PGVECTOR_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/sage/pgvector}/pg$major

say() { printf 'pgvector: %s\n' "$*" >&2; }
die() { printf 'pgvector: error: %s\n' "$*" >&2; exit 1; }

sudo_cmd=()
if [ "$(id -u)" != 0 ]; then
  command -v sudo >/dev/null || die "not root and no sudo: install pgvector for PostgreSQL $major yourself, or set SAGE_TEST_DATABASE_URL"
  sudo_cmd=(sudo)
fi

pg_config=/usr/lib/postgresql/$major/bin/pg_config
sharedir() { "$pg_config" --sharedir 2>/dev/null || echo "/usr/share/postgresql/$major"; }

if [ -x "$pg_config" ] && [ -f "$(sharedir)/extension/vector.control" ]; then
  exit 0
fi

# Reuse an earlier build: only `make install` is needed.
if [ -f "$cache/built" ] && [ -x "$pg_config" ]; then
  say "installing the cached build from $cache"
  "${sudo_cmd[@]}" make -C "$cache/src" install PG_CONFIG="$pg_config" OPTFLAGS="" >/dev/null
  exit 0
fi

command -v apt-get >/dev/null || die "the vector extension is missing and this is not a Debian/Ubuntu machine: install pgvector >= 0.7 for PostgreSQL $major, or set SAGE_TEST_DATABASE_URL"

say "building pgvector for PostgreSQL $major from Debian trixie's source package"
"${sudo_cmd[@]}" apt-get update -qq >/dev/null
"${sudo_cmd[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
  "postgresql-server-dev-$major" dpkg-dev make gcc >/dev/null

# The Debian archive mirror this machine already uses (scripts/debian-mirror.sh).
mirror=$("$(dirname "$0")/debian-mirror.sh")
[ -n "$mirror" ] || die "could not find a Debian mirror in /etc/apt/sources*: install pgvector yourself, or set SAGE_TEST_DATABASE_URL"

work=$(mktemp -d)
chmod 755 "$work" # apt fetches as the _apt user
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/lists/partial"
keyring=/usr/share/keyrings/debian-archive-keyring.gpg
opts="[signed-by=$keyring]"
[ -f "$keyring" ] || opts=""
echo "deb-src $opts ${mirror%/} trixie main" >"$work/sources.list"
aptopts=(-o "Dir::Etc::sourcelist=$work/sources.list" -o "Dir::Etc::sourceparts=-"
  -o "Dir::State::Lists=$work/lists" -o "APT::Get::List-Cleanup=0")
apt-get "${aptopts[@]}" update -qq >/dev/null 2>&1 || apt-get "${aptopts[@]}" update
(cd "$work" && apt-get "${aptopts[@]}" source -qq --download-only pgvector >/dev/null)
(cd "$work" && dpkg-source -x --no-check ./pgvector_*.dsc src >/dev/null)

make -C "$work/src" -j"$(nproc)" PG_CONFIG="$pg_config" OPTFLAGS="" >/dev/null
rm -rf "$cache"
mkdir -p "$(dirname "$cache")"
cp -a "$work" "$cache"
touch "$cache/built"
"${sudo_cmd[@]}" make -C "$cache/src" install PG_CONFIG="$pg_config" OPTFLAGS="" >/dev/null
say "installed $(grep default_version "$(sharedir)/extension/vector.control")"
