"""Heap chunks: lookup of the chunk holding an address, and the walk of every live chunk.

Mirrors the runtime (docs/runtime-layout.md "Heap chunks"): chunk starts are non-zero bytes in
per-region byte maps (one byte per 16-byte granule, 128 MiB regions); an interior pointer scans
backwards at most 32 KiB of map (the nearest start holds it or nothing does), and only when no
start is found there, the large-chunk table; sizes come from glibc's chunk header; the 8-byte
trailer holds sequence number, site id and slack. The walk reads chunk_l1 and the maps in big
blocks and chunk headers/trailers in whole heap spans, so a million chunks cost a few hundred
debugger reads, not millions.
"""
from __future__ import annotations

import bisect
import re
import struct
from dataclasses import dataclass
from itertools import compress
from typing import Callable, Iterator, List, Optional, Tuple

from . import layout as L
from .errors import MemoryUnreadable
from .memory import Reader
from .root import Root

_U64 = struct.Struct("<Q")
_NONZERO = re.compile(rb"[^\x00]+")
_MARK = re.compile(rb"[^\x00]")
MAX_USABLE = 1 << 40
USER_LIMIT = 1 << 47
SCAN_GRANULES = L.LARGE_CHUNK_BYTES >> L.GRANULE_SHIFT
_REGION_GRANULE_SHIFT = L.CHUNK_REGION_SHIFT - L.GRANULE_SHIFT
L1_BLOCK = 1 << 20  # bytes of chunk_l1 read at once by the walk (1/8 of it)
MAP_BLOCK = 1 << 20  # bytes of byte map read at once by the walk (covers 16 MiB of heap)
_ZERO_L1_BLOCK = bytes(L1_BLOCK)
_ZERO_MAP_BLOCK = bytes(MAP_BLOCK)
SPAN_GAP = 64 * 1024  # chunks closer than this are read in one span
SPAN_MAX = 4 << 20


@dataclass
class Chunk:
    base: int
    usable: int  # the underlying malloc's usable size (trailer included)
    size: int  # requested size
    site_id: int
    seq: int
    has_pool_objects: bool
    slack: int = 0  # the trailer's slack field (TRAILER_SLACK_UNKNOWN when unknown)

    @property
    def end(self) -> int:
        """The end of the part an address can be in (the trailer is excluded)."""
        return self.base + self.usable - L.TRAILER_BYTES


def usable_from_header(hdr: int) -> Optional[int]:
    """glibc: size = hdr & ~7; usable = size - 16 if mmapped (bit 1) else size - 8."""
    size = hdr & ~7
    usable = size - 16 if hdr & 2 else size - 8
    if usable < 16 or usable >= MAX_USABLE or size & 7:
        return None
    return usable


def decode_trailer(base: int, usable: int, trailer: int) -> Optional[Chunk]:
    slack = (trailer >> L.TRAILER_SLACK_SHIFT) & L.TRAILER_SLACK_MASK
    room = usable - L.TRAILER_BYTES
    if room <= 0:
        return None  # a half-written or foreign record
    size = room if slack == L.TRAILER_SLACK_UNKNOWN or slack > room else room - slack
    return Chunk(base, usable, size, (trailer >> L.TRAILER_SITE_SHIFT) & L.TRAILER_SITE_MASK,
                 trailer & L.TRAILER_SEQ_MASK, bool(trailer & L.TRAILER_POOL_BIT), slack)


Report = Callable[[int, str], None]


def _ignore(addr: int, what: str) -> None:
    pass


