#!/usr/bin/env bash
# Per-query cost of the levels part (stack frames, statics, auxv, mmap): the median of 20,001
# timed single queries each. Target: a stack address answers in <= 2 us (median). The baseline
# in the same run is libgcc's unwinder (ALLOCS_LEVELS_UNWIND=libgcc), which the runtime's
# cached CFI reader replaces on the fast path.
set -euo pipefail
cd "$(dirname "$0")/.."
make -s -C runtime
mkdir -p bench/build
gcc -O2 -g -Iruntime/include -o bench/build/levels-stack-bench bench/levels-stack-bench.c \
    runtime/build/liballocs_stub.so -Wl,-rpath,"$PWD/runtime/build"
echo "-- cached CFI unwinder (default)"
ALLOCS_LEVELS_UNWIND=cached LD_PRELOAD="$PWD/runtime/build/liballocs.so" bench/build/levels-stack-bench
echo "-- baseline: libgcc's unwinder"
ALLOCS_LEVELS_UNWIND=libgcc LD_PRELOAD="$PWD/runtime/build/liballocs.so" bench/build/levels-stack-bench | grep stack
