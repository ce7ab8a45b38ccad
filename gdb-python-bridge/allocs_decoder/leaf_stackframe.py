"""The stackframe leaf: the debugger's frame holding an address on a stack, and its FRAME type."""
from __future__ import annotations

from typing import TYPE_CHECKING, List, Optional

from . import layout as L
from .address_description import AddressDescription, Level, stack_site
from .errors import DecodeError
from .target import Frame, Thread
from .leaf_types import fill_types, why_untyped

if TYPE_CHECKING:  # Session.describe() reaches this module: a run-time import would be circular
    from .session import Session


def frames_of(t: Thread) -> List[Frame]:
    try:
        return list(t.frames())
    except Exception:  # a front's unwinder failing must not sink the whole answer
        return []


def describe_stackframe(s: Session, d: AddressDescription, addr: int, tid: Optional[int]) -> None:
    threads = sorted(s.debugger_threads(), key=lambda t: t.tid != tid)
    for t in threads:
        frames = frames_of(t)
        if not frames:
            continue
        for f in frames:
            if f.sp <= addr < f.cfa:
                d.allocator, d.base, d.size, d.state = L.STACKFRAME, f.sp, f.cfa - f.sp, "live"
                d.push(Level(L.STACKFRAME, f.sp, f.cfa - f.sp, f.function))
                var = None
                try:
                    for v in f.variables():
                        if v.addr <= addr < v.addr + max(v.size, 1):
                            var = v.name
                            break
                except Exception:
                    var = None
                d.site = stack_site(f.function, f.level, var, t.num, f.file, f.line)
                frame_types(s, d, f)
                return
        if t.tid == tid and addr < frames[0].sp:
            d.notes.append(f"below the stack pointer of thread {t.num}: in no live frame")
            return
    if not threads:
        d.notes.append("the debugger knows no threads here, so frames cannot be told apart")
    else:
        d.notes.append("on a stack, but in no frame the debugger can unwind")


def frame_types(s: Session, d: AddressDescription, f: Frame) -> None:
    """A frame's FRAME type: members count from CFA - size (docs/metadata-format.md). A caller's
    pc is a return address, so its function is looked up at pc - 1."""
    types = s.types
    if types is None:
        return
    pc = f.pc if f.level == 0 else f.pc - 1
    try:
        t = types.of_frame(pc)
    except DecodeError:
        t = None
    if t is None or not t.size:
        if d.base is not None:
            d.type_why = why_untyped(types, pc, "frame")
        return
    fill_types(s, d, lambda _t: t, base_offset=(f.cfa - t.size) - f.sp)
