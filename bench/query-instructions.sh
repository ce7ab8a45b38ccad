#!/usr/bin/env bash
# The C API's query cost in instructions (callgrind), which load does not blur: alloc_get_base,
# alloc_get_type and alloc_describe on a heap, a static, a stack and an mmap address
# (query-instructions.c), for the current runtime and for the runtime at an older commit,
# built from `git archive` in bench/build (default: 9566366, the hand-written composition
# order before the allocator table, issue 12). A count, not a verdict.
# Usage: bash bench/query-instructions.sh [COMMIT]
source "$(dirname "$0")/lib.sh"
OLD=${1:-9566366}
command -v valgrind >/dev/null || { echo "valgrind is needed (apt-get install valgrind)"; exit 1; }
old_dir=$BENCH_OUT/runtime-$OLD
if [ ! -f "$old_dir/build/liballocs.so" ]; then
  rm -rf "$old_dir" && mkdir -p "$old_dir"
  git archive "$OLD" runtime | tar -x -C "$old_dir" --strip-components=1
  make -s -C "$old_dir" build/liballocs.so
fi
gcc -O2 -g -Iruntime/include -o "$BENCH_OUT/query-instructions" bench/query-instructions.c \
  runtime/build/liballocs_stub.so -Wl,-rpath,"$PWD/runtime/build"
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg) (instruction counts do not depend on it)"

# Inclusive instructions of each bench_* loop function, divided by its N calls.
count() {
  local out
  out=$(mktemp)
  LD_PRELOAD=$1 ALLOCS_META=off valgrind --tool=callgrind --callgrind-out-file="$out" \
    "$BENCH_OUT/query-instructions" >/dev/null 2>&1
  callgrind_annotate --inclusive=yes "$out" 2>/dev/null |
    sed -nE 's/^ *([0-9,]+) .*query-instructions\.c:(base|type|describe)_(heap|static|stack|mmap) .*/\2_\3 \1/p' |
    tr -d ','
  rm -f "$out"
}
count "$PWD/$old_dir/build/liballocs.so" >"$BENCH_OUT/query-old.txt"
count "$RUNTIME_LIB" >"$BENCH_OUT/query-new.txt"
python3 - "$BENCH_OUT/query-old.txt" "$BENCH_OUT/query-new.txt" "$OLD" <<'PY'
import sys
N = 20000
def read(path):
    return {k: int(v) / N for k, v in (line.split() for line in open(path))}
old, new, commit = read(sys.argv[1]), read(sys.argv[2]), sys.argv[3]
print(f"instructions per call (callgrind, {N} calls each, ALLOCS_META=off)")
print(f"{'query':10} {'address':8} {commit:>10} {'current':>10} {'change':>8}")
for q in ("base", "type", "describe"):
    for kind in ("heap", "static", "stack", "mmap"):
        k = f"{q}_{kind}"
        if k in old and k in new:
            print(f"{q:10} {kind:8} {old[k]:10.0f} {new[k]:10.0f} {new[k] - old[k]:+8.0f}")
PY
