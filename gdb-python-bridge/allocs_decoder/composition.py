"""describe(addr): the composition of the allocators, the way the runtime's alloc_describe does
it: the levels from the mapping down (mmap, then the ELF file and segment, the brk heap or a stack
and its auxv area), then the one leaf that answers, in this order: a pool object inside a heap
chunk, an obstack's used part or free tail inside one, the chunk, a freed chunk, auxv, a stack
frame, a mapping the program made itself, a static object, the brk heap itself, the mapping.
Each leaf is its own module (leaf_heap, leaf_obstack, leaf_auxv, leaf_stackframe, leaf_static,
leaf_mmap); this one holds only the order, LEAF_ORDER and LEVEL_ORDER below, the runtime's
(runtime/src/allocators.c; tests/test_composition.py compares)."""
from __future__ import annotations

from typing import TYPE_CHECKING, Optional, Tuple

from . import layout as L
from .brk import brk_heap, heap_mapping
from .address_description import AddressDescription, Level
from .errors import NO_RUNTIME_NOTE
from .integrity import damage_note
from .leaf_auxv import describe_auxv
from .leaf_heap import describe_freed, describe_heap
from .leaf_mmap import describe_mmap
from .leaf_obstack import OBSTACK, describe_obstack
from .leaf_stackframe import describe_stackframe, frames_of
from .leaf_static import describe_static
from .levels import Big

if TYPE_CHECKING:  # the Session calls describe(): a run-time import would be circular
    from .session import Session

ADDR_MASK = (1 << 64) - 1

# The row of a mapping the program made with mmap, asked before the ELF objects (a range a
# dlclose unmapped and the program mapped again is no longer the library's).
PROGRAMS_OWN_MMAP = "mmap (the program's own)"
# Which allocator answers for an address, first that does wins. "freed" is the decoder's own: a
# debugger still reads a freed chunk's trailer, and the live runtime never answers with one.
LEAF_ORDER = ("pool", OBSTACK, L.MALLOC, "freed", L.AUXV, L.STACKFRAME, PROGRAMS_OWN_MMAP, L.STATIC,
              L.BRK, L.MMAP)
DECODER_ONLY_LEAVES = ("freed",)
# The levels enclosing it, outermost first: the mapping; then an ELF file and its segment, or else
# the brk heap, or else a stack and the auxv area at its top.
LEVEL_ORDER = (L.MMAP, L.ELF_FILE, L.ELF_SEGMENT, L.BRK, L.STACK, L.AUXV)


def describe(s: Session, addr: int) -> AddressDescription:
    """The description, with the damage to the runtime's tables it was built on (a note each and
    the `damage` field), checked by s.integrity."""
    s.integrity.begin()
    try:
        d = _describe(s, addr & ADDR_MASK)
    finally:
        damage = s.integrity.end()
    if d.runtime and d.address:
        d.damage = damage
        d.notes.extend(damage_note(a, what) for a, what in damage)
    return d


def _describe(s: Session, addr: int) -> AddressDescription:
    d = AddressDescription(addr)
    root = s.root()  # LayoutError propagates: a corrupted header is an error, not a guess
    if root is None:
        d.runtime = False
        d.notes.append(NO_RUNTIME_NOTE)
        _from_debugger(s, d)
        return d
    if addr == 0:
        d.notes.append("the null pointer")
        return d
    s.integrity.check_tables()
    if not root.initialised:
        d.notes.append("the runtime had not finished initialising: answers may be incomplete")
    lv = _levels(s, d, addr)
    if root.glibc_malloc:
        # describe_obstack defers to a pool object (a chunk holding one is the pool's), and
        # describe_heap asks the pool before answering with the chunk: pool, obstack, malloc.
        if describe_obstack(s, d, addr) or describe_heap(s, d, addr):
            return d
        if lv.elf is None and lv.stack is None and describe_freed(s, d, addr):
            return d
    elif lv.elf is None and lv.stack is None:
        d.notes.append("heap chunks cannot be sized: the runtime does not sit on glibc's malloc")
    if lv.auxv:
        describe_auxv(s, d, addr)
    elif lv.stack is not None:
        describe_stackframe(s, d, addr, lv.tid)
    elif lv.mapping is not None and lv.mapping.flags & L.BIG_F_USER_MMAP:
        describe_mmap(s, d, lv.mapping)
    elif lv.elf is not None:
        obj = s.levels.object(lv.elf.object) if lv.elf.object != L.NO_OBJECT else None
        obj = obj or s.levels.object_for(addr)
        if not describe_static(s, d, addr, obj.path if obj else lv.elf.name,
                               obj.load_bias if obj else None, obj=obj):
            d.notes.append("in an ELF object, but no symbol or section is known here")
    elif lv.brk is not None:
        # As the runtime answers: the brk level itself is the leaf; no live object is here.
        d.allocator, d.base, d.size = L.BIG_KIND_ALLOCATOR[L.BIG_BRK], lv.brk[0], lv.brk[1]
        d.notes.append("in the brk heap but in no live chunk (malloc's free space or bookkeeping)")
    elif lv.mapping is not None:
        describe_mmap(s, d, lv.mapping)
    else:
        _from_debugger(s, d)
    return d


