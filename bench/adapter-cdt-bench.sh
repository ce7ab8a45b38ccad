#!/usr/bin/env bash
# The allocs debug adapter against cdt-gdb-adapter (npm dev dependency), the same DebugClient
# script alternated: spawn -> stopped at a breakpoint, and scopes + variables of six heap-pointer
# locals (issue 16's budgets: at most 0.71x and 2x cdt's). Usage: adapter-cdt-bench.sh [RUNS] [--no-index-cache] [--no-inflated-debug]
set -euo pipefail
cd "$(dirname "$0")/.."
[ -f dist/bench/adapter-cdt-bench.js ] || npx tsc -p tsconfig.json
node dist/bench/adapter-cdt-bench.js "${1:-7}" "${@:2}"
