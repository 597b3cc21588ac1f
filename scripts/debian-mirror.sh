#!/usr/bin/env bash
# Prints the Debian archive mirror this machine already uses: the URI of its
# bookworm, trixie or sid (non-security) suite, from deb822 .sources files or
# one-line lists; prints nothing when there is none. Used by pgvector.sh and
# compose-test.sh, so no registry host is written in any file.
set -uo pipefail
{
  for f in /etc/apt/sources.list.d/*.sources; do
    [ -f "$f" ] || continue
    awk 'BEGIN{RS=""} /Suites:[^\n]*(bookworm|trixie|sid)([ \n]|$)/ && !/security/ {
           if (match($0, /URIs:[ \t]*[^ \t\n]+/)) { s=substr($0, RSTART, RLENGTH); sub(/URIs:[ \t]*/, "", s); print s } }' "$f"
  done
  cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null |
    awk '$1 ~ /^deb(-src)?$/ && $0 !~ /security/ { for (i=2;i<=NF;i++) if ($i ~ /:\/\//) { print $i; break } }'
} | grep -E '/debian/?$' | head -n1 || true
