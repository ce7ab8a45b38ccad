"""The heap graph: every live malloc chunk (base, size, site, sequence number, type) and its
outgoing pointers, and the roots (statics, thread stacks, registers, thread-local storage) that
point into it. The input of `alloc leaks`, `alloc retainers` and `alloc snapshot`.

A chunk's pointers are found precisely where its run-time type is known (the words at its
pointer members, for every element of the chunk's live length when its site allocates arrays)
and conservatively elsewhere (every aligned word whose value lies in a live chunk): unknown
types, byte buffers (char arrays are untyped memory), the tail of a chunk past its type, chunks
that host pool objects. Each chunk says which (`precise`). Roots are always scanned
conservatively, as memcheck and LeakSanitizer scan them.

The two passes over the heap's memory are heap_scan.py's (one debugger read per span of nearby
chunks, reused from heap.py's walk). Chunks are held in arrays, edges in compressed rows (CSR), so
a million chunks fit in a few tens of megabytes.
"""
from __future__ import annotations

import bisect
from array import array
from dataclasses import dataclass, field
from typing import Callable, Dict, Iterator, List, Optional, Tuple

from . import layout as L
from .errors import DecodeError
from .heap_scan import PointerRule, find_edges, read_chunks
from .session import Session
from .target import Frame, Variable
from .uniqtype import ATE_SIGNED_CHAR, ATE_UNSIGNED_CHAR, COMPOSITE, MAX_DEPTH, UType

MAX_POINTER_OFFSETS = 4096  # pointer members of one type followed precisely; more: conservative
MAX_ROOT_RANGE = 64 << 20  # a static segment or stack larger than this is not scanned
_CHARS = (ATE_SIGNED_CHAR, ATE_UNSIGNED_CHAR)

# Root kinds, as the JSON spells them.
STATIC, STACK, REGISTER, TLS, MMAP = "static", "stack", "register", "tls", "mmap"


@dataclass(frozen=True)
class SiteLayout:
    """Where the pointers are in the chunks of one site: `offsets` (bytes, 8-aligned) inside each
    `stride`-byte element, repeated over the chunk when `repeat` (an array site); None offsets:
    untyped, every word is scanned."""

    type: Optional[UType]  # the site's type (an unbounded array for an array site), None: unknown
    offsets: Optional[Tuple[int, ...]]
    stride: int = 0
    repeat: bool = False

    @property
    def precise(self) -> bool:
        return self.offsets is not None


UNTYPED = SiteLayout(None, None)


class _Untyped(Exception):
    pass


def pointer_offsets(s: Session, t: UType) -> Optional[Tuple[int, ...]]:
    """The byte offsets of every pointer inside an object of type t (None when the type cannot
    say: members unknown, a byte buffer, too many pointers). Union members all count."""
    loaded = s.types
    if loaded is None:
        return None
    types = loaded  # not Optional: walk reads it
    out: List[int] = []

    def walk(u: Optional[UType], at: int, depth: int) -> None:
        if u is None or depth > MAX_DEPTH:
            raise _Untyped
        if u.kind == L.KIND_POINTER:
            out.append(at)
        elif u.kind in COMPOSITE:
            ms = types.members(u)
            if not ms and u.size:
                raise _Untyped
            for m in ms:
                if not m.bit_size:
                    walk(m.type, at + m.offset, depth + 1)
        elif u.kind == L.KIND_ARRAY:
            el = types.related(u)
            if el is None or not el.size:
                raise _Untyped
            if el.kind == L.KIND_BASE and el.size == 1 and el.encoding in _CHARS:
                raise _Untyped  # a byte buffer: anything may be stored in it
            before = len(out)
            walk(el, at, depth + 1)
            inner = out[before:]
            for i in range(1, u.count if inner else 0):
                out.extend(o + i * el.size for o in inner)
                if len(out) > MAX_POINTER_OFFSETS:
                    raise _Untyped
        elif u.kind == L.KIND_VOID:
            raise _Untyped
        if len(out) > MAX_POINTER_OFFSETS:
            raise _Untyped

    try:
        walk(t, 0, 0)
    except _Untyped:
        return None
    if any(o & 7 for o in out):
        return None  # a packed pointer: the word scan below reads aligned words only
    return tuple(sorted(set(out)))


