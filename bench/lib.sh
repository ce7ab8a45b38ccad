# What the benchmarks share; a bench script sources it first: `source "$(dirname "$0")/lib.sh"`.
# It works from the repository's root, builds the runtime (a bench measures the current source),
# and names where builds go (BENCH_OUT) and the runtime library to preload (RUNTIME_LIB).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
BENCH_OUT=bench/build
RUNTIME_LIB=$PWD/runtime/build/liballocs.so
mkdir -p "$BENCH_OUT"
make -s -C runtime

# The median of the numbers on stdin, one a line (the mean of the middle two for an even count).
median() { sort -g | awk '{ a[NR] = $1 } END { print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }
