#!/usr/bin/env bash
# Runs mocha test suites RUNS times in a row with a CPU hog on every core, the condition CI must
# survive on a shared machine. Stops at the first failure, naming the test and its error; each
# run's result and the load average are printed (and appended to LOG when set).
# Usage: bash scripts/stress-suite.sh [RUNS] [SUITE...]
#   SUITE: a folder under tests/ (runtime, bridge, typegen, cli, extension) or `all` (every
#   *.test.ts: the mocha part of `npm test`). Default: runtime bridge. RUNS default: 5.
#   HOGS=N: N busy loops instead of one per core (HOGS=0: no extra load).
#   LOG=FILE: append one line per run to FILE.
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
RUNS=${1:-5}
shift || true
SUITES=("$@")
[ ${#SUITES[@]} -eq 0 ] && SUITES=(runtime bridge)

specs=()
for s in "${SUITES[@]}"; do
  if [ "$s" = all ]; then
    specs+=("dist/tests/**/*.test.js")
  elif [ -d "tests/$s" ]; then
    specs+=("dist/tests/$s/*.test.js")
  else
    echo "stress-suite: no suite tests/$s (use runtime, bridge, typegen, cli, extension or all)" >&2
    exit 2
  fi
done

npm run -s build || exit 1
# The suite's own per-test timeout (.mocharc.json), not a longer one: tests must pass as npm test
# runs them.
TIMEOUT=$(node -p 'require("./.mocharc.json").timeout')

hogs=()
stop_hogs() {
  for pid in "${hogs[@]}"; do kill "$pid" 2>/dev/null; done
  hogs=()
}
trap stop_hogs EXIT
trap 'exit 130' INT TERM
for ((i = 0; i < ${HOGS:-$(nproc)}; i++)); do
  (while :; do :; done) &
  hogs+=($!)
done

out=$(mktemp -t stress-suite.XXXXXX)
# A cache of its own: the runtime and the CLI read metadata from $XDG_CACHE_HOME/allocs, which
# other checkouts on the same machine (other versions of typegen) write too.
XDG_CACHE_HOME=$(mktemp -d -t stress-suite-cache.XXXXXX)
export XDG_CACHE_HOME
say() {
  echo "$*"
  if [ -n "${LOG:-}" ]; then echo "$*" >>"$LOG"; fi
}
say "stress-suite: ${SUITES[*]}, $RUNS runs, ${#hogs[@]} CPU hogs on $(nproc) cores, $(date -u +%FT%TZ)"
for ((run = 1; run <= RUNS; run++)); do
  start=$(date +%s)
  npx mocha --no-config --timeout "$TIMEOUT" --enable-source-maps --reporter spec --bail \
    "${specs[@]}" >"$out" 2>&1
  status=$?
  secs=$(($(date +%s) - start))
  load=$(cut -d' ' -f1-3 /proc/loadavg)
  passing=$(grep -Eo '[0-9]+ passing' "$out" | head -1)
  if [ $status -ne 0 ]; then
    say "run $run: FAILED after ${secs}s (load average $load)"
    # mocha's failure report: the numbered test title and its error, up to the stack trace.
    awk '/^  [0-9]+ failing/ { on = 1 } on && /^      at / { exit } on' "$out" | head -40
    echo "full output: $out"
    exit 1
  fi
  say "run $run: ok, ${passing:-0 passing}, ${secs}s (load average $load)"
done
rm -rf "$out" "$XDG_CACHE_HOME"
say "stress-suite: $RUNS of $RUNS runs passed"
