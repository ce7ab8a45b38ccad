"""Synthetic memory images of a process with the allocs runtime, for decoder unit tests.

ImageBuilder lays out a root, chunk-start byte maps, a glibc-style heap with trailers, sites, the
large-chunk table, bigs, objects, threads and pool records with their bitmaps, exactly as
allocs_layout.h (version 2) says,
in a sparse address space that FakeTarget serves (unmapped bytes raise MemoryUnreadable).
"""
from __future__ import annotations

import bisect
import struct
from typing import Dict, List, Optional, Tuple

from allocs_decoder import layout as L
from allocs_decoder.errors import MemoryUnreadable
from allocs_decoder.target import Mapping, SourceLine, Symbolization

ROOT_ADDR = 0x7F0000001000
L1_ADDR = 0x7F0001000000  # chunk_l1: 2^20 entries, 8 MiB
MAP_ADDR = 0x7F0010000000  # chunk-start byte maps, one per 128 MiB region, 8 MiB apart
SUB_L1_ADDR = 0x7F0000300000  # sub_l1: 2^17 entries, 1 MiB
SUB_BITMAP_ADDR = 0x7F0020000000  # pool-object bitmaps, one per 1 GiB region, 8 MiB apart
TABLES = 0x7F0000400000
HEAP = 0x555555559000


class FakeTarget:
    """A sparse address space: non-overlapping (start, bytearray) regions."""

    def __init__(self) -> None:
        self.regions: List[Tuple[int, bytearray]] = []
        self.symbols: Dict[str, int] = {}
        self.lines: Dict[int, SourceLine] = {}
        self.syms: List[Symbolization] = []
        self.maps: List[Mapping] = []
        self.reads = 0

    def map(self, addr: int, size: int) -> None:
        for start, buf in self.regions:
            if start < addr + size and addr < start + len(buf):
                raise AssertionError(f"overlapping regions at {addr:#x}")
        self.regions.append((addr, bytearray(size)))
        self.regions.sort(key=lambda r: r[0])

    def _find(self, addr: int) -> Tuple[int, bytearray]:
        i = bisect.bisect_right([r[0] for r in self.regions], addr) - 1
        if i < 0:
            raise MemoryUnreadable(addr, 1)
        start, buf = self.regions[i]
        if not start <= addr < start + len(buf):
            raise MemoryUnreadable(addr, 1)
        return start, buf

    def write(self, addr: int, data: bytes) -> None:
        start, buf = self._find(addr)
        if addr + len(data) > start + len(buf):
            raise AssertionError(f"write past the region at {addr:#x}")
        buf[addr - start: addr - start + len(data)] = data

    def u64(self, addr: int, value: int) -> None:
        self.write(addr, struct.pack("<Q", value & ((1 << 64) - 1)))

    # ---- Target ----
    def read_memory(self, addr: int, size: int) -> bytes:
        self.reads += 1
        start, buf = self._find(addr)
        if addr + size > start + len(buf):
            raise MemoryUnreadable(addr, size)
        return bytes(buf[addr - start: addr - start + size])

    def lookup_symbol(self, name: str) -> Optional[int]:
        return self.symbols.get(name)

    def source_line(self, pc: int) -> Optional[SourceLine]:
        return self.lines.get(pc)

    def symbolize(self, addr: int) -> Optional[Symbolization]:
        for s in self.syms:
            if s.base <= addr < s.base + (s.size or 1):
                return s
        return None

    def mappings(self) -> List[Mapping]:
        return self.maps


