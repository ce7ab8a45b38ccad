"""The brk heap's bounds, from the runtime's record and what the debugger knows.

The runtime records the brk heap "as last observed" (root brk_lo/brk_hi and its BIG_BRK level):
it notes the break at its first read of /proc/self/maps and moves brk_hi only when it is asked
about an address past it. A program that never asks (most do not) leaves brk_hi where malloc
found it, often at brk_lo (an empty heap), and no [heap] mapping record. The heap is still
where the debugger sees it: live, the [heap] mapping; in a core, the segment that starts at
brk_lo (cores do not name anonymous segments). describe's chain and maps both use this, so that
they agree.
"""
from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING, List, Optional, Tuple

from . import layout as L
from .levels import Big
from .target import Mapping

if TYPE_CHECKING:  # the Session's describe() reaches this module: a run-time import would be circular
    from .session import Session

PAGE = 4096


def _recorded(s: Session) -> Tuple[int, int]:
    """The brk heap as the runtime last recorded it: (0, 0) when it never did."""
    rec = s.require_root().rec
    lo, hi = rec.brk_lo, rec.brk_hi
    for b in s.levels.bigs():
        if b.kind == L.BIG_BRK and (b.begin == lo or not lo):
            lo, hi = b.begin, max(hi, b.end)
    return lo, hi


def heap_mapping(s: Session) -> Optional[Mapping]:
    """The debugger's mapping that holds the brk heap, named "[heap]" as the kernel names it; None
    when the debugger lists none there (or the runtime never noted where the heap starts)."""
    lo = _recorded(s)[0]
    m = s.mapping_for(lo) if lo else None
    if m is None or m.begin != lo or m.name not in (None, "[heap]"):
        return None
    return Mapping(m.begin, m.end, "[heap]", m.perms)


def brk_heap(s: Session) -> Optional[Tuple[int, int]]:
    """The brk heap as [lo, hi): the runtime's record, grown to the end of the debugger's heap
    mapping when the break has moved past the page the runtime last saw it in."""
    lo, hi = _recorded(s)
    if not lo:
        return None
    m = heap_mapping(s)
    if m is not None and m.end > (hi + PAGE - 1) // PAGE * PAGE:
        hi = m.end
    return (lo, hi) if hi > lo else None


def with_brk_heap(s: Session, bigs: List[Big]) -> List[Big]:
    """The runtime's big allocations with the brk heap completed as brk_heap finds it: the heap's
    mapping (the debugger's, when the runtime has no record of it) holding the brk level, both
    as far as the heap reaches. Cached records are replaced, never changed."""
    heap = brk_heap(s)
    if heap is None:
        return bigs
    lo, hi = heap
    out = list(bigs)
    fresh = max((b.index for b in out), default=-1) + 1
    rw = L.BIG_F_READ | L.BIG_F_WRITE
    holders = [b for b in out if b.kind == L.BIG_MAPPING and b.begin <= lo < b.end]
    mapping = min(holders, key=lambda b: b.size) if holders else None
    m = heap_mapping(s)
    if mapping is None and m is not None:
        mapping = Big(fresh, m.begin, m.end, -1, L.BIG_MAPPING, rw, L.NO_OBJECT, 0, m.name)
        out.append(mapping)
    elif mapping is not None and mapping.end < hi:  # recorded before the heap grew
        out[out.index(mapping)] = mapping = replace(mapping, end=max(hi, m.end if m else hi))
    parent = mapping.index if mapping is not None else -1
    brk = next((b for b in out if b.kind == L.BIG_BRK and b.begin == lo), None)
    if brk is None:
        out.append(Big(fresh + 1, lo, hi, parent, L.BIG_BRK, rw, L.NO_OBJECT, 0, "[heap]"))
    else:
        out[out.index(brk)] = replace(brk, end=max(brk.end, hi), parent=parent)
    return out
