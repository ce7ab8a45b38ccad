#!/usr/bin/env bash
# The leak check's budgets over N live chunks (default 1,000,000), one in a hundred lost:
#  - `alloc leaks` and `alloc diff` (a snapshot against now) in gdb on a live process: budget 3 s
#    each and 300 MB of gdb RSS growth;
#  - `allocs run --leaks` at exit: at most 1 s more than the same run without it, per million
#    chunks; beside it, valgrind memcheck's leak check on the same program (when installed).
# Prints `bench NAME VALUE UNIT` lines; record the load average beside any figure.
source "$(dirname "$0")/lib.sh"
N=${LEAKS_BENCH_CHUNKS:-1000000}
exe=$BENCH_OUT/leaks-bench
node bin/allocs.js cc -g -O1 -o "$exe" bench/leaks-bench.c
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"

echo "== alloc leaks / snapshot / diff in gdb ($N live chunks)"
timeout 900 node bin/allocs.js gdb -nx -q -batch -ex "break bench_stop" -ex run -ex up \
  -ex "source bench/leaks-bench.py" --args "$exe" stop "$N" 2>/dev/null | grep '^bench'

echo "== allocs run --leaks at exit ($N live chunks; median of 3 wall times)"
wall() { /usr/bin/time -f %e "$@" 2>&1 >/dev/null | tail -1; }
plain=$(for _ in 1 2 3; do wall env LD_PRELOAD="$RUNTIME_LIB" "$exe" exit "$N"; done | median)
leaks=$(for _ in 1 2 3; do wall env LD_PRELOAD="$RUNTIME_LIB" ALLOCS_LEAKS=1 "$exe" exit "$N"; done | median)
echo "bench exit_plain_s $plain s"
echo "bench exit_leaks_s $leaks s"
awk -v a="$leaks" -v b="$plain" -v n="$N" 'BEGIN { printf "bench leaks_at_exit_added_s_per_million %.2f s\n", (a - b) * 1e6 / n }'
LD_PRELOAD="$RUNTIME_LIB" ALLOCS_LEAKS=1 "$exe" exit "$N" 2>&1 | grep -E '^allocs: (definitely|indirectly)'
if command -v valgrind >/dev/null; then
  echo "== valgrind memcheck's leak check on the same program (without the runtime)"
  vg=$(wall valgrind --leak-check=full --run-libc-freeres=no "$exe" exit "$N")
  echo "bench memcheck_s $vg s"
  valgrind --leak-check=summary --run-libc-freeres=no "$exe" exit "$N" 2>&1 | grep -E 'definitely|indirectly'
fi
