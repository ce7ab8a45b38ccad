"""Runs inside gdb (sourced after allocs_gdb.py): times `alloc info` queries and `alloc census`,
and prints `bench NAME value unit` lines. Mode from the environment: BRIDGE_BENCH=info|census."""
import os
import statistics
import time

import gdb  # type: ignore[import-not-found]


def rss_kib(field: str = "VmRSS") -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return 0


def drop_session() -> None:
    """Forgets the bridge's per-stop session, as a resume would (the cold case)."""
    cache = getattr(gdb, "_allocs_session_cache", None)
    if cache is not None:
        cache["session"] = None


def bench_info(queries: int) -> None:
    n = int(gdb.parse_and_eval("nkeep"))
    exprs = [f"(char *)keep[{(i * 7919) % n}] + 3" for i in range(queries)]
    exprs += ["&nkeep", "argv[0]", "keep"]
    for label, cold in (("cold", True), ("", False)):
        times = []
        drop_session()
        for e in exprs:
            if cold:
                drop_session()
            t0 = time.perf_counter()
            gdb.execute(f"alloc info {e}", to_string=True)
            times.append(time.perf_counter() - t0)
        suffix = f"_{label}" if label else ""
        print(f"bench info{suffix}_median_ms {statistics.median(times) * 1000:.2f} ms")
        print(f"bench info{suffix}_p90_ms {sorted(times)[int(len(times) * 0.9)] * 1000:.2f} ms")
    # The batch MI command: 100 addresses in one call (what the adapter sends per variables request)
    drop_session()
    addrs = " ".join(f"{int(gdb.parse_and_eval(f'(unsigned long)keep[{(i * 7919) % n}]')) + 3:#x}"
                     for i in range(100))
    t0 = time.perf_counter()
    gdb.execute(f'interpreter-exec mi "-alloc-describe-batch --json {addrs}"', to_string=True)
    print(f"bench describe_batch_100_ms {(time.perf_counter() - t0) * 1000:.1f} ms")


def bench_census() -> None:
    before = rss_kib()
    t0 = time.perf_counter()
    out = gdb.execute("alloc census", to_string=True)
    dt = time.perf_counter() - t0
    after_hwm = rss_kib("VmHWM")
    total = [line for line in out.splitlines() if "total live malloc chunks" in line]
    agree = [line for line in out.splitlines() if line.startswith("runtime counters")]
    print(f"bench census_s {dt:.2f} s")
    print(f"bench census_rss_growth_mb {(max(after_hwm, rss_kib()) - before) / 1024:.1f} MB")
    print(f"bench census_total {total[0].split()[0] if total else '?'} chunks")
    print(f"bench census_counters {agree[0] if agree else '?'}")


mode = os.environ.get("BRIDGE_BENCH", "info")
if mode == "info":
    bench_info(int(os.environ.get("BRIDGE_BENCH_QUERIES", "200")))
else:
    bench_census()