class Heap:
    def __init__(self, reader: Reader, root: Root, report: Report = _ignore,
                 map_problem: Callable[[int, int], Optional[str]] = lambda region, m: None) -> None:
        self.r = reader
        self.root = root
        self.report = report  # damage met by a lookup (integrity.Integrity.report)
        self.map_problem = map_problem  # why a region's byte map address is wrong (integrity), or None

    # ---- chunk-start byte maps ----
    def region_map(self, region: int) -> int:
        """The address of a 128 MiB region's chunk-start byte map, or 0."""
        l1 = self.root.rec.chunk_l1
        if not l1 or not 0 <= region < L.CHUNK_L1_ENTRIES:
            return 0
        m = self.r.try_u64(l1 + 8 * region) or 0
        problem = self.map_problem(region, m) if m else None
        if problem is not None:
            self.report(l1 + 8 * region, f"chunk_l1[{region}] = {m:#x}: {problem}")
            return 0
        return m

    def _starts_below(self, addr: int, granules: int) -> Iterator[int]:
        """Marked chunk starts (non-zero map bytes) at or below addr, nearest first, within
        `granules` granules below addr's own; a region whose map is absent or unreadable has none."""
        g = addr >> L.GRANULE_SHIFT  # absolute granule index (inclusive)
        lo = max(0, g - granules)
        while g >= lo:
            region = g >> _REGION_GRANULE_SHIFT
            first = region << _REGION_GRANULE_SHIFT
            start = max(lo, first)
            m = self.region_map(region)
            data = self.r.try_read(m + (start - first), g - start + 1) if m else None
            if data is not None:
                for i in reversed([mk.start() for mk in _MARK.finditer(data)]):
                    if data[i] <= L.CHUNK_MARK_SIZED_MAX:
                        self._check_sized_mark(m + (start - first) + i, (start + i) << L.GRANULE_SHIFT,
                                               data[i])
                    yield (start + i) << L.GRANULE_SHIFT
            g = first - 1

    def _check_sized_mark(self, at: int, base: int, mark: int) -> None:
        """A start byte of 1..SIZED_MAX gives the chunk's usable size (16 * byte - 8), which the
        runtime's lookups use instead of the header: the two must agree."""
        hdr = self.r.try_u64(base - 8)
        usable = usable_from_header(hdr) if hdr is not None else None
        if usable is not None and usable != 16 * mark - L.TRAILER_BYTES:
            self.report(at, f"the chunk-start byte {mark:#x} says {16 * mark - L.TRAILER_BYTES} usable "
                            f"bytes, the header at {base - 8:#x} {usable}")

    def is_marked(self, addr: int) -> bool:
        """Is addr a marked chunk start (its byte in the map non-zero)?"""
        if addr & ((1 << L.GRANULE_SHIFT) - 1) or not 0 <= addr < USER_LIMIT:
            return False
        m = self.region_map(addr >> L.CHUNK_REGION_SHIFT)
        if not m:
            return False
        data = self.r.try_read(m + ((addr & L.CHUNK_REGION_MASK) >> L.GRANULE_SHIFT), 1)
        return bool(data and data[0])

    # ---- one chunk ----
    def chunk_at(self, base: int, usable: Optional[int] = None) -> Optional[Chunk]:
        """Decodes the chunk whose user pointer is base; None when its records are inconsistent."""
        if usable is None:
            hdr = self.r.try_u64(base - 8)
            if hdr is None:
                return None
            usable = usable_from_header(hdr)
            if usable is None:
                return None
        trailer = self.r.try_u64(base + usable - L.TRAILER_BYTES)
        if trailer is None:
            return None
        return decode_trailer(base, usable, trailer)

    def header_problem(self, base: int, hdr: Optional[int]) -> Optional[str]:
        """Why glibc's header of the live chunk at base cannot be right, or None: an arena chunk's
        size is a multiple of 16 and the next chunk's header marks it in use (PREV_INUSE); an
        mmapped chunk is whole pages."""
        if hdr is None:
            return f"the header of the chunk at {base:#x} is not mapped"
        size = hdr & ~7
        if hdr & 2:
            if (base - 16) % 4096 or size % 4096:
                return f"the mmapped chunk header {hdr:#x} at {base - 8:#x} is not whole pages"
            return None
        nxt = self.r.try_u64(base - 16 + size + 8) if size % 16 == 0 and 32 <= size < MAX_USABLE else None
        if nxt is None or not nxt & 1 or (nxt & ~7) < 16 or (nxt & ~7) % 16:
            return f"the chunk header {hdr:#x} at {base - 8:#x} does not agree with the next chunk's"
        return None

    def find_chunk(self, addr: int) -> Optional[Chunk]:
        """The live chunk holding addr (interior pointers included), exactly as the runtime finds it."""
        if addr < 4096 or addr >= USER_LIMIT:
            return None
        for b in self._starts_below(addr, SCAN_GRANULES):
            # Chunks never overlap: if the nearest start does not reach addr, no chunk does.
            c = self.chunk_at(b)
            if c is None:
                self.report(b - 8, f"the chunk marked live at {b:#x} has a header or trailer that does not "
                                   "decode")
                return None
            if addr >= c.end:  # addr is past it: only right if glibc's records agree on its size
                problem = self.header_problem(b, self.r.try_u64(b - 8))
                if problem is not None:
                    self.report(b - 8, problem)
                return None
            return c
        return self.find_large(addr)  # no start within 32 KiB: only a large chunk can hold addr

    def large_chunks(self) -> List[Tuple[int, int]]:
        rec = self.root.rec
        n = min(rec.nlarge_chunks, 1 << 20)
        if not rec.large_chunks or not n:
            return []
        data = self.r.try_read(rec.large_chunks, n * L.LargeChunkRec.size)
        if data is None:
            return []
        return [(int(b), int(u)) for b, u in L.LargeChunkRec.iter_unpack(data)]

    def find_large(self, addr: int) -> Optional[Chunk]:
        table = self.large_chunks()
        lo = bisect.bisect_right(table, (addr, 1 << 64))  # the entries with base <= addr
        if lo == 0:
            return None
        base, usable = table[lo - 1]
        if addr >= base + usable - L.TRAILER_BYTES:
            return None
        return self.chunk_at(base, usable)

    def find_freed(self, addr: int) -> Optional[Tuple[int, int]]:
        """A freed glibc chunk holding addr: (user pointer, usable size), found by walking glibc's
        chunk headers forward from the nearest live chunk (at most 32 KiB, 256 steps)."""
        for b in self._starts_below(addr, SCAN_GRANULES):
            c = self.chunk_at(b)
            if c is None:
                return None
            hdr_addr = b - 16  # glibc chunk start: prev_size, size, then user data
            hdr = self.r.try_u64(b - 8)
            if hdr is None:
                return None
            at = hdr_addr + (hdr & ~7)
            for _ in range(256):
                size_word = self.r.try_u64(at + 8)
                if size_word is None:
                    return None
                size = size_word & ~7
                if size < 32 or size > 4 * L.LARGE_CHUNK_BYTES:
                    return None
                if at + 16 <= addr < at + size:
                    user = at + 16
                    if self.is_marked(user):
                        return None  # live after all: the caller looked it up already
                    return user, size - 8
                if at + size > addr:
                    return None
                at += size
            return None
        return None

    # ---- the walk ----
    def chunk_bases(self) -> Iterator[List[int]]:
        """Sorted user pointers of every chunk marked live, in batches (one per map block)."""
        for region, map_addr in self._mapped_regions():
            yield from self._region_bases(region, map_addr)

    def byte_maps(self) -> Iterator[Tuple[int, int]]:
        """(region, map address) of every chunk-start byte map, in address order."""
        return self._mapped_regions()

    def _mapped_regions(self) -> Iterator[Tuple[int, int]]:
        """(region, map address) of every chunk_l1 entry that is not 0, in address order."""
        l1_addr = self.root.rec.chunk_l1
        if not l1_addr:
            return
        for off in range(0, 8 * L.CHUNK_L1_ENTRIES, L1_BLOCK):
            try:
                block = self.r.read_uncached(l1_addr + off, L1_BLOCK)
            except MemoryUnreadable:
                continue
            if block == _ZERO_L1_BLOCK:
                continue
            # A run of non-zero bytes may cover several entries, and one entry may hold several runs.
            runs = [range(m.start() // 8, (m.end() + 7) // 8) for m in _NONZERO.finditer(block)]
            for e in sorted({e for run in runs for e in run}):
                (map_addr,) = _U64.unpack_from(block, e * 8)
                if map_addr:
                    yield off // 8 + e, map_addr

    def _region_bases(self, region: int, map_addr: int) -> Iterator[List[int]]:
        region_base = region << L.CHUNK_REGION_SHIFT
        for off in range(0, L.CHUNK_MAP_BYTES, MAP_BLOCK):
            try:
                block = self.r.read_uncached(map_addr + off, MAP_BLOCK)
            except MemoryUnreadable:
                continue
            if block == _ZERO_MAP_BLOCK:
                continue
            yield _marked(block, region_base + (off << L.GRANULE_SHIFT))

    def walk(self) -> Iterator[Chunk]:
        """Every live chunk whose header and trailer decode consistently, in address order."""
        for bases in self.chunk_bases():
            for span in chunk_spans(bases):
                yield from self._span_chunks(span)

    def walk_raw(self) -> Iterator[Tuple[int, int, int]]:
        """(base, usable, trailer) of every live chunk: the fast path for census and ls."""
        for bases in self.chunk_bases():
            for span in chunk_spans(bases):
                yield from self._span_raw(span)

    def _span_chunks(self, span: List[int]) -> Iterator[Chunk]:
        for base, usable, trailer in self._span_raw(span):
            c = decode_trailer(base, usable, trailer)
            if c is not None:
                yield c

    def _span_raw(self, span: List[int]) -> Iterator[Tuple[int, int, int]]:
        start = span[0] - 8
        end = span[-1]
        try:
            buf = self.r.read_uncached(start, end - start)
        except MemoryUnreadable:
            for b in span:  # something in the span is unreadable: one chunk at a time
                c = self.chunk_at(b)
                if c is not None:
                    yield b, c.usable, self.r.u64(b + c.usable - 8)
            return
        unpack = _U64.unpack_from
        n = len(buf)
        for b in span:
            (hdr,) = unpack(buf, b - 8 - start)
            size = hdr & ~7
            usable = size - 16 if hdr & 2 else size - 8
            if usable < 16 or usable >= MAX_USABLE:
                continue
            t_off = b + usable - 8 - start
            if t_off + 8 <= n:
                (trailer,) = unpack(buf, t_off)
            else:
                t = self.r.try_u64(b + usable - 8)
                if t is None:
                    continue
                trailer = t
            yield b, usable, trailer


def _marked(block: bytes, base0: int) -> List[int]:
    """base0 + 16 * i for every non-zero byte i of a map block, in C loops: itertools.compress for a
    dense block, a regex over the non-zero runs for a sparse one (both skip zeros without Python
    bytecode per byte)."""
    step = 1 << L.GRANULE_SHIFT
    marks = len(block) - block.count(0)
    if marks * 16 >= len(block):
        return list(compress(range(base0, base0 + len(block) * step, step), block))
    bases: List[int] = []
    for m in _NONZERO.finditer(block):
        s, e = m.span()
        if e - s == 1:
            bases.append(base0 + s * step)
        else:
            bases.extend(range(base0 + s * step, base0 + e * step, step))
    return bases


def chunk_spans(bases: List[int]) -> Iterator[List[int]]:
    """Groups sorted bases into runs that are cheap to read in one go."""
    if not bases:
        return
    span = [bases[0]]
    for b in bases[1:]:
        if b - span[-1] > SPAN_GAP or b - span[0] > SPAN_MAX:
            yield span
            span = [b]
        else:
            span.append(b)
    yield span
