"""The gdb front of the allocs bridge: `source` this file in gdb (allocs gdb does it for you).

It adapts gdb to the decoder's Target protocol (memory, symbols, source lines, mappings,
threads and frames) and defines the `alloc` commands and the `-alloc-describe` MI command. All
decoding lives in allocs_decoder (no gdb import there); the gdb side lives in allocs_gdbfront,
split by job; this file puts its own directory on sys.path, imports it and registers everything.
Errors are one line (gdb.GdbError); gdb keeps working.
"""
from __future__ import annotations

import os
import sys

import gdb  # type: ignore[import-not-found]

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

# gdb's Python often may not write bytecode (PYTHONDONTWRITEBYTECODE, or the bridge installed
# read-only), and then compiles every module below from source at each start: ~0.1 s, most of
# the bridge's load time. While they are imported, their bytecode is cached in the user's cache
# directory, for every front that sources this file (allocs gdb, allocs core, the debug adapter);
# Python's settings are restored after.
_saved_bytecode = (sys.pycache_prefix, sys.dont_write_bytecode)
_cache_home = os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache")
sys.pycache_prefix = os.path.join(_cache_home, "allocs", "pycache")
sys.dont_write_bytecode = False
try:
    from allocs_decoder import (
        DecodeError, Frame, Mapping, MemoryUnreadable, Session, SourceLine, Symbolization, Thread, Variable,
    )
    from allocs_decoder import queries, render, values
    from allocs_decoder.description import AddressDescription
    from allocs_gdbfront.commands_address import (
        AllocInfo, AllocPrefix, AllocPrint, AllocWhatis, AllocWhereis, AllocWhyis, print_typed,
    )
    from allocs_gdbfront.commands_heap import (
        AllocCensus, AllocLs, AllocMaps, AllocType, AllocWhoPointsTo,
    )
    from allocs_gdbfront.commands_snapshot import COMMANDS as SNAPSHOT_COMMANDS
    from allocs_gdbfront.common import (
        CORE_NO_RUNTIME, Args, address_of, describe_expr, emit, guarded, parse_args,
    )
    from allocs_gdbfront.report import CLI_MARKER, cli_report
    from allocs_gdbfront.session_cache import (
        _CACHE, INVALIDATING_EVENTS, TARGET, _register_events, invalidate, session,
    )
    from allocs_gdbfront.target import REGISTERS, GdbTarget

    if hasattr(gdb, "MICommand"):
        from allocs_gdbfront.mi import MiAllocDescribe, MiAllocDescribeBatch
finally:
    sys.pycache_prefix, sys.dont_write_bytecode = _saved_bytecode

# The names scripts sourced after this file use (cli_report, session, ...), as before the split.
__all__ = [
    "DecodeError", "Frame", "Mapping", "MemoryUnreadable", "Session", "SourceLine", "Symbolization", "Thread",
    "Variable", "queries", "render", "values", "AddressDescription", "AllocInfo", "AllocPrefix", "AllocPrint",
    "AllocWhatis", "AllocWhereis", "AllocWhyis", "print_typed", "AllocCensus", "AllocLs", "AllocMaps",
    "AllocType", "AllocWhoPointsTo", "CORE_NO_RUNTIME", "Args", "address_of", "describe_expr", "emit",
    "guarded", "parse_args", "CLI_MARKER", "cli_report", "_CACHE", "INVALIDATING_EVENTS", "TARGET",
    "invalidate", "session", "REGISTERS", "GdbTarget", "register",
]


def register() -> None:
    AllocPrefix()
    for cls in (AllocInfo, AllocWhatis, AllocWhereis, AllocWhyis, AllocPrint, AllocLs, AllocCensus, AllocMaps,
                AllocType, AllocWhoPointsTo, *SNAPSHOT_COMMANDS):
        cls()
    if hasattr(gdb, "MICommand"):
        MiAllocDescribe()
        MiAllocDescribeBatch()
    _register_events()


register()
