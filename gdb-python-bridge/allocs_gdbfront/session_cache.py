"""The per-stop Session cache: one Session while the inferior stays stopped, dropped on gdb's events."""
from __future__ import annotations

from typing import Any, Dict, Tuple

import gdb  # type: ignore[import-not-found]

from allocs_decoder import Session

from .target import GdbTarget

TARGET = GdbTarget()

# One Session per stop: everything it read (root, levels, objects, metadata, types, mappings,
# frames) stays valid while the inferior stays stopped and unwritten. gdb's events drop it. The
# holder lives on the gdb module so a second `source` of this file shares the one registration.
_CACHE: Dict[str, Any] = getattr(gdb, "_allocs_session_cache", None) or {"session": None, "events": False}
gdb._allocs_session_cache = _CACHE
INVALIDATING_EVENTS = ("cont", "stop", "new_objfile", "clear_objfiles", "exited", "memory_changed",
                       "register_changed", "inferior_call", "new_inferior", "inferior_deleted", "new_thread")


def invalidate(*_args: Any) -> None:
    _CACHE["session"] = None


def register_events() -> None:
    if _CACHE["events"]:
        return
    for name in INVALIDATING_EVENTS:
        registry = getattr(gdb.events, name, None)
        if registry is not None:
            registry.connect(invalidate)
    _CACHE["events"] = True


def session() -> Session:
    """The current stop's Session (made on first use after the inferior last changed)."""
    s = _CACHE["session"]
    if s is None or not _same_inferior(s):
        s = Session(TARGET)
        s.inferior_key = _inferior_key()  # type: ignore[attr-defined]
        _CACHE["session"] = s
    return s


def _inferior_key() -> Tuple[int, int]:
    inf = gdb.selected_inferior()
    return (inf.num, inf.pid) if inf is not None else (0, 0)


def _same_inferior(s: Session) -> bool:
    return getattr(s, "inferior_key", None) == _inferior_key()
