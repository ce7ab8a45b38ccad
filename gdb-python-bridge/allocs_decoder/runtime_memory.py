"""The allocs runtime's own memory: its library (the ELF object holding `__allocs_root`) and the
tables it reserved, found from the root record (allocs_layout.h): the chunk-start byte maps, the
pool bitmaps, the levels/objects/threads/sites/pool-object tables, the objects' symbol tables and
the loaded type metadata. `alloc maps` labels the mappings and levels that hold them, so a user
does not take the runtime's 40 MiB of reservations for the program's memory.

Tables the runtime keeps only in its own variables (not reachable from the root: its site hash,
the levels' free list and sorted index) are not found; they share mappings with the others."""
from __future__ import annotations

import re
import struct
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Dict, List, Optional, Tuple

from . import layout as L
from .errors import MemoryUnreadable
from .root import bounded

if TYPE_CHECKING:
    from .session import Session

_U64 = struct.Struct("<Q")
_NONZERO = re.compile(rb"[^\x00]+")
_MAX_EXTENT = 1 << 40  # a claimed table size past this is damage, not a table


@dataclass
class RuntimeMemory:
    """The runtime's library extent (or None) and its tables as (begin, end, what)."""

    library: Optional[Tuple[int, int]]
    tables: List[Tuple[int, int, str]] = field(default_factory=list)

    def label(self, begin: int, end: int) -> Optional[Dict[str, object]]:
        """{part, holds} for a mapping or level [begin, end) that is the runtime's, else None.
        part: "library" (inside the runtime's ELF object) or "tables" (holds what it reserved);
        holds: what of the runtime's lies in it, each named once, in address order."""
        holds: List[str] = []
        for a, b, what in sorted(self.tables):
            if a < end and begin < b and what not in holds:
                holds.append(what)
        lib = self.library
        if lib is not None and lib[0] <= begin and end <= lib[1]:
            return {"part": "library", "holds": holds}
        if holds:
            return {"part": "tables", "holds": holds}
        return None


def _extent(begin: int, count: int, each: int) -> Optional[Tuple[int, int]]:
    n = max(count, 1) * each  # an empty table still has its first record's place
    if not begin or n >= _MAX_EXTENT or begin + n > 1 << 64:
        return None
    return begin, begin + n


def runtime_memory(s: "Session") -> RuntimeMemory:
    """What the root record says the runtime owns. Unreadable parts are left out, never guessed."""
    root = s.require_root()
    rec = root.rec
    # the library's extent to its last page (its .bss ends inside a page the loader mapped whole)
    lib = next(((o.lo, -(-o.hi // 4096) * 4096) for o in s.levels.objects() if o.lo <= root.addr < o.hi),
               None)
    tables: List[Tuple[int, int, str]] = []

    def add(begin: int, count: int, each: int, what: str) -> None:
        e = _extent(begin, count, each)
        if e is not None:
            tables.append((e[0], e[1], what))

    add(root.addr, 1, L.RootRec.size, "the root record")
    add(rec.chunk_l1, L.CHUNK_L1_ENTRIES, 8, "the chunk-start map index")
    for _region, m in s.heap.byte_maps():
        add(m, L.CHUNK_MAP_BYTES, 1, "chunk-start byte maps")
    add(rec.large_chunks, rec.nlarge_chunks, L.LargeChunkRec.size, "the large-chunk table")
    add(rec.sites, rec.sites_capacity, L.SiteRec.size, "the site table")
    add(rec.bigs, rec.bigs_capacity, L.BigRec.size, "the levels table")
    add(rec.objects, rec.objects_capacity, L.ObjectRec.size, "the ELF objects table")
    add(rec.threads, rec.threads_capacity, L.ThreadRec.size, "the threads table")
    add(rec.sub_l1, L.SUB_L1_ENTRIES, 8, "the pool bitmap index")
    for bitmap in _pool_bitmaps(s, rec.sub_l1):
        add(bitmap, L.SUB_BITMAP_BYTES, 1, "pool-object bitmaps")
    add(rec.suballocs, rec.suballocs_capacity, L.SuballocRec.size, "the pool-object table")
    add(rec.allocators, rec.nallocators, L.AllocatorRec.size, "the allocator names")
    nbigs = bounded(rec.nbigs, rec.bigs_capacity)
    levels = s.reader.try_read(rec.bigs, nbigs * L.BigRec.size) if rec.bigs and nbigs else None
    for b in L.BigRec.unpack_all(levels, len(levels) // L.BigRec.size) if levels else []:
        add(b.name, 1, 1, "names")
    for o in s.levels.objects():
        add(o.symbols, o.nsymbols, L.SymbolRec.size, "symbol tables")
        add(o.strtab, 1, 1, "symbol tables")
        if o.meta:
            _add_meta(s, o.meta, add)
    return RuntimeMemory(lib, tables)


def _pool_bitmaps(s: "Session", sub_l1: int) -> List[int]:
    """The non-zero entries of sub_l1 (1 MiB, read once)."""
    if not sub_l1:
        return []
    data = s.reader.try_read(sub_l1, 8 * L.SUB_L1_ENTRIES)
    if data is None:
        return []
    out = []
    for m in _NONZERO.finditer(data):
        for e in range(m.start() // 8, (m.end() + 7) // 8):
            (v,) = _U64.unpack_from(data, 8 * e)
            if v and v not in out:
                out.append(v)
    return out


def _add_meta(s: "Session", meta: int, add) -> None:  # type: ignore[no-untyped-def]
    """A loaded metadata file's arena: its record and the tables it points to."""
    add(meta, 1, L.LoadedMetaRec.size, "type metadata")
    try:
        m = L.LoadedMetaRec.unpack(s.reader.read(meta, L.LoadedMetaRec.size))
    except MemoryUnreadable:
        return
    add(m.strings, m.strings_size, 1, "type metadata")
    add(m.types, m.ntypes, L.UniqtypeRec.size, "type metadata")
    add(m.type_ptrs, m.ntypes, 8, "type metadata")
    add(m.members, m.nmembers, L.UniqtypeMemberRec.size, "type metadata")
    add(m.statics, m.nstatics, L.MetaStaticRec.size, "type metadata")
    add(m.frames, m.nframes, L.MetaFrameRec.size, "type metadata")
    add(m.frame_vars, m.nframe_vars, L.MetaFrameVarRec.size, "type metadata")
    add(m.sites, m.nsites, L.MetaSiteRec.size, "type metadata")
