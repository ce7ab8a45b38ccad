#!/usr/bin/env bash
# A real program nobody here wrote: Debian's python3 running a short allocation-heavy script,
# with and without the runtime preloaded, interleaved in one run. Budget (issue 2): <= 1.05x.
# Alternated by bench/compare.py: ratio of minimum CPU times, wall medians, peak RSS.
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
expected=$("$py" "$script")
[ "$(LD_PRELOAD=$RUNTIME_LIB "$py" "$script")" = "$expected" ] || { echo "output differs with the preload" >&2; exit 1; }
echo "python3 running an allocation-heavy script: plain vs the runtime preloaded"
python3 bench/compare.py --reps "$runs" --name-a plain --name-b preloaded --cpu-budget 1.05 --wall-budget 1.05 \
  -- env -u LD_PRELOAD "$py" "$script" \
  --- env LD_PRELOAD="$RUNTIME_LIB" "$py" "$script"
