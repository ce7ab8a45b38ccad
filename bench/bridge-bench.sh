#!/usr/bin/env bash
# The gdb bridge's budgets: `alloc info` median wall time per query through gdb on a live
# process (budget 20 ms), and `alloc census` over a kernel core with N live chunks (default
# 1,000,000; budget 5 s and gdb RSS growth <= 200 MB). Prints `bench NAME VALUE UNIT` lines.
set -euo pipefail
cd "$(dirname "$0")/.."
N=${BRIDGE_BENCH_CHUNKS:-1000000}
out=bench/build
mkdir -p "$out"
exe=$out/bridge-bench
gcc -g -O1 -Iruntime/include -o "$exe" bench/bridge-bench.c runtime/build/liballocs_stub.so \
  -Wl,-rpath,"$PWD/runtime/build"
lib=$PWD/runtime/build/liballocs.so
bridge=$PWD/gdb-python-bridge/allocs_gdb.py

echo "== alloc info on a live process ($N live chunks)"
BRIDGE_BENCH=info timeout 600 gdb -nx -q -batch -iex "set exec-wrapper env LD_PRELOAD=$lib" \
  -iex "source $bridge" -ex "break bench_stop" -ex run -ex up -ex "source bench/bridge-bench.py" \
  --args "$exe" stop "$N" 2>/dev/null | grep -E '^(bench|stats)'

case "$(cat /proc/sys/kernel/core_pattern)" in
  "|"* | */*) echo "census: skipped (kernel cores are not written to the working directory)"; exit 0 ;;
esac
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
echo "== alloc census over a kernel core ($N live chunks)"
(cd "$dir" && ulimit -c unlimited && LD_PRELOAD=$lib "$OLDPWD/$exe" abort "$N" || true) | grep '^stats'
core=$(ls "$dir"/core* | head -1)
echo "core: $(du -h --apparent-size "$core" | cut -f1) apparent, $(du -h "$core" | cut -f1) on disk"
BRIDGE_BENCH=census timeout 600 gdb -nx -q -batch -iex "source $bridge" -ex "source bench/bridge-bench.py" \
  "$exe" "$core" 2>/dev/null | grep '^bench'
