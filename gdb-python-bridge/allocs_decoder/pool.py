"""The pool allocator: objects registered by custom (pool/arena) allocators and declared
suballocators inside malloc chunks (the runtime's pool.c), and the leaf one of them gives.

Object starts are bits in the sub_l1 bitmaps (one bit per 16-byte granule, 1 GiB regions: not
the chunks' byte maps); the records are an open-addressing table keyed by base
(docs/runtime-layout.md "Pool objects").
"""
from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable, Dict, Iterator, Optional, Tuple

from . import layout as L
from .address_description import AddressDescription, Level
from .heap import Chunk, Heap
from .memory import Reader
from .root import Root
from .uniqtype import make_array

if TYPE_CHECKING:  # the Session calls describe(), which reaches describe_pool
    from .session import Session
    from .types import MetaTypes
    from .uniqtype import UType

MAX_CAPACITY = 1 << 24
MAX_SCAN_GRANULES = 1 << 20
TABLE_BLOCK = 1 << 20
_REGION_GRANULE_SHIFT = L.SUB_REGION_SHIFT - L.GRANULE_SHIFT


def sub_bitmap(r: Reader, sub_l1: int, region: int) -> int:
    """The address of a 1 GiB region's pool-object bitmap, or 0."""
    if not sub_l1 or not 0 <= region < L.SUB_L1_ENTRIES:
        return 0
    return r.try_u64(sub_l1 + 8 * region) or 0


def set_bits_below(r: Reader, sub_l1: int, addr: int, granules: int) -> Iterator[int]:
    """Granules (as addresses) whose bit is set in the sub_l1 bitmaps, at or below addr, nearest
    first, within `granules` granules below addr's own; an absent or unreadable bitmap has none."""
    end = addr >> L.GRANULE_SHIFT  # absolute granule index (inclusive)
    lo = max(0, end - granules)
    g = end
    while g >= lo:
        region = g >> _REGION_GRANULE_SHIFT
        first = region << _REGION_GRANULE_SHIFT
        start = max(lo, first)
        bm = sub_bitmap(r, sub_l1, region)
        w_lo = (start - first) >> 6
        w_hi = (g - first) >> 6
        data = r.try_read(bm + 8 * w_lo, 8 * (w_hi - w_lo + 1)) if bm else None
        if data is not None:
            words = struct.unpack(f"<{w_hi - w_lo + 1}Q", data)
            for wi in range(len(words) - 1, -1, -1):
                w = words[wi]
                first_g = first + ((w_lo + wi) << 6)
                while w:
                    bit = w.bit_length() - 1
                    w ^= 1 << bit
                    if start <= first_g + bit <= g:
                        yield (first_g + bit) << L.GRANULE_SHIFT
        g = first - 1


@dataclass
class PoolObject:
    allocator: str
    allocator_index: int
    base: int
    size: int
    site: int
    seq: int


