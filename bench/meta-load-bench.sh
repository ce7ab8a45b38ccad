#!/usr/bin/env bash
# Metadata load at program start (budget: <= 5 ms for a binary with 10k types). Generates a C
# program with N structs (each with a global, so its struct and pointer types are in the DWARF),
# writes its metadata with `allocs typegen`, and times start-up: no runtime, the runtime with
# ALLOCS_META=off, the runtime loading the metadata (medians of RUNS interleaved runs, wall and
# CPU time), then the runtime's own measure of the load (ALLOCS_META_STATS=1, median of RUNS).
# OLDLIB=path/to/liballocs.so adds that build loading the same metadata (before/after, same run).
# Usage: bash bench/meta-load-bench.sh [NSTRUCTS] [RUNS]
source "$(dirname "$0")/lib.sh"
N=${1:-5000}
RUNS=${2:-101}
SRC="$BENCH_OUT/meta-load-types.c"
{
  echo "struct s0 { int a; long b; };"
  echo "struct s0 g0;"
  for ((i = 1; i < N; i++)); do
    echo "struct s$i { int a; long b; struct s$((i - 1)) *p; double d[$((i % 7 + 1))]; } g$i;"
  done
  echo "int main(void) { return 0; }"
} >"$SRC"
gcc -g -O0 -o "$BENCH_OUT/meta-load-types" "$SRC"
node bin/allocs.js typegen "$BENCH_OUT/meta-load-types" --verbose
node -e '
const {readMeta}=require("./dist/typegen/src/meta/reader");
const m=readMeta(require("fs").readFileSync(process.argv[1]));
console.log(`metadata: ${m.types.length} types, ${m.members.length} members, ${m.statics.length} statics`);
' "$BENCH_OUT/meta-load-types.allocsmeta"
gcc -O2 -o "$BENCH_OUT/meta-load-bench" bench/meta-load-bench.c
"$BENCH_OUT/meta-load-bench" "$RUNS" "$RUNTIME_LIB" "$PWD/$BENCH_OUT/meta-load-types" \
  ${OLDLIB:+"$OLDLIB"}