def site_layout(s: Session, site_id: int) -> SiteLayout:
    """The pointer layout of a site's chunks, from the type the runtime gives them."""
    types = s.types
    if types is None or not site_id:
        return UNTYPED
    try:
        t = s.site_uniqtype(site_id)
        if t is None:
            return UNTYPED
        if t.kind == L.KIND_ARRAY and t.count == 0:
            el = types.related(t)
            is_byte = el is not None and el.kind == L.KIND_BASE and el.size == 1 and el.encoding in _CHARS
            if el is None or not el.size or is_byte:
                return SiteLayout(t, None)  # a byte buffer is untyped memory
            offs = pointer_offsets(s, el)
            return SiteLayout(t, offs, el.size, True)
        return SiteLayout(t, pointer_offsets(s, t), t.size, False)
    except DecodeError:
        return UNTYPED


@dataclass
class RootRange:
    """Memory scanned as a root: [lo, hi), or one register (lo is its value, hi 0)."""

    kind: str
    lo: int
    hi: int
    thread: Optional[int] = None  # the debugger's thread number
    name: Optional[str] = None  # a register's name, a segment's object, a mapping's name
    frames: List[Frame] = field(default_factory=list)  # a stack's frames, innermost first


@dataclass
class RootEdge:
    range: int  # index into HeapGraph.roots
    where: int  # the word's address (a register: 0)
    dst: int  # the chunk's index


@dataclass
class HeapGraph:
    bases: List[int]
    sizes: "array[int]"
    ends: "array[int]"  # base + usable - 8: an address in [base, end) is inside the chunk
    site_ids: "array[int]"
    seqs: "array[int]"
    precise: bytearray  # 1: the chunk's pointers were read from its type
    edge_start: "array[int]"  # the chunk i's edges are edge_off/edge_dst[edge_start[i]:edge_start[i+1]]
    edge_off: "array[int]"  # the pointer's offset inside the source chunk
    edge_dst: "array[int]"  # the chunk it points into
    roots: List[RootRange]
    root_edges: List[RootEdge]
    layouts: Dict[int, SiteLayout]
    notes: List[str] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.bases)

    def index_of(self, addr: int) -> Optional[int]:
        """The chunk holding addr (interior addresses included), or None."""
        i = bisect.bisect_right(self.bases, addr) - 1
        return i if i >= 0 and addr < self.ends[i] else None

    def out_edges(self, i: int) -> Iterator[Tuple[int, int]]:
        """(offset, destination) of chunk i's pointers."""
        a, b = self.edge_start[i], self.edge_start[i + 1]
        return zip(self.edge_off[a:b], self.edge_dst[a:b])

    def layout(self, i: int) -> SiteLayout:
        return self.layouts.get(self.site_ids[i], UNTYPED)

    def type_of(self, s: Session, i: int) -> Optional[UType]:
        """The chunk's run-time type, sized by the chunk as describe() gives it."""
        types = s.types
        if types is None:
            return None
        try:
            _pc, cached = s.site_record(self.site_ids[i])
            return types.of_chunk(cached, s.site_pc(self.site_ids[i]), self.sizes[i])
        except DecodeError:
            return None


# A site's type is trusted for a chunk only when it fits: an array site's chunk must hold whole
# elements, a single object's at least the type. A header with a flexible array member that
# typegen took for an array of headers, or a type too big for the chunk, is scanned conservatively
# rather than at wrong offsets (build computes this per chunk).


