"""The heap graph's two passes over the heap's memory, written for a million chunks: read every
span of nearby live chunks once (heap.chunk_bases, heap.chunk_spans) and decode each chunk's header and
trailer; then, once every chunk's extent is known, look at every word of every span at once for
values inside a chunk, and keep those that are pointers: any word of an untyped chunk, only the
pointer members of a typed one. The per-word filter is one list comprehension over a span's
words (C loops); Python code runs per chunk and per candidate pointer only."""
from __future__ import annotations

from array import array
from bisect import bisect_right
from dataclasses import dataclass, field
from itertools import accumulate
from typing import Callable, Dict, FrozenSet, List, Optional, Tuple

from . import layout as L
from .errors import MemoryUnreadable
from .heap import MAX_USABLE, chunk_spans
from .session import Session


@dataclass(frozen=True)
class PointerRule:
    """Which offsets of a typed chunk hold pointers: `offsets` inside each `stride`-byte element
    when `repeat`, else inside the object, and every word from `tail` on (past the type)."""

    offsets: FrozenSet[int]
    stride: int
    repeat: bool
    tail: int


@dataclass
class Chunks:
    bases: List[int] = field(default_factory=list)  # a list: bisect on it runs in C
    sizes: "array[int]" = field(default_factory=lambda: array("Q"))
    ends: "array[int]" = field(default_factory=lambda: array("Q"))
    site_ids: "array[int]" = field(default_factory=lambda: array("I"))
    seqs: "array[int]" = field(default_factory=lambda: array("I"))
    pool: bytearray = field(default_factory=bytearray)  # 1: hosts pool objects
    spans: List[Tuple[bytes, int, int, int]] = field(default_factory=list)  # buf, start, first, n


def read_chunks(s: Session) -> Chunks:
    """Every live chunk's base, requested size, extent, site, sequence number, and the spans'
    contents (kept for the second pass)."""
    c = Chunks()
    slack_shift, slack_mask = L.TRAILER_SLACK_SHIFT, L.TRAILER_SLACK_MASK
    unknown = L.TRAILER_SLACK_UNKNOWN
    site_shift, site_mask = L.TRAILER_SITE_SHIFT, L.TRAILER_SITE_MASK
    seq_mask, pool_bit = L.TRAILER_SEQ_MASK, L.TRAILER_POOL_BIT
    bases, sizes, ends, sids, seqs, pool = c.bases, c.sizes, c.ends, c.site_ids, c.seqs, c.pool
    for span, buf, start in _span_buffers(s):
        first = len(bases)
        words = array("Q", buf[: len(buf) & ~7])  # spans start 8 bytes below a 16-aligned base
        n = len(words)
        for b in span:
            hdr = words[(b - 8 - start) >> 3]
            usable = (hdr & ~7) - (16 if hdr & 2 else 8)
            t = (b + usable - 8 - start) >> 3
            if usable < 16 or usable >= MAX_USABLE or t >= n:
                continue
            tr = words[t]
            room = usable - 8
            slack = (tr >> slack_shift) & slack_mask
            bases.append(b)
            sizes.append(room if slack == unknown or slack > room else room - slack)
            ends.append(b + room)
            sids.append((tr >> site_shift) & site_mask)
            seqs.append(tr & seq_mask)
            pool.append(1 if tr & pool_bit else 0)
        if len(bases) > first:
            c.spans.append((buf, start, first, len(bases) - first))
    return c


def _span_buffers(s: Session):  # type: ignore[no-untyped-def]
    """(bases, buffer, buffer's start) of each span; an unreadable span one chunk at a time."""
    heap = s.heap
    for bases in heap.chunk_bases():
        for span in chunk_spans(bases):
            last = heap.chunk_at(span[-1])
            end = span[-1] + (last.usable if last is not None else 16)
            start = span[0] - 8
            try:
                yield span, s.reader.read_uncached(start, end - start), start
            except MemoryUnreadable:
                for b in span:
                    one = heap.chunk_at(b)
                    data = s.reader.try_read(b - 8, one.usable + 8) if one is not None else None
                    if data is not None:
                        yield [b], data, b - 8


def find_edges(c: Chunks, rule_of: Callable[[int], Optional[PointerRule]]
               ) -> Tuple["array[int]", "array[int]", "array[int]"]:
    """(edge_start, edge_off, edge_dst) in compressed rows. rule_of(i): chunk i's pointer rule,
    None to read every word."""
    n = len(c.bases)
    e_src, e_off, e_dst = array("I"), array("I"), array("I")
    if n:
        bases, sizes, ends = c.bases, c.sizes, c.ends
        lo, hi = bases[0], ends[-1]
        rules: Dict[int, Optional[PointerRule]] = {}
        for buf, start, first, count in c.spans:
            words = array("Q", buf[: len(buf) & ~7])
            stop = first + count
            src = first
            for k in [k for k, v in enumerate(words) if lo <= v < hi]:
                addr = start + 8 * k
                if not bases[src] <= addr or addr + 8 > bases[src] + sizes[src]:
                    found = bisect_right(bases, addr, first, stop) - 1
                    if found < first:
                        continue
                    src = found
                    if addr + 8 > bases[src] + sizes[src]:
                        continue  # a header, a trailer, slack or free memory between chunks
                off = addr - bases[src]
                if src not in rules:
                    rules[src] = rule_of(src)
                rule = rules[src]
                if rule is not None and off < rule.tail and (
                        (off % rule.stride if rule.repeat else off) not in rule.offsets):
                    continue  # typed memory that is not a pointer there
                v = words[k]
                j = bisect_right(bases, v) - 1
                if v < ends[j] and j != src:
                    e_src.append(src)
                    e_off.append(off)
                    e_dst.append(j)
            rules.clear()
    counts = [0] * (n + 1)
    for i in e_src:
        counts[i + 1] += 1
    return array("Q", accumulate(counts)), e_off, e_dst
