"""Runs inside gdb (sourced after allocs_gdb.py, stopped in bench_stop): times `alloc leaks`, `alloc
snapshot save` and `alloc diff` over the whole heap and prints `bench NAME value unit` lines with
gdb's RSS growth."""
import os
import tempfile
import time

import gdb  # type: ignore[import-not-found]


def rss_kib(field: str = "VmRSS") -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return 0


def timed(name: str, cmd: str) -> str:
    cache = getattr(gdb, "_allocs_session_cache", None)
    if cache is not None:
        cache["session"] = None  # cold: as after a resume
    before = rss_kib()
    t0 = time.perf_counter()
    out = gdb.execute(cmd, to_string=True)
    dt = time.perf_counter() - t0
    print(f"bench {name}_s {dt:.2f} s")
    print(f"bench {name}_rss_growth_mb {(max(rss_kib('VmHWM'), rss_kib()) - before) / 1024:.1f} MB")
    return out


out = timed("leaks", "alloc leaks")
print("bench leaks_report " + " | ".join(line.strip() for line in out.splitlines() if "lost" in line))
snap = os.path.join(tempfile.mkdtemp(), "a.snap.json.gz")
timed("snapshot_save", f"alloc snapshot save {snap}")
print(f"bench snapshot_file_mb {os.path.getsize(snap) / 1e6:.1f} MB")
timed("diff_snapshot_vs_now", f"alloc diff {snap} now")
