#!/usr/bin/env bash
# Runs every benchmark in bench/ (each prints its figures as ratios against a baseline measured
# in the same run) and records nothing by itself: copy the figures into docs/benchmarks.md.
set -euo pipefail
cd "$(dirname "$0")/.."
npm run -s build
for b in bench/*-bench.sh; do
  [ -e "$b" ] || continue
  echo "== $b"
  bash "$b"
done
