"""The gdb front of the allocs bridge: `source` this file in gdb (allocs gdb does it for you).

It adapts gdb to the decoder's Target protocol (memory, symbols, source lines, mappings,
threads and frames), registers the `alloc` commands (defined once, for every front, in
allocs_decoder.commands) and the `-alloc-describe` MI command. All decoding lives in
allocs_decoder (no gdb import there); the gdb side lives in allocs_gdbfront, split by job;
this file puts its own directory on sys.path, imports it and registers everything.
Errors are one line (gdb.GdbError); gdb keeps working.
"""
from __future__ import annotations

import os
import sys

import gdb  # type: ignore[import-not-found]

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

# Coverage of the debugger-driven tests (`npm test` sets COVERAGE_PROCESS_START; the floor is
# scripts/coverage-floor.py's), started before the bridge's modules are imported.
if os.environ.get("COVERAGE_PROCESS_START"):
    try:
        import coverage
        coverage.process_startup()
    except ImportError:
        pass

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
    from allocs_decoder import commands, queries, render, values
    from allocs_decoder.address_description import AddressDescription
    from allocs_gdbfront.commands import describe_expr, register_commands
    from allocs_gdbfront.report import cli_report
    from allocs_gdbfront.session_cache import (
        INVALIDATING_EVENTS, TARGET, invalidate, register_events, session,
    )
    from allocs_gdbfront.target import REGISTERS, GdbTarget

    if hasattr(gdb, "MICommand"):
        from allocs_gdbfront.mi import MiAllocDescribe, MiAllocDescribeBatch, MiAllocJson
finally:
    sys.pycache_prefix, sys.dont_write_bytecode = _saved_bytecode

# The names scripts sourced after this file use (cli_report, session, ...).
__all__ = [
    "DecodeError", "Frame", "Mapping", "MemoryUnreadable", "Session", "SourceLine", "Symbolization", "Thread",
    "Variable", "commands", "queries", "render", "values", "AddressDescription", "describe_expr",
    "cli_report", "INVALIDATING_EVENTS", "TARGET", "invalidate", "session", "REGISTERS",
    "GdbTarget", "register",
]


def register() -> None:
    register_commands()
    if hasattr(gdb, "MICommand"):
        MiAllocDescribe()
        MiAllocDescribeBatch()
        MiAllocJson()
    register_events()


register()
