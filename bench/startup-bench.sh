#!/usr/bin/env bash
# The CLI's start-up: each command below with the V8 code cache of the CLI's modules off
# (ALLOCS_COMPILE_CACHE=off: every module parsed and compiled at each start) and on (after one
# run that makes it), alternated by bench/compare.py; `node -e 0` first, for Node's own start.
# Commands: `allocs --help` (loads 3 modules), `allocs typegen` on a small program (~75 modules,
# then a small run), `allocs run -- true` (zero setup, metadata already made).
# Usage: bash bench/startup-bench.sh   (REPS=N runs per command, default 9). No budget: a figure.
source "$(dirname "$0")/lib.sh"
REPS=${REPS:-9}
[ -f dist/cli/src/compile-cache.js ] || npx tsc -p .

out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
export XDG_CACHE_HOME=$out/xdg # its own code cache and metadata: made here, by the first runs
gcc -g -O0 -o "$BENCH_OUT/startup-small" test-programs/seed_demo.c -Iruntime/include runtime/build/liballocs_stub.so

echo "== Node's own start: node -e 0 vs allocs --help"
python3 bench/compare.py --reps "$REPS" --name-a "node -e 0" --name-b "allocs --help" \
  -- node -e 0 --- node bin/allocs.js --help

cases=("--help" "typegen $BENCH_OUT/startup-small --out $out/small.allocsmeta --quiet" "run -- true")
for c in "${cases[@]}"; do
  read -ra args <<<"$c"
  node bin/allocs.js "${args[@]}" >/dev/null 2>&1 || true # makes the cache (and run's metadata)
  echo "== allocs $c: code cache off vs on"
  python3 bench/compare.py --reps "$REPS" --name-a "cache off" --name-b "cache on" \
    -- env ALLOCS_COMPILE_CACHE=off node bin/allocs.js "${args[@]}" \
    --- node bin/allocs.js "${args[@]}"
done
