"""Finding and validating the runtime's root record (`__allocs_root`)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from . import layout as L
from .errors import LayoutError, MemoryUnreadable, NoRuntime
from .memory import Reader

# Bounds on the counts a root may claim; a larger value means a corrupted or foreign record.
MAX_TABLE = 1 << 24


@dataclass
class Root:
    addr: int
    rec: Any  # layout.RootRec's record

    @property
    def initialised(self) -> bool:
        return bool(self.rec.flags & L.ROOT_F_INITIALISED)

    @property
    def glibc_malloc(self) -> bool:
        return bool(self.rec.flags & L.ROOT_F_GLIBC_MALLOC)


def load_root(reader: Reader) -> Root:
    """The validated root, or NoRuntime / LayoutError with a one-line reason."""
    addr = reader.target.lookup_symbol(L.ROOT_SYMBOL)
    if not addr:
        raise NoRuntime("the allocs runtime is not loaded in this process (no __allocs_root symbol)")
    try:
        data = reader.read(addr, L.RootRec.size)
    except MemoryUnreadable as e:
        raise LayoutError(f"__allocs_root at {addr:#x} is not readable ({e}); is the core truncated?")
    rec = L.RootRec.unpack(data)
    if rec.magic != L.MAGIC:
        raise LayoutError(
            f"__allocs_root at {addr:#x} has magic {rec.magic!r}, expected {L.MAGIC!r}: "
            "the runtime's header is corrupted or not an allocs runtime"
        )
    if rec.version != L.LAYOUT_VERSION:
        raise LayoutError(
            f"__allocs_root at {addr:#x} has layout version {rec.version}; this decoder reads version "
            f"{L.LAYOUT_VERSION}: the runtime's header is damaged, or the bridge is not from the runtime's "
            "allocs build"
        )
    if rec.root_size != L.RootRec.size:
        raise LayoutError(
            f"__allocs_root at {addr:#x} says root_size {rec.root_size}, expected {L.RootRec.size}: the "
            "runtime's header is damaged or from another build"
        )
    return Root(addr, rec)


def bounded(count: int, capacity: int) -> int:
    """A table's usable count: never past its capacity (when given) nor MAX_TABLE."""
    if capacity:
        count = min(count, capacity)
    return max(0, min(count, MAX_TABLE))
