#!/usr/bin/env bash
# Debug adapter: launch -> stopped at entry, and a variables request of 100 pointers with
# allocation summaries, each beside a baseline measured in the same run. Usage: adapter-bench.sh [RUNS]
set -euo pipefail
cd "$(dirname "$0")/.."
[ -f dist/bench/adapter-bench.js ] || npx tsc -p tsconfig.json
uptime
node dist/bench/adapter-bench.js "${1:-5}"