class Pools:
    def __init__(self, reader: Reader, root: Root, heap: Heap) -> None:
        self.r = reader
        self.root = root
        self.heap = heap
        self.report = heap.report  # damage met (integrity.Integrity.report)
        self._names: Dict[int, str] = {}

    def allocator_name(self, index: int) -> str:
        if index in self._names:
            return self._names[index]
        rec = self.root.rec
        name = None
        if rec.allocators and index < min(rec.nallocators, 4096):
            ptr = self.r.try_u64(rec.allocators + index * L.AllocatorRec.size)
            name = self.r.cstring(ptr, 256) if ptr else None
            if ptr and name is None:
                self.report(rec.allocators + index * L.AllocatorRec.size,
                            f"allocator #{index}'s name {ptr:#x} is not a readable string")
        self._names[index] = name or f"allocator#{L.FIRST_CUSTOM_ALLOCATOR + index}"
        return self._names[index]

    def _capacity(self) -> int:
        cap = self.root.rec.suballocs_capacity
        if not self.root.rec.suballocs or cap <= 0 or cap > MAX_CAPACITY or cap & (cap - 1):
            return 0
        return int(cap)

    def lookup(self, base: int) -> Optional[PoolObject]:
        """The record whose base is exactly base (hash probe bounded by the capacity)."""
        cap = self._capacity()
        if not cap or base <= L.SUBALLOC_DELETED:
            return None
        shift = 64 - (cap.bit_length() - 1)
        slot = (((base >> 4) * L.SUBALLOC_HASH_MULTIPLIER) & ((1 << 64) - 1)) >> shift if shift < 64 else 0
        table = self.root.rec.suballocs
        for i in range(cap):
            at = table + ((slot + i) & (cap - 1)) * L.SuballocRec.size
            data = self.r.try_read(at, L.SuballocRec.size)
            if data is None:
                return None
            rec = L.SuballocRec.unpack(data)
            if rec.base == L.SUBALLOC_EMPTY:
                return None
            if rec.base == base:
                return self._object(rec)
        return None

    def _object(self, rec: object) -> PoolObject:
        idx = int(rec.allocator)  # type: ignore[attr-defined]
        return PoolObject(self.allocator_name(idx), idx, rec.base, rec.size,  # type: ignore[attr-defined]
                          rec.site, rec.seq)  # type: ignore[attr-defined]

    def find(self, addr: int, chunk: Chunk) -> Optional[PoolObject]:
        """The pool object holding addr inside chunk, as the runtime finds it: the registered
        object with the greatest base in [chunk.base, addr] (a set bit marks a granule in which
        one or more objects start, so each of its 16 possible bases is probed), if it reaches addr."""
        if not self.root.rec.sub_l1:
            return None
        granules = min((addr - chunk.base) >> L.GRANULE_SHIFT, MAX_SCAN_GRANULES) + 1
        for g in set_bits_below(self.r, self.root.rec.sub_l1, addr, granules):
            if g + 15 < chunk.base:
                return None
            for k in range(min(addr - g, 15), -1, -1):
                if g + k < chunk.base:
                    break
                obj = self.lookup(g + k)
                if obj is not None:
                    return obj if addr - obj.base < obj.size else None
            if g >= chunk.base and all(self.lookup(g + k) is None for k in range(16)):
                # A set bit says an object starts in this granule: its record must be there.
                self.report(self.root.rec.suballocs, f"the pool bitmap marks an object start at {g:#x}, "
                                                     "but no pool record has a base there")
                return None
        return None

    def walk(self) -> Iterator[PoolObject]:
        cap = self._capacity()
        size = L.SuballocRec.size
        table = self.root.rec.suballocs
        per_block = TABLE_BLOCK // size
        for first in range(0, cap, per_block):
            n = min(per_block, cap - first)
            data = self.r.try_read(table + first * size, n * size)
            if data is None:
                continue
            for rec in L.SuballocRec.unpack_all(data, n):
                if rec.base > L.SUBALLOC_DELETED and rec.allocator < 4096:
                    yield self._object(rec)


def suballoc_type(types: "MetaTypes", obj: PoolObject) -> Optional["UType"]:
    """The type of an object a declared suballocator returned (LIBALLOCS_SUBALLOC_FNS): its site
    is the redirected call's return address, whose SITES record (flagged SITE_SUBALLOC) types it
    as a malloc call there would be, sized by the object (an array site: T[size / sizeof T]).
    None for objects registered through the C API, whose site has no such record."""
    if not obj.site or not types.site_flags(obj.site) & L.SITE_SUBALLOC:
        return None
    return types.of_chunk(0, obj.site, obj.size)


def pool_type(types: "MetaTypes", chunk_type: Optional["UType"], chunk_base: int, base: int,
              size: int) -> Optional["UType"]:
    """A pool object carries no type of its own in the runtime: when its chunk is an array of T and
    the object is a whole number of those elements, it is T (or T[n])."""
    if chunk_type is None or chunk_type.kind != L.KIND_ARRAY:
        return None
    el = types.related(chunk_type)
    if el is None or not el.size or (base - chunk_base) % el.size or size % el.size or not size:
        return None
    return el if size == el.size else make_array(el, size // el.size)


TypeFinder = Callable[["MetaTypes"], Optional["UType"]]


def describe_pool(s: "Session", d: AddressDescription, addr: int, chunk: Chunk,
                  chunk_type: TypeFinder) -> Optional[Tuple[Optional[int], int, TypeFinder]]:
    """The pool object holding addr inside the live chunk (pushed as the leaf below it): its site,
    its sequence number and how to type it (its SUBALLOC site's record, else its chunk's element
    type: chunk_type gives the chunk's). None when no object is registered there."""
    if not chunk.has_pool_objects:
        return None
    found = s.pools.find(addr, chunk)
    s.integrity.check_pool_object(chunk, found)
    if found is None:
        return None
    obj = found  # not Optional: find_pool reads it
    d.push(Level(obj.allocator, obj.base, obj.size, None))
    d.allocator, d.base, d.size = obj.allocator, obj.base, obj.size

    def find_pool(types: "MetaTypes") -> Optional["UType"]:
        t = suballoc_type(types, obj)
        if t is not None:
            return t
        t = pool_type(types, chunk_type(types), chunk.base, obj.base, obj.size)
        if t is not None:
            d.notes.append("a pool object: its type is that of its chunk's elements")
        return t
    return obj.site or None, obj.seq, find_pool
