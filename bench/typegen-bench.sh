#!/usr/bin/env bash
# `allocs typegen FILE --out OUT` (the command users run: Node's start-up, the DWARF model, the
# allocation-site analysis and the metadata file, all included) against `pahole FILE` on the same
# file. The two alternate (bench/compare.py): minimum CPU times give the steady ratio, wall
# medians what a user waits. Budgets (issue 16): wall at most 1.5x pahole's, CPU at most 2x, peak
# RSS at most 1x; judged only on a quiet machine.
# Also times `allocs typegen` on a small program (budget: well under 0.3 s wall).
# Usage: bash bench/typegen-bench.sh [FILE...]   (default: libc's debug file from libc6-dbg, and
# python3.11d if python3.11-dbg is installed). REPS=N sets the runs per command (default 5).
# LARGE=1 adds a large program: PostgreSQL 15's backend built with -g -O2 from Debian's source
# (bench/large-program.sh; built once and cached, 10-20 minutes of CPU the first time).
# Needs: node, pahole (dwarves).
source "$(dirname "$0")/lib.sh"
REPS=${REPS:-5}
[ -f dist/cli/src/main.js ] || npx tsc -p .
command -v pahole >/dev/null || { echo "pahole not installed (apt-get install dwarves)"; exit 2; }

files=("$@")
if [ ${#files[@]} -eq 0 ]; then
  libc=/lib/x86_64-linux-gnu/libc.so.6
  id=$(readelf -n "$libc" | sed -n 's/.*Build ID: //p')
  [ -n "$id" ] && [ -f "/usr/lib/debug/.build-id/${id:0:2}/${id:2}.debug" ] && files+=("/usr/lib/debug/.build-id/${id:0:2}/${id:2}.debug")
  [ -f /usr/bin/python3.11d ] && files+=(/usr/bin/python3.11d)
  if [ "${LARGE:-0}" = 1 ]; then
    large=$(bash bench/large-program.sh) || { echo "LARGE=1: the large program did not build"; exit 2; }
    files+=("$large")
  fi
fi
[ ${#files[@]} -gt 0 ] || { echo "no input files (install libc6-dbg or pass a file)"; exit 2; }

out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
for f in "${files[@]}"; do
  echo "== $f"
  python3 bench/compare.py --reps "$REPS" --name-a pahole --name-b "allocs typegen" \
    --wall-budget 1.5 --cpu-budget 2.0 --rss-budget 1.0 \
    -- pahole "$f" \
    --- node bin/allocs.js typegen "$f" --out "$out/meta" --quiet
done

# Start-up counts: a small program's typegen run, against `node -e 0` (Node's own start).
gcc -g -O0 -o "$BENCH_OUT/typegen-small" test-programs/seed_demo.c -Iruntime/include runtime/build/liballocs_stub.so
echo "== a small program (test-programs/seed_demo.c): allocs typegen vs node -e 0"
python3 bench/compare.py --reps "$REPS" --name-a "node -e 0" --name-b "allocs typegen" \
  -- node -e 0 \
  --- node bin/allocs.js typegen "$BENCH_OUT/typegen-small" --out "$out/small" --quiet
