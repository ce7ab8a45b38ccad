#!/usr/bin/env bash
# Heap cost of the runtime, measured against a baseline in the same run:
#   binary-trees (16-byte nodes, millions of malloc/free), plain vs preloaded, alternating
#   (bench/compare.py): the ratio of minimum CPU times, wall medians and peak RSS. Budgets
#   (issue 16): CPU at most 1.25x, peak RSS at most 1.10x; judged only on a quiet machine.
#   heap-lookup: alloc_get_size on heap interior pointers, median CPU ns (budget: <= 60 ns cold).
# Usage: bash bench/heap-bench.sh [DEPTH] [REPS]
source "$(dirname "$0")/lib.sh"
DEPTH=${1:-18}
REPS=${2:-7}
gcc -O2 -o "$BENCH_OUT/binary-trees" bench/binary-trees.c
gcc -O2 -Iruntime/include -o "$BENCH_OUT/heap-lookup" bench/heap-lookup.c runtime/build/liballocs_stub.so \
  -Wl,-rpath,"$PWD/runtime/build"

echo "binary-trees depth $DEPTH: plain vs the runtime preloaded"
python3 bench/compare.py --reps "$REPS" --name-a plain --name-b preloaded \
  --cpu-budget 1.25 --rss-budget 1.10 \
  -- env -u LD_PRELOAD "$BENCH_OUT/binary-trees" "$DEPTH" \
  --- env LD_PRELOAD="$RUNTIME_LIB" "$BENCH_OUT/binary-trees" "$DEPTH"
LD_PRELOAD=$RUNTIME_LIB "$BENCH_OUT/heap-lookup" | sed 's/^/  /'
