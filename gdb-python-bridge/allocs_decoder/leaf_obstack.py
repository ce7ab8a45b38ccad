"""The obstack leaf: an address in a GNU obstack's chunk (glibc's <obstack.h>), which is itself a
malloc chunk one level up. The runtime lists the obstacks the program began in `__allocs_obstacks`
(runtime/src/obstack.c, docs/runtime-layout.md "GNU obstacks"); this module reads that list and
glibc's structs through it as the runtime does, trusting nothing: every chunk of an obstack's
chain must be a live malloc chunk whose requested size reaches exactly its limit. Objects have no
recorded boundaries (obstack macros bump next_free inline), so the answer is the obstack, its
chunk, and the part holding the address: the used part [contents, next_free) of the current chunk
(an older chunk is used up to its limit) or the free tail [next_free, limit)."""
from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import TYPE_CHECKING, Optional

from . import layout as L
from .address_description import AddressDescription, Level, hexaddr
from .heap import Chunk

if TYPE_CHECKING:  # Session.describe() reaches this module: a run-time import would be circular
    from .session import Session

OBSTACK = "obstack"  # the allocator's name, as runtime/src/obstack.c's obstack_allocator says
_HEAD = struct.Struct("<5Q")  # struct obstack up to chunk_limit


@dataclass
class ObstackHit:
    obstack: int  # the struct obstack's address
    chunk: int  # the struct _obstack_chunk's (the malloc chunk's base)
    limit: int
    next_free: Optional[int]  # None for an older chunk of the chain


def _chunk_at(s: Session, p: int) -> Optional[int]:
    """p's limit when p is an obstack chunk's base by malloc's account, else None."""
    if not p or p & 15:
        return None
    c = s.heap.find_chunk(p)
    if c is None or c.base != p or c.size < L.OBCHUNK_OFF_CONTENTS:
        return None
    limit = s.reader.try_u64(p + L.OBCHUNK_OFF_LIMIT)
    return limit if limit == p + c.size else None


def _holds(s: Session, h: int, base: int) -> Optional[ObstackHit]:
    """The obstack at h, when its chain holds the chunk at base."""
    raw = s.reader.try_read(h, _HEAD.size)
    if raw is None:
        return None
    f = _HEAD.unpack(raw)
    chunk, object_base = f[L.OBSTACK_OFF_CHUNK // 8], f[L.OBSTACK_OFF_OBJECT_BASE // 8]
    next_free, chunk_limit = f[L.OBSTACK_OFF_NEXT_FREE // 8], f[L.OBSTACK_OFF_CHUNK_LIMIT // 8]
    limit = _chunk_at(s, chunk)
    if limit is None or chunk_limit != limit or not (
            chunk + L.OBCHUNK_OFF_CONTENTS <= object_base <= next_free <= limit):
        return None
    for n in range(L.OBSTACK_MAX_CHUNKS):
        if chunk == base:
            return ObstackHit(h, chunk, limit, next_free if n == 0 else None)
        older = s.reader.try_u64(chunk + L.OBCHUNK_OFF_PREV)
        older_limit = _chunk_at(s, older) if older is not None else None
        if older is None or older_limit is None:
            return None
        chunk, limit = older, older_limit
    return None


def find_obstack(s: Session, addr: int, chunk: Chunk) -> Optional[ObstackHit]:
    """The registered obstack whose chain holds the live malloc chunk around addr, when addr is in
    that chunk's contents; the runtime's obstack_describe, in the same order (a chunk holding
    pool objects is the pool's)."""
    if chunk.has_pool_objects:
        return None
    limit = _chunk_at(s, chunk.base)
    if limit is None or not chunk.base + L.OBCHUNK_OFF_CONTENTS <= addr < limit:
        return None
    table = s.reader.target.lookup_symbol(L.OBSTACKS_SYMBOL)
    raw = s.reader.try_read(table, 8 * L.OBSTACK_SLOTS) if table else None
    if raw is None:
        return None
    for (h,) in struct.iter_unpack("<Q", raw):
        hit = _holds(s, h, chunk.base) if h else None
        if hit is not None:
            return hit
    return None


def describe_obstack(s: Session, d: AddressDescription, addr: int, chunk: Optional[Chunk]) -> bool:
    """The used part or free tail of an obstack's chunk holding addr, below the live malloc chunk
    `chunk` (the composition's one lookup of addr's chunk)."""
    hit = find_obstack(s, addr, chunk) if chunk is not None else None
    if chunk is None or hit is None:
        return False
    contents = hit.chunk + L.OBCHUNK_OFF_CONTENTS
    used_end = hit.next_free if hit.next_free is not None else hit.limit
    used = addr < used_end
    base, size = (contents, used_end - contents) if used else (used_end, hit.limit - used_end)
    d.push(Level(L.MALLOC, chunk.base, chunk.size, None))
    d.push(Level(OBSTACK, base, size, None))
    d.allocator, d.base, d.size, d.state = OBSTACK, base, size, "live" if used else "unknown"
    d.site = {"obstack": hexaddr(hit.obstack), "chunk": hexaddr(hit.chunk), "limit": hexaddr(hit.limit),
              "nextFree": hexaddr(hit.next_free), "part": "used" if used else "free"}
    where = f"obstack {hit.obstack:#x}'s chunk {hit.chunk:#x}..{hit.limit:#x}"
    d.notes.append(f"in the used part of {where}: objects carved by the obstack macros, whose "
                   "boundaries nothing records" if used else
                   f"in the free tail of {where}: room the obstack has not handed out yet")
    return True
