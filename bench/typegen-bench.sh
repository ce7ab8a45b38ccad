#!/usr/bin/env bash
# typegen vs pahole on the same debug file, in one run: wall time and peak RSS of each (best of
# N runs, alternating so machine load hits both alike), and typegen's ratio to pahole.
# Usage: bench/typegen-bench.sh [FILE...]   (default: libc's debug file from libc6-dbg, and
# python3.11d if python3.11-dbg is installed). Needs: node, pahole (dwarves), GNU time.
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${RUNS:-3}
DUMP=dist/typegen/src/tools/dump.js
[ -f "$DUMP" ] || npx tsc -p .
command -v pahole >/dev/null || { echo "pahole not installed (apt-get install dwarves)"; exit 2; }
[ -x /usr/bin/time ] || { echo "/usr/bin/time not installed (apt-get install time)"; exit 2; }

files=("$@")
if [ ${#files[@]} -eq 0 ]; then
  libc=/lib/x86_64-linux-gnu/libc.so.6
  id=$(readelf -n "$libc" | sed -n 's/.*Build ID: //p')
  [ -n "$id" ] && [ -f "/usr/lib/debug/.build-id/${id:0:2}/${id:2}.debug" ] && files+=("/usr/lib/debug/.build-id/${id:0:2}/${id:2}.debug")
  [ -f /usr/bin/python3.11d ] && files+=(/usr/bin/python3.11d)
fi
[ ${#files[@]} -gt 0 ] || { echo "no input files (install libc6-dbg or pass a file)"; exit 2; }

measure() { # prints "seconds kilobytes" of the best run
  local best_t=999999 best_m=0 out t m tf
  tf=$(mktemp)
  for _ in $(seq "$RUNS"); do
    /usr/bin/time -o "$tf" -f "%e %M" "$@" >/dev/null 2>&1
    out=$(tail -1 "$tf")
    t=${out% *}; m=${out#* }
    if awk "BEGIN{exit !($t < $best_t)}"; then best_t=$t; best_m=$m; fi
  done
  rm -f "$tf"
  echo "$best_t $best_m"
}

printf "%-60s %10s %10s %10s %10s %8s %8s\n" file typegen_s pahole_s typegen_MB pahole_MB time_x rss_x
for f in "${files[@]}"; do
  read -r tt tm < <(measure node "$DUMP" "$f")
  read -r pt pm < <(measure pahole "$f")
  awk -v f="$f" -v tt="$tt" -v pt="$pt" -v tm="$tm" -v pm="$pm" 'BEGIN{
    printf "%-60s %10.2f %10.2f %10.0f %10.0f %8.2f %8.2f\n", f, tt, pt, tm/1024, pm/1024, tt/pt, tm/pm }'
done
