#!/usr/bin/env bash
# `alloc info` through LLDB (budget: 20 ms median per query, live): the same program and queries
# as bridge-bench.sh's gdb figures, run by lldb-16 with the allocs plugin (bench/lldb_bench.py
# does the timing). Prints `bench NAME VALUE UNIT` lines and the load average beside them.
set -euo pipefail
cd "$(dirname "$0")/.."
N=${BRIDGE_BENCH_CHUNKS:-100000}
LLDB=${ALLOCS_LLDB:-lldb-16}
if ! command -v "$LLDB" >/dev/null; then
  echo "lldb: skipped ($LLDB is not installed: npm run setup installs lldb-16)"
  exit 0
fi
out=bench/build
mkdir -p "$out"
exe=$out/bridge-bench
gcc -g -O1 -Iruntime/include -o "$exe" bench/bridge-bench.c runtime/build/liballocs_stub.so \
  -Wl,-rpath,"$PWD/runtime/build"
echo "== alloc info through lldb on a live process ($N live chunks); load average $(cut -d' ' -f1-3 /proc/loadavg)"
timeout 900 "$LLDB" --no-lldbinit --batch \
  -O "settings set target.env-vars LD_PRELOAD=$PWD/runtime/build/liballocs.so" \
  -O "command script import $PWD/gdb-python-bridge/allocs_lldb.py" \
  -o "breakpoint set -n bench_stop" -o run -o up -o "command script import $PWD/bench/lldb_bench.py" \
  -- "$exe" stop "$N" 2>&1 | grep -E '^bench'
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
