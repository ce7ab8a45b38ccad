#!/usr/bin/env python3
"""Times two commands against each other the way every budget here is judged.

The two commands run alternately (a burst of load from elsewhere hits both alike), each after
one untimed warm-up run. For each run it takes wall time, CPU time (user + sys of the command and
its children, from wait4) and peak RSS. It prints the machine (CPU model, cores, load average
before and after), medians and minimums of each, and the ratios of B to A: the ratio of minimum
CPU times is the steady figure (other tenants only ever add time), the wall medians are what a
user meets today.

A budget (--cpu-budget, --wall-budget, --rss-budget) is reported as met or not met only when the
machine was quiet: the 1-minute load average before the first run below --quiet-load (default
1.0, i.e. nothing else was running on these 2 cores). Otherwise the verdict is "not judged",
because load shrinks ratios towards 1 and flatters the slower command.

Usage:
  compare.py [--reps N] [--cpu-budget X] [--wall-budget X] [--rss-budget X]
             [--name-a A] [--name-b B] [--json] -- CMD_A... --- CMD_B...
Each command is an argv (no shell). Its stdout and stderr are discarded unless --show-output.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field


@dataclass
class Runs:
    name: str
    argv: list[str]
    wall: list[float] = field(default_factory=list)
    cpu: list[float] = field(default_factory=list)
    rss_kib: list[int] = field(default_factory=list)


def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return "unknown CPU"


def load_average() -> tuple[float, float, float]:
    a, b, c = os.getloadavg()
    return (a, b, c)


def run_once(argv: list[str], show_output: bool) -> tuple[float, float, int]:
    """Wall seconds, CPU seconds (user + sys, children included) and peak RSS in KiB."""
    out = None if show_output else subprocess.DEVNULL
    t0 = time.perf_counter()
    proc = subprocess.Popen(argv, stdout=out, stderr=out, stdin=subprocess.DEVNULL)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t0
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise SystemExit(f"compare: {' '.join(argv)} exited with {proc.returncode}")
    return wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss


def verdict(ratio: float, budget: float | None, quiet: bool, load: float, limit: float) -> str:
    if budget is None:
        return ""
    if not quiet:
        return f"budget {budget:.2f}x: not judged (load average {load:.2f} >= {limit:.2f} before the run)"
    return f"budget {budget:.2f}x: {'met' if ratio <= budget else 'NOT met'}"


def main() -> int:
    argv = sys.argv[1:]
    if "--" not in argv or "---" not in argv:
        print(__doc__, file=sys.stderr)
        return 2
    opts_end = argv.index("--")
    sep = argv.index("---")
    p = argparse.ArgumentParser(prog="compare.py")
    p.add_argument("--reps", type=int, default=7)
    p.add_argument("--name-a", default="A")
    p.add_argument("--name-b", default="B")
    p.add_argument("--cpu-budget", type=float)
    p.add_argument("--wall-budget", type=float)
    p.add_argument("--rss-budget", type=float)
    p.add_argument("--quiet-load", type=float, default=1.0)
    p.add_argument("--show-output", action="store_true")
    p.add_argument("--json", action="store_true")
    o = p.parse_args(argv[:opts_end])
    a = Runs(o.name_a, argv[opts_end + 1:sep])
    b = Runs(o.name_b, argv[sep + 1:])
    if not a.argv or not b.argv:
        print("compare: both commands are needed", file=sys.stderr)
        return 2

    load_before = load_average()
    quiet = load_before[0] < o.quiet_load
    for r in (a, b):
        run_once(r.argv, o.show_output)  # warm-up: page cache, dynamic loader, JIT caches
    for _ in range(o.reps):
        for r in (a, b):
            w, c, m = run_once(r.argv, o.show_output)
            r.wall.append(w)
            r.cpu.append(c)
            r.rss_kib.append(m)
    load_after = load_average()

    def ratio(f: str, stat: str) -> float:
        fn = min if stat == "min" else statistics.median
        return float(fn(getattr(b, f))) / max(float(fn(getattr(a, f))), 1e-9)

    cpu_x = ratio("cpu", "min")
    wall_x = ratio("wall", "median")
    rss_x = ratio("rss_kib", "median")
    result = {
        "cpu": cpu_model(),
        "cores": os.cpu_count(),
        "load_before": load_before,
        "load_after": load_after,
        "quiet": quiet,
        "reps": o.reps,
        "commands": {r.name: " ".join(r.argv) for r in (a, b)},
        "runs": {r.name: {"wall": r.wall, "cpu": r.cpu, "rss_kib": r.rss_kib} for r in (a, b)},
        "ratio": {"cpu_min": cpu_x, "wall_median": wall_x, "rss_median": rss_x},
    }
    if o.json:
        print(json.dumps(result, indent=2))
        return 0

    la = " ".join(f"{x:.2f}" for x in load_before)
    lb = " ".join(f"{x:.2f}" for x in load_after)
    print(f"machine: {cpu_model()}, {os.cpu_count()} cores; load average {la} before, {lb} after")
    print(f"{o.reps} alternating runs each (after one warm-up run each)")
    width = max(len(a.name), len(b.name))
    for r in (a, b):
        print(
            f"  {r.name:<{width}}  cpu min {min(r.cpu):.3f} s  median {statistics.median(r.cpu):.3f} s"
            f"   wall min {min(r.wall):.3f} s  median {statistics.median(r.wall):.3f} s"
            f"   peak RSS median {statistics.median(r.rss_kib) / 1024:.1f} MiB"
        )
    lim = o.quiet_load
    print(f"  {b.name} / {a.name}:")
    print(f"    cpu (minimums)  {cpu_x:.2f}x  {verdict(cpu_x, o.cpu_budget, quiet, load_before[0], lim)}")
    print(f"    wall (medians)  {wall_x:.2f}x  {verdict(wall_x, o.wall_budget, quiet, load_before[0], lim)}")
    print(f"    peak RSS        {rss_x:.2f}x  {verdict(rss_x, o.rss_budget, quiet, load_before[0], lim)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