def _rule(lay: SiteLayout) -> Optional[PointerRule]:
    if lay.offsets is None:
        return None
    if lay.repeat:
        return PointerRule(frozenset(lay.offsets), lay.stride, True, 1 << 62)
    tail = ((lay.type.size if lay.type is not None else 0) + 7) & ~7
    return PointerRule(frozenset(lay.offsets), 0, False, tail)


def build(s: Session, extra_roots: Optional[List[RootRange]] = None,
          progress: Optional[Callable[[str], None]] = None) -> HeapGraph:
    """The heap graph of the stopped process (live or core). NoRuntime without the runtime."""
    if not s.require_root().glibc_malloc:
        raise DecodeError("the runtime does not sit on glibc's malloc here: chunks cannot be sized")
    c = read_chunks(s)
    if progress:
        progress(f"{len(c.bases)} chunks read")
    layouts: Dict[int, SiteLayout] = {sid: site_layout(s, sid) for sid in set(c.site_ids)}
    rules = {sid: _rule(lay) for sid, lay in layouts.items()}
    # per site: None (untyped), or how a chunk's size must be to fit the type: (stride, 0) whole
    # elements, (0, minimum) at least the type
    fit = {sid: None if not lay.precise else (lay.stride, 0) if lay.repeat else
           (0, lay.type.size if lay.type is not None else 0) for sid, lay in layouts.items()}
    precise = bytearray(0 if pool or f is None else (size % f[0] == 0) if f[0] else (size >= f[1])
                        for f, size, pool in zip(map(fit.__getitem__, c.site_ids), c.sizes, c.pool))

    def rule_of(i: int) -> Optional[PointerRule]:
        return rules[c.site_ids[i]] if precise[i] else None

    edge_start, edge_off, edge_dst = find_edges(c, rule_of)
    g = HeapGraph(c.bases, c.sizes, c.ends, c.site_ids, c.seqs, precise, edge_start, edge_off, edge_dst,
                  [], [], layouts)
    c.spans = []  # the heap's contents are no longer needed
    roots = root_ranges(s, g) + list(extra_roots or [])
    stacks = [r for r in roots if r.kind == STACK]
    g.roots = [r for r in roots if r.kind != TLS] + _trimmed([r for r in roots if r.kind == TLS], stacks)
    g.root_edges = _root_edges(s, g)
    return g


# ---- roots ----
def _runtime_object(s: Session) -> Optional[int]:
    obj = s.levels.object_for(s.require_root().addr)
    return obj.index if obj is not None else None


def root_ranges(s: Session, g: HeapGraph) -> List[RootRange]:
    """Writable segments of every loaded object (the runtime's own excepted: its tables are not
    the program's pointers), the program's own writable mmaps holding no chunk, every thread's
    registers and stack from its innermost frame up."""
    out: List[RootRange] = []
    rt = _runtime_object(s)
    objects = {o.index: o for o in s.levels.objects()}
    for b in s.levels.bigs():
        if b.kind == L.BIG_ELF_SEGMENT and b.flags & L.BIG_F_WRITE and b.object != rt:
            obj = objects.get(b.object)
            out.append(RootRange(STATIC, b.begin, b.end, name=obj.path if obj else b.name))
        elif (b.kind == L.BIG_MAPPING and b.flags & L.BIG_F_USER_MMAP and b.flags & L.BIG_F_WRITE
              and not _holds_chunk(g, b.begin, b.end)):
            out.append(RootRange(MMAP, b.begin, b.end, name=b.name))
    for t in s.debugger_threads():
        try:
            regs = t.registers() or {}
        except Exception:
            regs = {}
        for name, v in regs.items():
            if isinstance(v, int) and name not in ("rip", "pc", "rsp", "sp", "fs_base"):
                out.append(RootRange(REGISTER, v, 0, t.num, name))
        fs = regs.get("fs_base")
        if isinstance(fs, int) and fs:  # a front that reads the thread pointer: its TLS is a root
            out.append(tls_range(s, fs, t.num))
        try:
            frames = list(t.frames())
        except Exception:
            frames = []
        if not frames:
            continue
        sp, top = frames[0].sp, frames[-1].cfa
        rec = s.levels.thread_for_stack(sp)
        if rec is not None:
            top = rec.stack_hi
        out.append(RootRange(STACK, sp, top, t.num, t.name, frames))
    return out


