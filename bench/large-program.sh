#!/usr/bin/env bash
# Builds a large C program with DWARF for the typegen bench (issue 16: "a large program's
# DWARF"): PostgreSQL's backend binary from Debian's source (postgresql-15), configured with
# -g -O2 and built alone (src/backend/postgres, ~18 MB of .debug_info). Cached: a second run only
# prints the binary's path. Slow the first time (configure + the backend: 10-20 minutes of CPU on
# 2 cores); typegen-bench.sh calls it only with LARGE=1.
# Usage: bash bench/large-program.sh   -> prints the path of the postgres binary
# Cache: ${ALLOCS_BENCH_CACHE:-${XDG_CACHE_HOME:-~/.cache}/allocs-bench}/postgresql.
# Needs: the build tools (gcc, make, perl; bison and flex are not needed: the release tarball
# carries the generated parsers).
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
cache=${ALLOCS_BENCH_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/allocs-bench}/postgresql
bin=$cache/postgres
if [ -x "$bin" ]; then
  echo "$bin"
  exit 0
fi
mkdir -p "$cache"
# The project's Debian source fetcher (ALLOCS_DEBSRC, else next to the checkout, else /work/shared).
debsrc=${ALLOCS_DEBSRC:-}
for c in "$here/../shared/tools/debsrc.sh" /work/shared/tools/debsrc.sh; do
  [ -z "$debsrc" ] && [ -x "$c" ] && debsrc=$c
done
[ -n "$debsrc" ] || { echo "large-program.sh: debsrc.sh not found (set ALLOCS_DEBSRC)" >&2; exit 1; }
src=$("$debsrc" postgresql-15 "$cache/src")
build=$cache/build
mkdir -p "$build"
(
  cd "$build"
  # Only what the backend needs from the system: no readline, zlib, ICU or LLVM (the DWARF is
  # the point, not the features).
  [ -f config.status ] || "$src/configure" --without-readline --without-zlib --without-icu \
    --without-llvm CFLAGS="-g -O2" >configure.log 2>&1
  make -C src/backend generated-headers >make.log 2>&1
  make -j2 -C src/backend postgres >>make.log 2>&1
) || { echo "large-program.sh: the build failed; see $build/configure.log and make.log" >&2; exit 1; }
cp "$build/src/backend/postgres" "$bin.tmp"
mv "$bin.tmp" "$bin"
echo "$bin"
