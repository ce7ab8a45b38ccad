"""describe(addr): the composition of the allocators, the way the runtime's alloc_describe does
it: the levels from the mapping down (mmap, then the ELF file and segment, the brk heap or a stack
and its auxv area), then the one leaf that answers, in this order: a pool object inside a heap
chunk, an obstack's used part or free tail inside one, the chunk, a freed chunk, auxv, a stack
frame, a mapping the program made itself, a static object, the brk heap itself, the mapping.
Each leaf is its own module (leaf_heap, leaf_obstack, leaf_auxv, leaf_stackframe, leaf_static,
leaf_mmap); this one holds only the order: LEAF_ROWS (each row: where it can answer, and its
leaf's answer) and LEVEL_ORDER below, the runtime's (runtime/src/allocators.c;
tests/test_composition.py compares)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable, Optional, Tuple

from . import layout as L
from .brk import brk_heap, heap_mapping
from .address_description import AddressDescription, Level
from .errors import NO_RUNTIME_NOTE
from .heap import Chunk
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
    w = _Where(s, addr, root.glibc_malloc, _levels(s, d, addr))
    if not root.glibc_malloc and w.lv.elf is None and w.lv.stack is None:
        d.notes.append("heap chunks cannot be sized: the runtime does not sit on glibc's malloc")
    for row in LEAF_ROWS:
        if row.asked(w) and row.answer(w, d):
            return d
    _from_debugger(s, d)
    return d


class _Levels:
    mapping: Optional[Big] = None
    elf: Optional[Big] = None
    brk: Optional[Tuple[int, int]] = None
    stack: Optional[Tuple[int, int]] = None
    tid: Optional[int] = None
    auxv = False


class _Where:
    """One query's address, its levels and its live chunk, looked up at most once for every row
    that asks (the runtime's `struct rt_where`)."""

    def __init__(self, s: Session, addr: int, heap: bool, lv: _Levels) -> None:
        self.s, self.addr, self.heap, self.lv = s, addr, heap, lv
        self._chunk: Optional[Chunk] = None
        self._looked = False

    @property
    def chunk(self) -> Optional[Chunk]:
        if not self._looked:
            self._chunk, self._looked = self.s.heap.find_chunk(self.addr), True
        return self._chunk

    @property
    def outside_objects(self) -> bool:
        """Neither in an ELF object nor on a stack: where a freed chunk may still be read."""
        return self.lv.elf is None and self.lv.stack is None

    def in_mapping(self, programs_own: bool) -> bool:
        m = self.lv.mapping
        return m is not None and (not programs_own or bool(m.flags & L.BIG_F_USER_MMAP))


def _auxv(w: _Where, d: AddressDescription) -> bool:
    describe_auxv(w.s, d, w.addr)
    return True  # the auxv area's address is the row's, an item's or not


def _stackframe(w: _Where, d: AddressDescription) -> bool:
    describe_stackframe(w.s, d, w.addr, w.lv.tid)
    return True  # a stack's address is the row's, in a frame or not


def _static(w: _Where, d: AddressDescription) -> bool:
    s, elf = w.s, w.lv.elf
    assert elf is not None
    obj = s.levels.object(elf.object) if elf.object != L.NO_OBJECT else None
    obj = obj or s.levels.object_for(w.addr)
    if not describe_static(s, d, w.addr, obj.path if obj else elf.name,
                           obj.load_bias if obj else None, obj=obj):
        d.notes.append("in an ELF object, but no symbol or section is known here")
    return True  # an ELF object's address is the static row's, named or not


def _brk(w: _Where, d: AddressDescription) -> bool:
    # As the runtime answers: the brk level itself is the leaf; no live object is here.
    assert w.lv.brk is not None
    d.allocator, d.base, d.size = L.BIG_KIND_ALLOCATOR[L.BIG_BRK], w.lv.brk[0], w.lv.brk[1]
    d.notes.append("in the brk heap but in no live chunk (malloc's free space or bookkeeping)")
    return True


def _mmap(w: _Where, d: AddressDescription) -> bool:
    assert w.lv.mapping is not None
    describe_mmap(w.s, d, w.lv.mapping)
    return True


@dataclass(frozen=True)
class LeafRow:
    """One row of the composition: the allocator, where it can answer (the runtime's ASK_*), and
    its answer, True when the address is the row's (the first such row wins)."""
    allocator: str
    asked: Callable[[_Where], bool]
    answer: Callable[[_Where, AddressDescription], bool]


# Which allocator answers for an address, first that does wins (runtime/src/allocators.c's
# leaf_order; tests/test_composition.py compares). A pool object's description is its chunk's,
# refined, so the pool row answers through the chunk's leaf when the chunk holds pool objects.
# "freed" is the decoder's own: a debugger still reads a freed chunk's trailer, and the live
# runtime never answers with one. The rows after it are exclusive (one level holds the address),
# so each that is asked answers.
LEAF_ROWS: Tuple[LeafRow, ...] = (
    LeafRow("pool", lambda w: w.heap and w.chunk is not None and w.chunk.has_pool_objects,
            lambda w, d: describe_heap(w.s, d, w.addr, w.chunk)),
    LeafRow(OBSTACK, lambda w: w.heap, lambda w, d: describe_obstack(w.s, d, w.addr, w.chunk)),
    LeafRow(L.MALLOC, lambda w: w.heap, lambda w, d: describe_heap(w.s, d, w.addr, w.chunk)),
    LeafRow("freed", lambda w: w.heap and w.outside_objects,
            lambda w, d: describe_freed(w.s, d, w.addr)),
    LeafRow(L.AUXV, lambda w: w.lv.auxv, _auxv),
    LeafRow(L.STACKFRAME, lambda w: w.lv.stack is not None, _stackframe),
    LeafRow(PROGRAMS_OWN_MMAP, lambda w: w.in_mapping(programs_own=True), _mmap),
    LeafRow(L.STATIC, lambda w: w.lv.elf is not None, _static),
    LeafRow(L.BRK, lambda w: w.lv.brk is not None, _brk),
    LeafRow(L.MMAP, lambda w: w.in_mapping(programs_own=False), _mmap),
)
LEAF_ORDER = tuple(row.allocator for row in LEAF_ROWS)
DECODER_ONLY_LEAVES = ("freed",)


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