class ImageBuilder:
    def __init__(self, heap_size: int = 1 << 20) -> None:
        self.t = FakeTarget()
        self.t.map(ROOT_ADDR, L.RootRec.size)
        self.t.map(L1_ADDR, 8 * L.CHUNK_L1_ENTRIES)
        self.t.map(SUB_L1_ADDR, 8 * L.SUB_L1_ENTRIES)
        self.t.map(TABLES, 1 << 20)
        self.t.map(HEAP, heap_size)
        self.heap_end = HEAP + 0x10  # glibc's first chunk header sits at heap start
        self.heap_top = HEAP + heap_size
        self.root = dict(magic=L.MAGIC, version=L.LAYOUT_VERSION, root_size=L.RootRec.size,
                         flags=L.ROOT_F_INITIALISED | L.ROOT_F_GLIBC_MALLOC, chunk_l1=L1_ADDR,
                         sub_l1=SUB_L1_ADDR)
        self.regions: Dict[int, int] = {}
        self.sub_regions: Dict[int, int] = {}
        self.sites: List[Tuple[int, int]] = [(0, 0)]
        self.large: List[Tuple[int, int]] = []
        self.bigs: List[bytes] = []
        self.threads: List[bytes] = []
        self.suballocs: Dict[int, Tuple[int, int, int, int, int]] = {}
        self.allocator_names: List[str] = []
        self.strings_at = TABLES + 0x80000
        self.t.symbols[L.ROOT_SYMBOL] = ROOT_ADDR
        self.seq = 0

    # ---- strings, byte maps and bitmaps ----
    def string(self, text: str) -> int:
        addr = self.strings_at
        self.t.write(addr, text.encode() + b"\0")
        self.strings_at += len(text) + 1
        return addr

    def _region(self, regions: Dict[int, int], l1: int, area: int, size: int, shift: int,
                addr: int) -> int:
        """The map or bitmap of addr's region (made, and entered in l1, on first use)."""
        region = addr >> shift
        if region not in regions:
            m = area + len(regions) * size
            self.t.map(m, size)
            self.t.u64(l1 + 8 * region, m)
            regions[region] = m
        return regions[region]

    def mark_chunk(self, addr: int, value: int = L.CHUNK_MARK_PLAIN) -> None:
        """Sets addr's byte in its region's chunk-start map (0 unmarks; malloc writes what the
        runtime does)."""
        m = self._region(self.regions, L1_ADDR, MAP_ADDR, L.CHUNK_MAP_BYTES, L.CHUNK_REGION_SHIFT, addr)
        self.t.write(m + ((addr & L.CHUNK_REGION_MASK) >> L.GRANULE_SHIFT), bytes([value]))

    def _sub_bit(self, addr: int) -> None:
        bm = self._region(self.sub_regions, SUB_L1_ADDR, SUB_BITMAP_ADDR, L.SUB_BITMAP_BYTES,
                          L.SUB_REGION_SHIFT, addr)
        g = (addr & L.SUB_REGION_MASK) >> L.GRANULE_SHIFT
        word = bm + 8 * (g >> 6)
        old = struct.unpack("<Q", self.t.read_memory(word, 8))[0]
        self.t.u64(word, old | 1 << (g & 63))

    # ---- heap ----
    def site(self, pc: int, function: str, file: str, line: int) -> int:
        self.sites.append((pc, 0))
        self.t.lines[pc - 1] = SourceLine(function, file, line)
        return len(self.sites) - 1

    def malloc(self, size: int, site: int = 0, track: bool = True, pool: bool = False,
               slack_unknown: bool = False) -> int:
        """A glibc-style chunk: header at base - 8 (size | PREV_INUSE), trailer at the end."""
        need = size + 8 + 8  # requested + trailer + header
        csize = max(32, (need + 15) & ~15)
        base = self.heap_end
        self.t.u64(base - 8, csize | 1)
        usable = csize - 8
        self.heap_end += csize
        self.seq += 1
        slack = L.TRAILER_SLACK_UNKNOWN if slack_unknown else usable - 8 - size
        trailer = (self.seq & L.TRAILER_SEQ_MASK) | (L.TRAILER_POOL_BIT if pool else 0) | \
            (site << L.TRAILER_SITE_SHIFT) | (min(slack, L.TRAILER_SLACK_UNKNOWN) << L.TRAILER_SLACK_SHIFT)
        self.t.u64(base + usable - 8, trailer)
        if track:
            large = usable - L.TRAILER_BYTES >= L.LARGE_CHUNK_BYTES
            self.mark_chunk(base, L.CHUNK_MARK_SLOW if pool or large else
                            csize >> 4 if csize >> 4 <= L.CHUNK_MARK_SIZED_MAX else L.CHUNK_MARK_PLAIN)
            if large:
                self.large.append((base, usable))
        return base

    def new_heap(self, start: int, size: int) -> None:
        """Maps another heap area (e.g. across a 128 MiB region boundary); later chunks go there."""
        self.t.map(start, size)
        self.heap_end = start + 0x10
        self.heap_top = start + size

    def free_chunk(self, base: int) -> None:
        self.mark_chunk(base, 0)
        self.large = [(b, u) for b, u in self.large if b != base]

    def top(self) -> None:
        """The top chunk after the last allocation (what glibc leaves at the end of the heap)."""
        self.t.u64(self.heap_end - 8, (self.heap_top - self.heap_end + 16) | 1)

    # ---- pools ----
    def allocator(self, name: str) -> int:
        self.allocator_names.append(name)
        return len(self.allocator_names) - 1

    def pool_object(self, allocator: int, base: int, size: int, site: int, seq: int) -> None:
        self.suballocs[base] = (base, size, site, allocator, seq)
        self._sub_bit(base & ~15)

    # ---- levels ----
    def big(self, begin: int, end: int, kind: int, parent: int = -1, flags: int = 0,
            obj: int = L.NO_OBJECT, site: int = 0, name: Optional[str] = None) -> int:
        self.bigs.append(L.BigRec.pack(begin=begin, end=end, parent=parent, kind=kind, flags=flags,
                                       object=obj,
                                       site=site, name=self.string(name) if name else 0))
        return len(self.bigs) - 1

    def thread(self, lo: int, hi: int, tid: int, allocs: int, frees: int, b_in: int, b_out: int) -> None:
        self.threads.append(L.ThreadRec.pack(stack_lo=lo, stack_hi=hi, tid=tid, flags=1, allocs=allocs,
                                             frees=frees, bytes_allocated=b_in, bytes_freed=b_out))

    # ---- finish ----
    def build(self) -> FakeTarget:
        at = TABLES

        def table(blob: bytes) -> int:
            nonlocal at
            addr = at
            if blob:
                self.t.write(addr, blob)
            at += (len(blob) + 15) & ~15
            return addr

        self.root["sites"] = table(b"".join(L.SiteRec.pack(pc=p, type=ty) for p, ty in self.sites))
        self.root["nsites"] = self.root["sites_capacity"] = len(self.sites)
        large = sorted(self.large)
        self.root["large_chunks"] = table(b"".join(L.LargeChunkRec.pack(base=b, usable=u) for b, u in large))
        self.root["nlarge_chunks"] = len(large)
        self.root["bigs"] = table(b"".join(self.bigs))
        self.root["nbigs"] = self.root["bigs_capacity"] = len(self.bigs)
        self.root["threads"] = table(b"".join(self.threads))
        self.root["nthreads"] = self.root["threads_capacity"] = len(self.threads)
        names = [self.string(n) for n in self.allocator_names]
        self.root["allocators"] = table(b"".join(struct.pack("<Q", n) for n in names))
        self.root["nallocators"] = len(names)
        if self.suballocs:
            cap = 64
            recs = [bytearray(L.SuballocRec.size) for _ in range(cap)]
            shift = 64 - (cap.bit_length() - 1)
            for base, (b, size, site, alloc, seq) in self.suballocs.items():
                slot = (((base >> 4) * L.SUBALLOC_HASH_MULTIPLIER) & ((1 << 64) - 1)) >> shift
                while struct.unpack_from("<Q", recs[slot])[0] > 1:
                    slot = (slot + 1) % cap
                recs[slot][:] = L.SuballocRec.pack(base=b, size=size, site=site, allocator=alloc, seq=seq)
            self.root["suballocs"] = table(b"".join(bytes(r) for r in recs))
            self.root["suballocs_capacity"] = cap
        self.t.write(ROOT_ADDR, L.RootRec.pack(**self.root))
        return self.t
