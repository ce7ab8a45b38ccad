"""Imported into lldb (`command script import bench/lldb_bench.py`, after the allocs plugin, at
bench_stop): times `alloc info` per query through LLDB's command interpreter, cold (a new Session
each query, as after a resume) and warm (one Session per stop), both on plain addresses (the
front and the decoder) and on C expressions (LLDB's expression evaluator added). Prints
`bench NAME value unit` lines. Queries from BRIDGE_BENCH_QUERIES (default 200)."""
import os
import statistics
import struct
import time
from typing import Any, Dict, List

import lldb  # type: ignore[import-not-found]


def _addresses(debugger: Any, n: int) -> List[int]:
    """keep[(i * 7919) % nkeep] + 3 for i < n, read from the process (no expression evaluation)."""
    target = debugger.GetSelectedTarget()
    process = target.GetProcess()
    err = lldb.SBError()

    def word(addr: int) -> int:
        return struct.unpack("<Q", process.ReadMemory(addr, 8, err))[0]

    def symbol(name: str) -> int:
        sym = target.FindSymbols(name).GetContextAtIndex(0).GetSymbol()
        return sym.GetStartAddress().GetLoadAddress(target)

    keep, nkeep = word(symbol("keep")), word(symbol("nkeep"))
    return [word(keep + 8 * ((i * 7919) % nkeep)) + 3 for i in range(n)]


def _time(debugger: Any, commands: List[str], cold: bool) -> List[float]:
    import allocs_lldb  # type: ignore[import-not-found]  # the plugin, imported before this file

    interp = debugger.GetCommandInterpreter()
    times = []
    allocs_lldb.invalidate()
    for c in commands:
        if cold:
            allocs_lldb.invalidate()
        res = lldb.SBCommandReturnObject()
        t0 = time.perf_counter()
        interp.HandleCommand(c, res)
        times.append(time.perf_counter() - t0)
        if not res.Succeeded():
            print(f"bench error {c}: {res.GetError().strip()}")
    return times


def __lldb_init_module(debugger: Any, internal_dict: Dict[str, Any]) -> None:
    n = int(os.environ.get("BRIDGE_BENCH_QUERIES", "200"))
    addrs = _addresses(debugger, n)
    by_addr = [f"alloc info {a:#x}" for a in addrs]
    by_expr = [f"alloc info (char *)keep[{(i * 7919) % len(addrs)}] + 3" for i in range(min(n, 50))]
    for label, commands, cold in (("addr_cold", by_addr, True), ("addr", by_addr, False),
                                  ("expr", by_expr, False)):
        t = _time(debugger, commands, cold)
        print(f"bench lldb_info_{label}_median_ms {statistics.median(t) * 1000:.2f} ms")
        print(f"bench lldb_info_{label}_p90_ms {sorted(t)[int(len(t) * 0.9)] * 1000:.2f} ms")
