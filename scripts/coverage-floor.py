#!/usr/bin/python3
"""The coverage floor (tests/coverage-floor.json): line coverage of the TypeScript (c8) and of the
bridge's Python (coverage.py) may not fall below it, and the floor itself only rises.

  coverage-floor.py            measure the Python (the decoder's unit tests, plus whatever gdb or
                               LLDB runs left under COVERAGE_FILE), read c8's summary of the last
                               `c8 mocha`, fail if either is below the floor
  coverage-floor.py --raise    the same, then raise the floor to what was measured
  coverage-floor.py --history  fail if any commit lowered the floor (run by scripts/lint.sh)
"""
import glob
import json
import math
import os
import subprocess
import sys
from typing import Dict, List

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FLOOR = "tests/coverage-floor.json"
TS_SUMMARY = os.path.join(ROOT, ".test-output", "coverage-ts", "coverage-summary.json")
PY_DIR = os.path.join(ROOT, ".test-output", "coverage-py")
BRIDGE = os.path.join(ROOT, "gdb-python-bridge")
COVERAGE = ["/usr/bin/python3", "-m", "coverage"]


def read_floor() -> Dict[str, float]:
    with open(os.path.join(ROOT, FLOOR)) as f:
        return {k: float(v) for k, v in json.load(f).items() if not k.startswith("_")}


def measure_ts() -> float:
    if not os.path.exists(TS_SUMMARY):
        sys.exit(f"coverage: no {os.path.relpath(TS_SUMMARY, ROOT)}: run `npx c8 mocha` first")
    with open(TS_SUMMARY) as f:
        return float(json.load(f)["total"]["lines"]["pct"])


def measure_python() -> float:
    """Runs the decoder's unit tests under coverage.py and combines their data with any left in
    .test-output/coverage-py by gdb or LLDB runs (COVERAGE_PROCESS_START)."""
    os.makedirs(PY_DIR, exist_ok=True)
    env = dict(os.environ, COVERAGE_FILE=os.path.join(PY_DIR, ".coverage"))
    rc = os.path.join(BRIDGE, ".coveragerc")
    run = subprocess.run(COVERAGE + ["run", f"--rcfile={rc}", "-m", "unittest", "discover", "-s", "tests"],
                         cwd=BRIDGE, env=env, capture_output=True, text=True)
    if run.returncode != 0:
        sys.exit(f"coverage: the decoder's unit tests failed:\n{run.stderr}")
    data = glob.glob(os.path.join(PY_DIR, ".coverage.*"))
    subprocess.run(COVERAGE + ["combine", f"--rcfile={rc}", "-q"] + data, cwd=BRIDGE, env=env, check=True)
    out = os.path.join(PY_DIR, "coverage.json")
    subprocess.run(COVERAGE + ["json", f"--rcfile={rc}", "-q", "-o", out], cwd=BRIDGE, env=env, check=True)
    with open(out) as f:
        return float(json.load(f)["totals"]["percent_covered"])


def check_history() -> None:
    """Every committed version of the floor is at least the one before it."""
    revs = subprocess.run(["git", "log", "--reverse", "--format=%H", "--", FLOOR], cwd=ROOT,
                          capture_output=True, text=True, check=True).stdout.split()
    before: Dict[str, float] = {}
    for rev in revs:
        text = subprocess.run(["git", "show", f"{rev}:{FLOOR}"], cwd=ROOT, capture_output=True, text=True)
        if text.returncode != 0:
            continue  # the file deleted in that commit
        floor = {k: float(v) for k, v in json.loads(text.stdout).items() if not k.startswith("_")}
        lowered = [k for k, v in before.items() if floor.get(k, 0.0) < v]
        if lowered:
            sys.exit(f"coverage: commit {rev[:12]} lowered the floor of {', '.join(lowered)} "
                     f"({FLOOR} only rises)")
        before = floor
    now = read_floor()
    lowered = [k for k, v in before.items() if now.get(k, 0.0) < v]
    if lowered:
        sys.exit(f"coverage: {FLOOR} lowers the floor of {', '.join(lowered)} (it only rises)")


def main(argv: List[str]) -> None:
    if argv == ["--history"]:
        check_history()
        return
    floor = read_floor()
    measured = {"typescriptLines": measure_ts(), "pythonLines": measure_python()}
    low = []
    for key, pct in measured.items():
        print(f"coverage: {key} {pct:.1f}% (floor {floor.get(key, 0.0):.1f}%)")
        if pct < floor.get(key, 0.0):
            low.append(key)
    if low:
        sys.exit(f"coverage: below the floor: {', '.join(low)}")
    if argv == ["--raise"]:
        with open(os.path.join(ROOT, FLOOR)) as f:
            data = json.load(f)
        for key, pct in measured.items():
            data[key] = max(floor.get(key, 0.0), math.floor(pct * 10) / 10)
        with open(os.path.join(ROOT, FLOOR), "w") as f:
            json.dump(data, f, indent=2)
            f.write("\n")
        print(f"coverage: {FLOOR} raised")


if __name__ == "__main__":
    main(sys.argv[1:])
