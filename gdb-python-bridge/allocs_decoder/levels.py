"""The levels above leaf objects: big allocations (mappings, ELF files and segments, brk, stacks,
the auxv area), loaded ELF objects with their lazily built symbols, and threads."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Dict, List, Optional

from . import layout as L
from .memory import Reader
from .root import Root, bounded

MAX_DEPTH = 16
MAX_SYMBOLS = 1 << 22


@dataclass
class Big:
    index: int
    begin: int
    end: int
    parent: int
    kind: int
    flags: int
    object: int
    site: int
    name: Optional[str]

    @property
    def allocator(self) -> str:
        return L.BIG_KIND_ALLOCATOR.get(self.kind, "mmap")

    @property
    def size(self) -> int:
        return self.end - self.begin


@dataclass
class ElfObject:
    index: int
    path: Optional[str]
    load_bias: int
    lo: int
    hi: int
    flags: int
    symbols: int
    nsymbols: int
    strtab: int
    build_id: bytes
    meta: int = 0  # struct allocs_loaded_meta address, or 0


@dataclass
class RtSymbol:
    name: str
    addr: int
    size: int
    kind: int


def record_allocs(allocs: int, next_seq: int, seq_limit: int) -> int:
    """A thread record's count of allocations (allocs_layout.h's allocs_thread.allocs): the field
    plus what the thread's current block of sequence numbers counts."""
    used = (next_seq - (seq_limit - L.THREAD_SEQ_BLOCK)) & ((1 << 64) - 1)
    return (allocs + (used if seq_limit and used <= L.THREAD_SEQ_BLOCK else 0)) & ((1 << 64) - 1)


@dataclass
class ThreadRecord:
    stack_lo: int
    stack_hi: int
    tid: int
    flags: int
    allocs: int
    frees: int
    bytes_allocated: int
    bytes_freed: int


@dataclass
class Stats:
    """The runtime's own counters (the figures alloc_get_stats reports)."""

    live_chunks: int
    live_bytes: int
    total_allocs: int
    total_frees: int


class Levels:
    def __init__(self, reader: Reader, root: Root) -> None:
        self.r = reader
        self.root = root
        self._bigs: Optional[List[Big]] = None
        self._objects: Optional[List[ElfObject]] = None
        self._threads: Optional[List[ThreadRecord]] = None
        self._names: Dict[int, Optional[str]] = {}

    def _table(self, addr: int, count: int, rec: Any) -> List[Any]:
        if not addr or not count:
            return []
        data = self.r.try_read(addr, count * rec.size)
        if data is None:
            return []
        return list(rec.unpack_all(data, count))

    def _name(self, ptr: int) -> Optional[str]:
        if ptr not in self._names:
            self._names[ptr] = self.r.cstring(ptr) if ptr else None
        return self._names[ptr]

    # ---- bigs ----
    def bigs(self) -> List[Big]:
        if self._bigs is None:
            rec = self.root.rec
            out = []
            for i, b in enumerate(self._table(rec.bigs, bounded(rec.nbigs, rec.bigs_capacity), L.BigRec)):
                if b.kind == L.BIG_FREE or b.begin >= b.end:
                    continue  # unused or half-written: unknown
                out.append(Big(i, b.begin, b.end, b.parent, b.kind, b.flags, b.object, b.site,
                               self._name(b.name)))
            self._bigs = out
        return self._bigs

    def big_chain(self, addr: int) -> List[Big]:
        """The big allocations containing addr, outermost first."""
        containing = [b for b in self.bigs() if b.begin <= addr < b.end]
        if not containing:
            return []
        by_index = {b.index: b for b in self.bigs()}
        leaf = min(containing, key=lambda b: (b.size, -self._depth(b, by_index)))
        chain = [leaf]
        seen = {leaf.index}
        cur = leaf
        while cur.parent >= 0 and len(chain) < MAX_DEPTH:
            parent = by_index.get(cur.parent)
            inside = parent is not None and parent.begin <= cur.begin and cur.end <= parent.end
            if parent is None or parent.index in seen or not inside:
                break  # a half-written or inconsistent link: stop here
            chain.append(parent)
            seen.add(parent.index)
            cur = parent
        chain.reverse()
        return chain

    def _depth(self, b: Big, by_index: Dict[int, Big]) -> int:
        d = 0
        while b.parent >= 0 and d < MAX_DEPTH:
            nxt = by_index.get(b.parent)
            if nxt is None:
                break
            b = nxt
            d += 1
        return d

    # ---- ELF objects ----
    def objects(self) -> List[ElfObject]:
        if self._objects is None:
            rec = self.root.rec
            out = []
            for i, o in enumerate(self._table(rec.objects, bounded(rec.nobjects, rec.objects_capacity),
                                              L.ObjectRec)):
                out.append(ElfObject(i, self._name(o.name), o.load_bias, o.lo, o.hi, o.flags, o.symbols,
                                     o.nsymbols, o.strtab, bytes(o.build_id[: min(o.build_id_len, 20)]),
                                     o.meta))
            self._objects = out
        return self._objects

    def object(self, index: int) -> Optional[ElfObject]:
        objs = self.objects()
        return objs[index] if 0 <= index < len(objs) else None

    def object_for(self, addr: int) -> Optional[ElfObject]:
        for o in self.objects():
            if o.lo <= addr < o.hi and o.flags & L.OBJECT_F_LIVE:
                return o
        return None

    def runtime_symbol(self, obj: ElfObject, addr: int) -> Optional[RtSymbol]:
        """The runtime's own symbol for addr (binary search), when it has built the table."""
        if not obj.flags & L.OBJECT_F_SYMBOLS or not obj.symbols or not 0 < obj.nsymbols <= MAX_SYMBOLS:
            return None
        hit = self.r.search(obj.symbols, obj.nsymbols, L.SymbolRec, "addr", addr)
        if hit is None:
            return None
        s = hit[1]
        if not s.addr <= addr < s.addr + max(s.size, 1):
            return None
        name = self.r.cstring(obj.strtab + s.name, 1024) if obj.strtab else None
        return RtSymbol(name or "?", s.addr, s.size, s.kind)

    # ---- threads and counters ----
    def threads(self) -> List[ThreadRecord]:
        if self._threads is None:
            rec = self.root.rec
            self._threads = [
                ThreadRecord(t.stack_lo, t.stack_hi, t.tid, t.flags,
                             record_allocs(t.allocs, t.next_seq, t.seq_limit), t.frees, t.bytes_allocated,
                             t.bytes_freed)
                for t in self._table(rec.threads, bounded(rec.nthreads, rec.threads_capacity), L.ThreadRec)
            ]
        return self._threads

    def thread_for_stack(self, addr: int) -> Optional[ThreadRecord]:
        for t in self.threads():
            if t.stack_lo <= addr < t.stack_hi:
                return t
        return None

    def total_allocs(self) -> int:
        """Chunks ever tracked: the runtime's one malloc-path counter (layout 3)."""
        rec = self.root.rec
        return (rec.retired_allocs + sum(t.allocs for t in self.threads())) & ((1 << 64) - 1)

    def stats(self, live_chunks: int, live_bytes: int) -> Stats:
        """The figures alloc_get_stats reports, given the live ones a walk of the index counted
        (the runtime counts them the same way, at query time)."""
        allocs = self.total_allocs()
        return Stats(live_chunks, live_bytes, allocs, max(allocs - live_chunks, 0))