class _Levels:
    mapping: Optional[Big] = None
    elf: Optional[Big] = None
    brk: Optional[Tuple[int, int]] = None
    stack: Optional[Tuple[int, int]] = None
    tid: Optional[int] = None
    auxv = False


def _levels(s: Session, d: AddressDescription, addr: int) -> _Levels:
    """The enclosing levels, outermost first, as the runtime's levels_chain composes them: the
    mapping; then the ELF file and segment, or the brk heap, or a stack (and the auxv area)."""
    out = _Levels()
    rec = s.require_root().rec
    containing = [b for b in s.levels.bigs() if b.begin <= addr < b.end]

    def smallest(kind: int) -> Optional[Big]:
        c = [b for b in containing if b.kind == kind]
        return min(c, key=lambda b: b.size) if c else None

    out.mapping = smallest(L.BIG_MAPPING)
    if out.mapping is not None:
        d.push(Level(L.MMAP, out.mapping.begin, out.mapping.size, out.mapping.name))
    else:  # the runtime has not seen this mapping: the debugger has
        heap = heap_mapping(s)
        m = heap if heap is not None and heap.begin <= addr < heap.end else s.mapping_for(addr)
        if m is not None:
            d.push(Level(L.MMAP, m.begin, m.end - m.begin, m.name))
    elf_file, seg = smallest(L.BIG_ELF_FILE), smallest(L.BIG_ELF_SEGMENT)
    brk = brk_heap(s)
    thread = s.levels.thread_for_stack(addr)
    stack_big = smallest(L.BIG_STACK)
    programs_own = out.mapping is not None and bool(out.mapping.flags & L.BIG_F_USER_MMAP)
    if (elf_file is not None or seg is not None) and not programs_own:
        for b in (elf_file, seg):
            if b is not None:
                d.push(Level(b.allocator, b.begin, b.size, b.name))
        out.elf = seg or elf_file
    elif brk is not None and brk[0] <= addr < brk[1]:
        out.brk = (brk[0], brk[1] - brk[0])
        d.push(Level(L.BIG_KIND_ALLOCATOR[L.BIG_BRK], brk[0], brk[1] - brk[0], None))
    elif thread is not None or stack_big is not None:
        if thread is not None:
            lo, hi = thread.stack_lo, thread.stack_hi
        else:
            assert stack_big is not None
            lo, hi = stack_big.begin, stack_big.end
        out.stack, out.tid = (lo, hi - lo), thread.tid if thread else None
        d.push(Level(L.BIG_KIND_ALLOCATOR[L.BIG_STACK], lo, hi - lo, stack_big.name if stack_big else None))
        if rec.auxv_lo <= addr < rec.auxv_hi:
            out.auxv = True
            d.push(Level(L.AUXV, rec.auxv_lo, rec.auxv_hi - rec.auxv_lo, None))
    return out


def _from_debugger(s: Session, d: AddressDescription) -> None:
    """What the debugger alone knows: the mapping, a stack frame, or the symbol/section."""
    addr = d.address
    m = s.mapping_for(addr)
    if m is not None and not any(lv.base <= addr < lv.base + lv.size for lv in d.chain):
        d.push(Level(L.MMAP, m.begin, m.end - m.begin, m.name))
    if m is not None and m.name and m.name.startswith("[stack"):
        describe_stackframe(s, d, addr, None)
        return
    path = m.name if m is not None and m.name and m.name.startswith("/") else None
    if describe_static(s, d, addr, path, None):
        return
    for t in s.debugger_threads():
        frames = frames_of(t)
        if frames and frames[0].sp <= addr < frames[-1].cfa:
            describe_stackframe(s, d, addr, t.tid)
            return
    if m is None:
        d.notes.append("not in any mapping the debugger knows")
    else:
        d.notes.append(f"in the mapping {m.name or '(anonymous)'}; nothing finer is known")
