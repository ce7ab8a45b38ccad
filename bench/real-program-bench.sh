#!/usr/bin/env bash
# A real program nobody here wrote: Debian's python3 running a short allocation-heavy script,
# with and without the runtime preloaded, interleaved in one run. Budget (issue 2): <= 1.05x.
# Prints the median wall time and CPU time (user+sys) of each, and their ratios.
# Usage: bash bench/real-program-bench.sh [RUNS]
source "$(dirname "$0")/lib.sh"
runs=${1:-21}
script=$(mktemp --suffix=.py)
trap 'rm -f "$script"' EXIT
cat >"$script" <<'PY'
# Builds and drops dicts, lists and strings: the allocator is busy the whole time.
import json
rows = [{"id": i, "name": "item%d" % i, "tags": [str(j) for j in range(i % 7)]} for i in range(60000)]
text = json.dumps(rows)
back = json.loads(text)
print(len(text), sum(len(r["tags"]) for r in back))
PY
py=/usr/bin/python3
measure() { # prints "wall_ms cpu_ms" for one run
  local t0 t1
  t0=$(date +%s%N)
  local times
  times=$( { /usr/bin/time -f "%U %S" "$@" >/dev/null; } 2>&1 | tail -1)
  t1=$(date +%s%N)
  awk -v w=$(( (t1 - t0) / 1000000 )) -v t="$times" 'BEGIN { split(t, a, " "); printf "%d %d\n", w, (a[1] + a[2]) * 1000 }'
}
plain_w=() plain_c=() pre_w=() pre_c=()
expected=$("$py" "$script")
[ "$(LD_PRELOAD=$RUNTIME_LIB "$py" "$script")" = "$expected" ] || { echo "output differs with the preload" >&2; exit 1; }
for _ in $(seq "$runs"); do
  read -r w c < <(measure "$py" "$script"); plain_w+=("$w"); plain_c+=("$c")
  read -r w c < <(measure env LD_PRELOAD="$RUNTIME_LIB" "$py" "$script"); pre_w+=("$w"); pre_c+=("$c")
done
pw=$(printf '%s\n' "${plain_w[@]}" | median); pc=$(printf '%s\n' "${plain_c[@]}" | median)
rw=$(printf '%s\n' "${pre_w[@]}" | median); rc=$(printf '%s\n' "${pre_c[@]}" | median)
echo "python3 script, $runs interleaved runs each (load average: $(cut -d' ' -f1 /proc/loadavg))"
echo "  plain:     wall ${pw} ms, cpu ${pc} ms"
echo "  preloaded: wall ${rw} ms, cpu ${rc} ms"
awk -v a="$rw" -v b="$pw" -v c="$rc" -v d="$pc" 'BEGIN { printf "  ratio: wall %.3fx, cpu %.3fx (budget 1.05x)\n", a / b, c / d }'
