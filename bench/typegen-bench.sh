#!/usr/bin/env bash
# typegen vs pahole on the same debug file, in one run: wall time, CPU time (user+sys, all
# threads) and peak RSS of each (best of N runs each), and typegen's ratios to pahole. CPU time
# is the steadier figure on a shared machine; wall time is what the budget (2x pahole) is about.
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

measure() { # prints "wall cpu kilobytes" of the best (lowest wall) run
  local best_t=999999 best_c=0 best_m=0 t u s m tf
  tf=$(mktemp)
  for _ in $(seq "$RUNS"); do
    /usr/bin/time -o "$tf" -f "%e %U %S %M" "$@" >/dev/null 2>&1
    read -r t u s m < <(tail -1 "$tf")
    if awk "BEGIN{exit !($t < $best_t)}"; then
      best_t=$t
      best_c=$(awk "BEGIN{print $u + $s}")
      best_m=$m
    fi
  done
  rm -f "$tf"
  echo "$best_t $best_c $best_m"
}

# Load from other jobs changes wall times a lot on a shared machine: say what it was.
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
printf "%-40s %9s %9s %9s %9s %9s %9s %7s %7s %7s\n" file tg_wall pa_wall tg_cpu pa_cpu tg_MB pa_MB wall_x cpu_x rss_x
for f in "${files[@]}"; do
  # Alternate the two tools so a burst of load from elsewhere hits both alike.
  read -r tt tc tm < <(measure node "$DUMP" "$f")
  read -r pt pc pm < <(measure pahole "$f")
  awk -v f="$(basename "$f")" -v tt="$tt" -v pt="$pt" -v tc="$tc" -v pc="$pc" -v tm="$tm" -v pm="$pm" 'BEGIN{
    printf "%-40s %9.2f %9.2f %9.2f %9.2f %9.0f %9.0f %7.2f %7.2f %7.2f\n",
      substr(f, 1, 40), tt, pt, tc, pc, tm/1024, pm/1024, tt/pt, tc/pc, tm/pm }'
done
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
