"""The static leaf: a symbol, a section or a string literal in a loaded ELF object."""
from __future__ import annotations

from typing import TYPE_CHECKING, Optional, Tuple

from . import layout as L
from .address_description import AddressDescription, Level, static_site
from .cxx import readable_name
from .elf import ElfFile
from .target import Symbolization, optional_call
from .leaf_types import fill_types

if TYPE_CHECKING:  # Session.describe() reaches this module: a run-time import would be circular
    from .session import Session


def bias_from_mappings(s: Session, path: str, elf: ElfFile) -> Optional[int]:
    begins = [m.begin for m in s.mappings() if m.name == path]
    return min(begins) - elf.min_vaddr if begins else None


def describe_static(s: Session, d: AddressDescription, addr: int, path: Optional[str],
                    bias: Optional[int], obj: object = None) -> bool:
    symbol: Optional[str] = None
    base: Optional[int] = None
    size: Optional[int] = None
    section: Optional[str] = None
    literal = False
    if obj is not None:
        rs = s.levels.runtime_symbol(obj, addr)  # type: ignore[arg-type]
        if rs is not None:
            symbol, base, size = rs.name, rs.addr, rs.size
    dbg = optional_call(s.target, "symbolize", addr)
    dbg = dbg if isinstance(dbg, Symbolization) else None
    if path is None and dbg is not None:
        path = dbg.object
    elf = s.elf(path)  # the Target's copy of the object, else the file on this host
    if elf is not None and bias is None:
        bias = bias_from_mappings(s, path or "", elf)
    if elf is not None and bias is not None:
        sec = elf.section_at(addr - bias)
        section = sec.name if sec else None
        if symbol is None:
            es = elf.symbol_at(addr - bias)
            if es is not None:
                symbol, base, size = es.name, es.addr + bias, es.size
        if symbol is None and sec is not None:
            lit = string_at(s, addr, sec.addr + bias, sec.addr + bias + sec.size) if sec.rodata else None
            base, size = lit if lit else (sec.addr + bias, sec.size)
            literal = lit is not None
    if symbol is None and dbg is not None and dbg.size is not None and dbg.base <= addr < dbg.base + dbg.size:
        symbol, base, size = dbg.name, dbg.base, dbg.size
    if symbol is None and base is None and dbg is not None:
        symbol, section = dbg.name, dbg.section or section
        d.notes.append("the symbol's size is unknown to the debugger")
        d.allocator, d.state = L.STATIC, "live"
        d.base = dbg.base
        d.site = static_site(symbol, path, section)
        return True
    if base is None or size is None:
        return False
    symbol = readable_name(s.target, symbol)
    d.allocator, d.base, d.size, d.state = L.STATIC, base, size, "live"
    d.push(Level(L.STATIC, base, size, symbol or section))
    d.site = static_site(symbol, path, section)
    if literal and symbol is None:
        lit_size = size
        fill_types(s, d, lambda types: types.string_literal(lit_size))
    else:
        sym_base = base
        fill_types(s, d, lambda types: types.of_static(addr, sym_base), meta_at=addr, what="static")
    return True


def string_at(s: Session, addr: int, lo: int, hi: int) -> Optional[Tuple[int, int]]:
    """A string literal's extent (as the runtime finds it): printable text from the byte after the
    previous NUL to its own NUL, within 1 KiB either side of addr."""
    span = 1024
    wb = addr - span if addr - lo > span else lo
    we = addr + span if hi - addr > span else hi
    buf = s.reader.try_read(wb, we - wb) if we > addr else None
    if buf is None:
        return None
    i = addr - wb
    b = buf.rfind(b"\0", 0, i) + 1
    if b == 0 and wb != lo:
        return None
    e = buf.find(b"\0", i)
    if e < 0 or e == b:
        return None
    if any(c < 0x20 and c not in (9, 10, 13) for c in buf[b:e]):
        return None
    return wb + b, e - b + 1
