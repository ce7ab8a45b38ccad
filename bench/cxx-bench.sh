#!/usr/bin/env bash
# C++ heap cost of the runtime (operator new/delete, runtime/src/heap_cxx.c), measured against a
# baseline in the same run: bench/cxx-alloc.cpp (small objects through new/delete, vector,
# map, string, make_shared), plain vs preloaded, alternating repetitions, CPU time medians and
# minimums and their ratios (budget: 1.25x).
# Usage: [CXXFLAGS=-O0] [META=1] bash bench/cxx-bench.sh [ROUNDS] [REPS]
# META=1 builds with -g and writes the program's metadata (`allocs typegen`) first, so the
# preloaded runs also pay for what metadata adds: a container's allocation stepping over the
# standard library's frames to the user's call (one site-cache probe and one load per frame;
# at -O0 about five frames for a vector's push_back, six for a map's insert).
source "$(dirname "$0")/lib.sh"
ROUNDS=${1:-40}
REPS=${2:-7}
read -r -a flags <<<"${CXXFLAGS:--O2}"
if [ "${META:-0}" = 1 ]; then
  g++ -g "${flags[@]}" -o "$BENCH_OUT/cxx-alloc" bench/cxx-alloc.cpp
  node bin/allocs.js typegen --quiet "$BENCH_OUT/cxx-alloc"
else
  rm -f "$BENCH_OUT/cxx-alloc.allocsmeta"
  g++ "${flags[@]}" -o "$BENCH_OUT/cxx-alloc" bench/cxx-alloc.cpp
fi

# One run: prints "wall_seconds user+sys_seconds peak_rss_kib".
measure() {
  local f
  f=$(mktemp)
  if [ "$1" = preload ]; then
    LD_PRELOAD=$RUNTIME_LIB /usr/bin/time -f "%e %U %S %M" -o "$f" "$BENCH_OUT/cxx-alloc" "$ROUNDS" >/dev/null
  else
    env -u LD_PRELOAD /usr/bin/time -f "%e %U %S %M" -o "$f" "$BENCH_OUT/cxx-alloc" "$ROUNDS" >/dev/null
  fi
  awk '{ printf "%s %.2f %s\n", $1, $2 + $3, $4 }' "$f"
  rm -f "$f"
}

[ "$("$BENCH_OUT/cxx-alloc" 2)" = "$(LD_PRELOAD=$RUNTIME_LIB "$BENCH_OUT/cxx-alloc" 2)" ] || {
  echo "cxx-alloc: output differs under the preload" >&2
  exit 1
}
plain_c=() pre_c=() plain_m=() pre_m=()
measure plain >/dev/null # warm caches
for ((i = 0; i < REPS; i++)); do
  read -r _ c m < <(measure plain)
  plain_c+=("$c") plain_m+=("$m")
  read -r _ c m < <(measure preload)
  pre_c+=("$c") pre_m+=("$m")
done
minimum() { sort -g | head -1; }
stat() { printf '%s\n' "$@" | "$STAT"; }
for STAT in median minimum; do
  pc=$(stat "${plain_c[@]}") qc=$(stat "${pre_c[@]}") pm=$(stat "${plain_m[@]}") qm=$(stat "${pre_m[@]}")
  echo "cxx-alloc $ROUNDS rounds, $REPS alternating runs each, ${STAT}s (load average: $(cut -d' ' -f1 /proc/loadavg)):"
  echo "  plain: cpu ${pc}s  peak RSS ${pm} KiB;  preloaded: cpu ${qc}s  peak RSS ${qm} KiB"
  awk -v a="$qc" -v b="$pc" -v c="$qm" -v d="$pm" \
    'BEGIN { printf "  ratio: cpu %.2fx (budget 1.25x); peak RSS %.2fx\n", a / b, c / d }'
done
