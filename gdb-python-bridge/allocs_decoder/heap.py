"""Heap chunks: lookup of the chunk holding an address, and the walk of every live chunk.

Mirrors the runtime (docs/runtime-layout.md "Heap chunks"): chunk starts are bits in per-GiB
bitmaps; an interior pointer scans backwards at most 32 KiB, then the large-chunk table; sizes
come from glibc's chunk header; the 8-byte trailer holds sequence number, site id and slack.
The walk reads bitmaps in big blocks and chunk headers/trailers in whole heap spans, so a
million chunks cost a few hundred debugger reads, not millions.
"""
from __future__ import annotations

import bisect
import re
import struct
from dataclasses import dataclass
from typing import Iterator, List, Optional, Tuple

from . import layout as L
from .errors import MemoryUnreadable
from .memory import Reader
from .root import Root

_U64 = struct.Struct("<Q")
_NONZERO = re.compile(rb"[^\x00]+")
# For each byte value, the positions of its set bits.
_BITS: List[Tuple[int, ...]] = [tuple(i for i in range(8) if v >> i & 1) for v in range(256)]
MAX_USABLE = 1 << 40
USER_LIMIT = 1 << 47
SCAN_GRANULES = L.LARGE_CHUNK_BYTES >> L.GRANULE_SHIFT
BITMAP_BLOCK = 1 << 20  # bytes of bitmap read at once by the walk (covers 128 MiB of heap)
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
                 trailer & L.TRAILER_SEQ_MASK, bool(trailer & L.TRAILER_POOL_BIT))


class Heap:
    def __init__(self, reader: Reader, root: Root) -> None:
        self.r = reader
        self.root = root
        self._l1: Optional[bytes] = None

    # ---- bitmaps ----
    def region_bitmap(self, region: int, l1: int = 0) -> int:
        """The address of a 1 GiB region's bitmap, or 0."""
        if not 0 <= region < L.L1_ENTRIES or not (l1 or self.root.rec.chunk_l1):
            return 0
        return self.r.try_u64((l1 or self.root.rec.chunk_l1) + 8 * region) or 0

    def _set_bits_below(self, addr: int, granules: int, l1: int = 0) -> Iterator[int]:
        """Addresses of set bits at or below addr, nearest first, within `granules` granules."""
        end = addr >> L.GRANULE_SHIFT  # absolute granule index (inclusive)
        lo = max(0, end - granules)
        g = end
        while g >= lo:
            region = g >> (L.REGION_SHIFT - L.GRANULE_SHIFT)
            region_first = region << (L.REGION_SHIFT - L.GRANULE_SHIFT)
            bm = self.region_bitmap(region, l1)
            start = max(lo, region_first)
            if bm:
                w_lo = (start - region_first) >> 6
                w_hi = (g - region_first) >> 6
                data = self.r.try_read(bm + 8 * w_lo, 8 * (w_hi - w_lo + 1))
                if data is not None:
                    words = struct.unpack(f"<{w_hi - w_lo + 1}Q", data)
                    for wi in range(len(words) - 1, -1, -1):
                        w = words[wi]
                        if not w:
                            continue
                        first_g = region_first + ((w_lo + wi) << 6)
                        for bit in range(63, -1, -1):
                            gg = first_g + bit
                            if w >> bit & 1 and start <= gg <= g:
                                yield gg << L.GRANULE_SHIFT
            g = region_first - 1

    def bit_set(self, addr: int, l1: int = 0) -> bool:
        g = (addr & L.REGION_MASK) >> L.GRANULE_SHIFT
        bm = self.region_bitmap(addr >> L.REGION_SHIFT, l1)
        if not bm:
            return False
        w = self.r.try_u64(bm + 8 * (g >> 6))
        return bool(w and w >> (g & 63) & 1)

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

    def find_chunk(self, addr: int) -> Optional[Chunk]:
        """The live chunk holding addr (interior pointers included), exactly as the runtime finds it."""
        if addr < 4096 or addr >= USER_LIMIT:
            return None
        for b in self._set_bits_below(addr, SCAN_GRANULES):
            c = self.chunk_at(b)
            if c is not None and addr < c.end:
                return c
            break  # the nearest chunk start does not reach addr: no small chunk does
        return self.find_large(addr)

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
        for b in self._set_bits_below(addr, SCAN_GRANULES):
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
                    if self.bit_set(user):
                        return None  # live after all: the caller looked it up already
                    return user, size - 8
                if at + size > addr:
                    return None
                at += size
            return None
        return None

    # ---- the walk ----
    def chunk_bases(self) -> Iterator[List[int]]:
        """Sorted user pointers of every chunk marked live, in batches (one per bitmap block)."""
        l1_addr = self.root.rec.chunk_l1
        if not l1_addr:
            return
        try:
            l1 = self.r.read_uncached(l1_addr, 8 * L.L1_ENTRIES)
        except MemoryUnreadable:
            return
        # A run of non-zero bytes may cover several entries, and one entry may hold several runs.
        runs = [(m.start() // 8, (m.end() - 1) // 8) for m in _NONZERO.finditer(l1)]
        regions = sorted({r for first, last in runs for r in range(first, last + 1)})
        for region in regions:
            (bm,) = _U64.unpack_from(l1, region * 8)
            if bm:
                yield from self._region_bases(region, bm)

    def _region_bases(self, region: int, bm: int) -> Iterator[List[int]]:
        region_base = region << L.REGION_SHIFT
        for off in range(0, L.REGION_BITMAP_BYTES, BITMAP_BLOCK):
            try:
                block = self.r.read_uncached(bm + off, BITMAP_BLOCK)
            except MemoryUnreadable:
                continue
            if not block.strip(b"\0"):
                continue
            bases: List[int] = []
            add = bases.append
            base0 = region_base + off * 8 * 16
            for m in _NONZERO.finditer(block):
                for i in range(m.start(), m.end()):
                    at = base0 + i * 128
                    for bit in _BITS[block[i]]:
                        add(at + (bit << 4))
            yield bases

    def walk(self) -> Iterator[Chunk]:
        """Every live chunk whose header and trailer decode consistently, in address order."""
        for bases in self.chunk_bases():
            for span in _spans(bases):
                yield from self._span_chunks(span)

    def walk_raw(self) -> Iterator[Tuple[int, int, int]]:
        """(base, usable, trailer) of every live chunk: the fast path for census and ls."""
        for bases in self.chunk_bases():
            for span in _spans(bases):
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


def _spans(bases: List[int]) -> Iterator[List[int]]:
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
