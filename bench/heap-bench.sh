#!/usr/bin/env bash
# Heap cost of the runtime, measured against a baseline in the same run:
#   binary-trees (16-byte nodes, millions of malloc/free): wall time and peak RSS, plain vs
#   preloaded, alternating repetitions, medians, minimums and ratios (budget: time <= 1.5x,
#   RSS <= 1.3x);
#   heap-lookup: alloc_get_size on heap interior pointers, median ns (budget: <= 100 ns).
# Usage: bash bench/heap-bench.sh [DEPTH] [REPS]
source "$(dirname "$0")/lib.sh"
DEPTH=${1:-18}
REPS=${2:-7}
gcc -O2 -o "$BENCH_OUT/binary-trees" bench/binary-trees.c
gcc -O2 -Iruntime/include -o "$BENCH_OUT/heap-lookup" bench/heap-lookup.c runtime/build/liballocs_stub.so \
  -Wl,-rpath,"$PWD/runtime/build"

# One run: prints "wall_seconds user+sys_seconds peak_rss_kib". CPU time is printed too because
# these shared machines are often loaded, which inflates wall time of either run at random.
measure() {
  local f
  f=$(mktemp)
  if [ "$1" = preload ]; then
    LD_PRELOAD=$RUNTIME_LIB /usr/bin/time -f "%e %U %S %M" -o "$f" "$BENCH_OUT/binary-trees" "$DEPTH" >/dev/null
  else
    env -u LD_PRELOAD /usr/bin/time -f "%e %U %S %M" -o "$f" "$BENCH_OUT/binary-trees" "$DEPTH" >/dev/null
  fi
  awk '{ printf "%s %.2f %s\n", $1, $2 + $3, $4 }' "$f"
  rm -f "$f"
}

plain_t=() plain_c=() plain_m=() pre_t=() pre_c=() pre_m=()
measure plain >/dev/null # warm caches
for ((i = 0; i < REPS; i++)); do
  read -r t c m < <(measure plain)
  plain_t+=("$t") plain_c+=("$c") plain_m+=("$m")
  read -r t c m < <(measure preload)
  pre_t+=("$t") pre_c+=("$c") pre_m+=("$m")
done
minimum() { sort -g | head -1; }
stat() { printf '%s\n' "$@" | "$STAT"; }
for STAT in median minimum; do
  pt=$(stat "${plain_t[@]}") pc=$(stat "${plain_c[@]}") pm=$(stat "${plain_m[@]}")
  qt=$(stat "${pre_t[@]}") qc=$(stat "${pre_c[@]}") qm=$(stat "${pre_m[@]}")
  echo "binary-trees depth $DEPTH, $REPS alternating runs each, ${STAT}s (load average: $(cut -d' ' -f1 /proc/loadavg)):"
  echo "  plain:     wall ${pt}s  cpu ${pc}s  peak RSS ${pm} KiB"
  echo "  preloaded: wall ${qt}s  cpu ${qc}s  peak RSS ${qm} KiB"
  awk -v a="$qt" -v b="$pt" -v e="$qc" -v f="$pc" -v c="$qm" -v d="$pm" \
    'BEGIN { printf "  ratio: wall %.2fx, cpu %.2fx (budget 1.50x); peak RSS %.2fx (budget 1.30x)\n", a / b, e / f, c / d }'
done
echo "  (on a shared machine other tenants only ever add time, so the ratio of minimums is the"
echo "   steadier figure; the medians move with the load)"
LD_PRELOAD=$RUNTIME_LIB "$BENCH_OUT/heap-lookup" | sed 's/^/  /'
