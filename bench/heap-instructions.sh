#!/usr/bin/env bash
# The runtime's heap cost in instructions, which a loaded machine does not blur (a count, not a
# verdict: the budgets are CPU time, measured by heap-bench.sh on a quiet machine):
#   binary-trees DEPTH under callgrind, plain and preloaded: instructions and their ratio, and
#   the runtime's instructions per malloc/free pair;
#   heap-lookup under cachegrind (cache simulation): instructions and D1 read misses per
#   alloc_get_size call, counted over the runtime's own functions.
# Usage: bash bench/heap-instructions.sh [DEPTH]   (valgrind; depth 16 takes about a minute)
source "$(dirname "$0")/lib.sh"
DEPTH=${1:-16}
command -v valgrind >/dev/null || { echo "valgrind is needed (apt-get install valgrind)"; exit 1; }
gcc -O2 -o "$BENCH_OUT/binary-trees" bench/binary-trees.c
gcc -O2 -Iruntime/include -o "$BENCH_OUT/heap-lookup" bench/heap-lookup.c runtime/build/liballocs_stub.so \
  -Wl,-rpath,"$PWD/runtime/build"
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg) (instruction counts do not depend on it)"

refs() { grep -o 'refs: *[0-9,]*' | tr -d ', ' | cut -d: -f2; }
plain=$(env -u LD_PRELOAD valgrind --tool=callgrind --callgrind-out-file=/dev/null \
  "$BENCH_OUT/binary-trees" "$DEPTH" 2>&1 >/dev/null | refs)
pre=$(LD_PRELOAD=$RUNTIME_LIB valgrind --tool=callgrind --callgrind-out-file=/dev/null \
  "$BENCH_OUT/binary-trees" "$DEPTH" 2>&1 >/dev/null | refs)
# malloc/free pairs binary-trees makes: the stretch tree, the long-lived tree, and the trees of
# each even depth from 4 (2^(DEPTH-d+4) trees of 2^(d+1)-1 nodes)
pairs=$(python3 -c "
D = $DEPTH
n = (1 << (D + 2)) - 1 + (1 << (D + 1)) - 1
for d in range(4, D + 1, 2):
    n += (1 << (D - d + 4)) * ((1 << (d + 1)) - 1)
print(n)")
python3 -c "
plain, pre, pairs = $plain, $pre, $pairs
print(f'binary-trees $DEPTH under callgrind: plain {plain / 1e6:,.0f}M instructions, preloaded '
      f'{pre / 1e6:,.0f}M: {pre / plain:.3f}x; the runtime adds {(pre - plain) / pairs:.0f} per '
      f'malloc/free pair ({pairs:,} pairs)')"

out=$(mktemp)
LD_PRELOAD=$RUNTIME_LIB valgrind --tool=cachegrind --cache-sim=yes --cachegrind-out-file="$out" \
  "$BENCH_OUT/heap-lookup" >/dev/null 2>&1
# heap-lookup makes 2 x 31 x 20000 timed calls and 2 x 1000 checked ones; everything the runtime
# runs for them is in these functions (inlined parts included), whichever exist in this build.
cg_annotate --show=Ir,D1mr "$out" 2>/dev/null | python3 -c "
import re, sys
calls = 2 * 31 * 20000 + 2000
funcs = r'(heap_find_size|map_prev|alloc_get_size|get_size_general|chunk_prev|heap_find_chunk|fill_chunk|find_leaf|allocators_find_leaf|where_chunk|pool_describe|malloc_describe|region_map|heap_site_pc|rt_allocator)'
ir = d1 = 0
for line in sys.stdin:
    if not re.search(r'runtime/src/\w+\.[ch]:' + funcs + r'\b', line):
        continue
    nums = [int(x.replace(',', '')) for x in re.findall(r'(?:^|\s)([\d,]+)(?=\s)', re.sub(r'\([^)]*\)', ' ', line))]
    ir += nums[0]
    d1 += nums[1] if len(nums) > 1 else 0
print(f'alloc_get_size under cachegrind: {ir / calls:.0f} instructions and {d1 / calls:.2f} D1 read '
      f'misses per call (half the calls over 1,000 chunks, half over 200,000)')"
rm -f "$out"
