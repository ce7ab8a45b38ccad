#!/usr/bin/env bash
# Runs test-programs/levels_stress (threads, timer signals that map and query, dlopen/dlclose,
# and with MODE=fork a fork in a loop) under the preload RUNS times, and reports every run that
# hung (killed after 30 s) or answered a query wrongly. The mocha test runs it 3 times per mode;
# races in the runtime's fork handling show up at rates of 1 in 100s of runs, so look for them
# here, with load alongside for other timings (e.g. `npx mocha` in another shell).
# A hung run is left for `gdb -p PID -batch -ex "thread apply all bt"` when HOLD=1.
# Usage: bash scripts/stress-levels.sh [RUNS] [MODE: fork|threads]
source "$(dirname "$0")/../bench/lib.sh"
RUNS=${1:-200}
MODE=${2:-fork}
npx tsc -p . >/dev/null
node -e 'const p = require("./dist/tests/lib/programs.js");
  p.buildProgram("levels_dso", { shared: true });
  p.buildProgram("levels_stress", { api: true, cflags: ["-O2"], variant: "O2" });'
exe=test-programs/build/levels_stress-O2-gcc
dso=test-programs/build/levels_dso-gcc.so
out=$BENCH_OUT/stress-$MODE-$$.out
hangs=0 bad=0
for ((i = 1; i <= RUNS; i++)); do
  LD_PRELOAD=$RUNTIME_LIB "$exe" "$dso" "$MODE" >"$out" 2>&1 &
  pid=$!
  for ((t = 0; t < 300; t++)); do
    sleep 0.1
    kill -0 "$pid" 2>/dev/null || break
  done
  if kill -0 "$pid" 2>/dev/null; then
    hangs=$((hangs + 1))
    echo "run $i: HUNG (pid $pid)"
    if [ "${HOLD:-0}" = 1 ]; then echo "left running for gdb -p $pid"; exit 1; fi
    kill -9 "$pid" $(pgrep -P "$pid") 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
    continue
  fi
  wait "$pid" || true
  if ! grep -q "mismatches=0 queries_ok=1 handler_ok=1 children_ok=1" "$out"; then
    bad=$((bad + 1))
    echo "run $i: $(grep -m3 -E 'mismatch|child failed|children answered|^after' "$out" || tail -1 "$out")"
  fi
  if ((i % 50 == 0 && i < RUNS)); then
    echo "... $i runs, $hangs hung, $bad with wrong answers (load average $(cut -d' ' -f1 /proc/loadavg))"
  fi
done
echo "levels_stress $MODE: $RUNS runs, $hangs hung, $bad with wrong answers"
rm -f "$out"
