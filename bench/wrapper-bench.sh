#!/usr/bin/env bash
# Allocation wrappers at no extra cost (issue 9): a wrapper-heavy program run plain, with the
# runtime preloaded and its wrappers found by `allocs typegen` (metadata: the wrapper's caller is
# one load away), and preloaded with the same wrappers declared the old way
# (LIBALLOCS_ALLOC_FNS, no metadata: each allocation unwinds). Budget: preloaded <= 1.10x plain.
# Programs: bench/wrapper-trees.c (binary-trees through new_node -> xmalloc -> malloc) and, when
# tests/runtime/real-programs has built it, Debian's jq 1.6 (everything through jv_mem_alloc)
# on a generated JSON document; and wrapper-trees built with -DDIRECT (malloc called directly),
# the reference for what wrappers add. Interleaved runs; medians of CPU time (user+sys).
# Usage: bash bench/wrapper-bench.sh [RUNS] [DEPTH]
source "$(dirname "$0")/lib.sh"
runs=${1:-7}
depth=${2:-16}
gcc -g -O2 -o "$BENCH_OUT/wrapper-trees" bench/wrapper-trees.c
node bin/allocs.js typegen "$BENCH_OUT/wrapper-trees" 2>/dev/null
gcc -g -O2 -DDIRECT -o "$BENCH_OUT/direct-trees" bench/wrapper-trees.c
node bin/allocs.js typegen "$BENCH_OUT/direct-trees" 2>/dev/null
jq=test-programs/build/real/jq-O2
json=$BENCH_OUT/wrapper-bench.json
if [ -x "$jq" ]; then
  [ -f "$jq.allocsmeta" ] || node bin/allocs.js typegen "$jq" 2>/dev/null
  python3 -c 'import json; print(json.dumps([{"id": i, "name": "item%d" % i, "tags": [str(j) for j in range(i % 7)], "pos": {"x": i * 0.5, "y": -i}} for i in range(40000)]))' >"$json"
fi

cpu_ms() { # runs "$@", prints user+sys in ms
  local f
  f=$(mktemp)
  /usr/bin/time -f "%U %S" -o "$f" "$@" >/dev/null
  awk '{ printf "%d\n", ($1 + $2) * 1000 }' "$f"
  rm -f "$f"
}

bench() { # NAME DECLS CMD...: three variants interleaved
  local name=$1 decls=$2
  shift 2
  local p=() a=() d=()
  for _ in $(seq "$runs"); do
    p+=("$(cpu_ms env -u LD_PRELOAD "$@")")
    a+=("$(cpu_ms env LD_PRELOAD="$RUNTIME_LIB" "$@")")
    d+=("$(cpu_ms env LD_PRELOAD="$RUNTIME_LIB" ALLOCS_META=off LIBALLOCS_ALLOC_FNS="$decls" "$@")")
  done
  local pm am dm
  pm=$(printf '%s\n' "${p[@]}" | median)
  am=$(printf '%s\n' "${a[@]}" | median)
  dm=$(printf '%s\n' "${d[@]}" | median)
  echo "$name, $runs interleaved runs each, median CPU (load average: $(cut -d' ' -f1 /proc/loadavg)):"
  echo "  plain:                         ${pm} ms"
  awk -v x="$am" -v b="$pm" 'BEGIN { printf "  preloaded, wrappers found:     %d ms  %.3fx (budget 1.10x)\n", x, x / b }'
  awk -v x="$dm" -v b="$pm" 'BEGIN { printf "  preloaded, wrappers declared:  %d ms  %.3fx (the old way: unwinding)\n", x, x / b }'
}

bench "wrapper-trees depth $depth" "xmalloc(Z)p" "$BENCH_OUT/wrapper-trees" "$depth"
# The reference: the same trees with malloc called directly (what the wrappers may add to).
bench "wrapper-trees -DDIRECT (no wrappers) depth $depth" "" "$BENCH_OUT/direct-trees" "$depth"
if [ -x "$jq" ]; then
  bench "jq 1.6 . on a $(( $(stat -c %s "$json") / 1024 )) KiB document" \
    "jv_mem_alloc(Z)p jv_mem_calloc(zZ)p jv_mem_realloc(pZ)p" "$jq" . "$json"
fi