def _trimmed(extra: List[RootRange], stacks: List[RootRange]) -> List[RootRange]:
    """Extra ranges (thread-local storage) less the stacks they overlap: a thread's stack ends just
    below its static TLS, and a word is one root, not two."""
    out = []
    for r in extra:
        lo, hi = r.lo, r.hi
        for st in stacks:
            if not (st.lo < hi and lo < st.hi):
                continue
            # A thread's static TLS lies above its stack, in the same mapping; below the stack
            # pointer is dead stack, whose stale words are no roots. A shallow stack (a thread
            # blocked in pause) lies wholly inside the 64 KiB guessed below the thread pointer:
            # the TLS starts where the stack ends. A stack that reaches past the guess (its
            # record ends at the mapping's end) holds the TLS itself: its words are stack roots.
            if st.hi <= hi:
                lo = max(lo, st.hi)
            else:
                hi = lo
        if lo < hi:
            out.append(RootRange(r.kind, lo, hi, r.thread, r.name, r.frames))
    return out


TLS_BELOW = 64 << 10  # static TLS blocks sit below the thread pointer (x86-64 TLS variant II)
TLS_ABOVE = 2 << 10  # the thread control block above it


def tls_range(s: Session, fs_base: int, thread: Optional[int]) -> RootRange:
    """A thread's static TLS area and TCB around its thread pointer, clipped to its mapping (the
    part that overlaps its stack is trimmed off by build)."""
    lo, hi = fs_base - TLS_BELOW, fs_base + TLS_ABOVE
    m = s.mapping_for(fs_base)
    if m is not None:
        lo, hi = max(lo, m.begin), min(hi, m.end)
    return RootRange(TLS, lo, hi, thread, "thread-local storage")


def _holds_chunk(g: HeapGraph, lo: int, hi: int) -> bool:
    i = bisect.bisect_left(g.bases, lo)
    return i < len(g.bases) and g.bases[i] < hi


def _root_edges(s: Session, g: HeapGraph) -> List[RootEdge]:
    out: List[RootEdge] = []
    if not len(g):
        return out
    lo, hi = g.bases[0], g.ends[-1]
    for ri, r in enumerate(g.roots):
        if r.kind == REGISTER:
            j = g.index_of(r.lo) if lo <= r.lo < hi else None
            if j is not None:
                out.append(RootEdge(ri, 0, j))
            continue
        if not 0 < r.hi - r.lo <= MAX_ROOT_RANGE:
            continue
        start = r.lo - r.lo % 8
        data = _read_range(s, start, r.hi)
        for k, v in enumerate(array("Q", data[: len(data) & ~7])):
            if lo <= v < hi:
                j = g.index_of(v)
                if j is not None:
                    out.append(RootEdge(ri, start + 8 * k, j))
    return out


def _read_range(s: Session, lo: int, hi: int) -> bytes:
    """[lo, hi) with unreadable pages as zeros (a core may omit some)."""
    data = s.reader.try_read(lo, hi - lo)
    if data is not None:
        return data
    parts = []
    page = 4096
    at = lo
    while at < hi:
        n = min(page - at % page, hi - at)
        parts.append(s.reader.try_read(at, n) or bytes(n))
        at += n
    return b"".join(parts)


# ---- labels of the words that point ----
def frame_of(r: RootRange, where: int) -> Tuple[Optional[Frame], Optional[Variable]]:
    """The frame of a stack root holding the word at `where`, and the variable covering it."""
    for f in r.frames:
        if f.sp <= where < f.cfa:
            try:
                for v in f.variables():
                    if v.addr <= where < v.addr + max(v.size, 1):
                        return f, v
            except Exception:
                pass
            return f, None
    return None, None
