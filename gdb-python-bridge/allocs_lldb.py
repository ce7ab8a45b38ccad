"""The LLDB front of the allocs bridge: `command script import PATH/allocs_lldb.py` in lldb (or
`allocs lldb`, which does it for you; in CodeLLDB or lldb-vscode, an initCommands entry).

It adapts LLDB to the decoder's Target protocol and registers the `alloc` commands (defined once,
for every front, in allocs_decoder.commands) and the pointer summaries and synthetic children.
This file puts its own directory on sys.path and imports allocs_lldbfront. Errors are one line;
lldb keeps working.
"""
from __future__ import annotations

import os
import sys
from typing import Any, Dict

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

# Coverage of the debugger-driven tests (`npm test` sets COVERAGE_PROCESS_START; the floor is
# scripts/coverage-floor.py's), started before the bridge's modules are imported.
_coverage: Any = None
if os.environ.get("COVERAGE_PROCESS_START"):
    try:
        import coverage
        coverage.process_startup()
        _coverage = coverage.Coverage.current()
    except ImportError:
        pass

from allocs_lldbfront.commands import COMMAND_CLASSES, LldbAllocCommand, register_commands  # noqa: E402
from allocs_lldbfront.formatters import (  # noqa: E402
    PointerChildren, pointer_summary_lldb, register_formatters,
)
from allocs_lldbfront.session_cache import invalidate, session  # noqa: E402

if _coverage is not None:
    # LLDB ends without running Python's exit hooks, where coverage.py writes its data (the
    # LLDB front's lines were all counted as missed): under coverage, the data is written after
    # each `alloc` command instead, what the formatters ran included.
    def _saving(call: Any) -> Any:
        def call_and_save(self: Any, *args: Any) -> None:
            try:
                call(self, *args)
            finally:
                try:
                    _coverage.save()
                except Exception:
                    pass
        return call_and_save

    setattr(LldbAllocCommand, "__call__", _saving(LldbAllocCommand.__call__))

globals().update(COMMAND_CLASSES)  # `command script add -c allocs_lldb.AllocInfo` resolves here

__all__ = ["PointerChildren", "invalidate", "pointer_summary_lldb", "session", *COMMAND_CLASSES]


def __lldb_init_module(debugger: Any, internal_dict: Dict[str, Any]) -> None:
    for e in register_commands(debugger, __name__) + register_formatters(debugger, __name__):
        print(f"allocs: {e}", file=sys.stderr)
