"""The malloc leaf (__default_lib_malloc): a live chunk (or the pool object registered inside it:
pool.describe_pool), or a freed chunk."""
from __future__ import annotations

from typing import TYPE_CHECKING, Callable, Optional

from . import layout as L
from .address_description import AddressDescription, Level, heap_site
from .heap import Chunk
from .cxx import dynamic_type, library_site, library_via, readable_name, string_buffer_type
from .pool import describe_pool
from .types import MetaTypes
from .uniqtype import UType
from .leaf_types import fill_types

if TYPE_CHECKING:  # Session.describe() reaches this module: a run-time import would be circular
    from .session import Session


def describe_heap(s: Session, d: AddressDescription, addr: int, found: Optional[Chunk]) -> bool:
    """The live chunk `found` (the composition's one lookup of addr's chunk), or a pool object
    inside it."""
    if found is None:
        return False
    chunk = found  # not Optional: the closures below read it
    d.push(Level(L.MALLOC, chunk.base, chunk.size, None))
    hdr = s.reader.try_u64(chunk.base - 8)
    s.integrity.check_chunk(chunk.base, chunk.usable, hdr, chunk.site_id, chunk.slack, chunk.seq)
    pc, type_addr = s.checked_site_record(chunk.site_id)
    d.allocator, d.base, d.size, d.state = L.MALLOC, chunk.base, chunk.size, "live"
    seq: Optional[int] = chunk.seq
    chunk_pc = pc

    def find_chunk(types: MetaTypes) -> Optional[UType]:
        t = types.of_chunk(type_addr, chunk_pc, chunk.size)
        if t is None:
            t = string_buffer_type(s, chunk_pc, chunk.size)
            if t is not None:
                d.notes.append("a std::string's buffer (its site is in std::basic_string's code)")
                return t
        dyn = dynamic_type(s, types, chunk.base, t, chunk.size)
        if dyn is None:
            return t
        d.notes.append(f"dynamic type {dyn[0].c_name}, from its vtable pointer "
                       f"({readable_name(s.target, dyn[1])})")
        return dyn[0]
    find: Callable[[MetaTypes], Optional[UType]] = find_chunk

    pool = describe_pool(s, d, addr, chunk, lambda types: types.of_chunk(type_addr, chunk_pc, chunk.size))
    if pool is not None:
        pc, seq, find = pool
    line = s.source_line(pc)
    function = line.function if line else None
    if function is None:  # a site in a library without debug information (libstdc++)
        lib = library_site(s, pc)
        function = lib[1] if lib is not None else None
    d.site = heap_site(pc, function, line.file if line else None, line.line if line else None, seq)
    via = library_via(s, pc)
    if via is not None:
        d.site["via"] = via
    if addr >= d.base + d.size:
        d.notes.append(f"{addr - d.base - d.size} bytes past the requested size (in malloc's slack)")
    fill_types(s, d, find, meta_at=chunk_pc or 0, what="site")
    return True


def describe_freed(s: Session, d: AddressDescription, addr: int) -> bool:
    found = s.heap.find_freed(addr)
    if found is None:
        return False
    base, usable = found
    d.push(Level(L.MALLOC, base, usable, None))
    d.allocator, d.base, d.size, d.state = L.MALLOC, base, usable, "freed"
    d.notes.append("a freed malloc chunk: size is malloc's usable size; the allocation site is gone")
    return True
