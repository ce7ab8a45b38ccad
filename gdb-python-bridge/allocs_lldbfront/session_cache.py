"""The per-stop Session cache of the LLDB front: one Session while the process stays stopped.

LLDB has no Python event hooks a command script can rely on, so the Session is keyed on what
changes when the process may have: the target, the process (its id and LLDB's unique id) and its
stop id counting expression stops (it grows at every resume, and when an expression ran code in
the process, which may have written memory). A `memory write` changes none of these: after one,
`script allocs_lldb.invalidate()` drops the Session."""
from __future__ import annotations

from typing import Any, Dict, Optional, Tuple

from allocs_decoder import Session

from .target import LldbTarget

_CACHE: Dict[str, Any] = {"key": None, "session": None}


def _key(target: LldbTarget) -> Tuple[Any, ...]:
    t = target.target()
    p = t.GetProcess()
    if not p.IsValid():
        return (id(t), None)
    return (t.GetExecutable().fullpath, p.GetUniqueID(), p.GetProcessID(), p.GetStopID(True), p.GetState())


def session(debugger: Any, exe_ctx: Optional[Any] = None) -> Session:
    """The current stop's Session (made on first use after the process last changed)."""
    target = LldbTarget(debugger, exe_ctx)
    key = _key(target)
    s = _CACHE["session"]
    if s is None or _CACHE["key"] != key:
        s = Session(target)
        _CACHE["key"], _CACHE["session"] = key, s
    else:
        s.target.exe_ctx = exe_ctx  # the same stop, asked from another frame
    return s


def invalidate() -> None:
    _CACHE["key"] = _CACHE["session"] = None
