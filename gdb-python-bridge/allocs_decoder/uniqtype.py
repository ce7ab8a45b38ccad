"""The run-time type model: one struct uniqtype (allocs_uniqtype.h) as the bridge holds it, its
members, the answer to "which type and field is at this offset", and the types the runtime makes
up on demand (arrays sized by a chunk, base types of the auxv area), made here the same way.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Dict, List, Optional, Tuple

from . import layout as L

MAX_MEMBERS = 4096  # members, enumerators or params of one type
MAX_DEPTH = 32  # nesting followed when computing a path or rendering

# DWARF base type encodings (DW_ATE_*), as the runtime stores them in struct uniqtype.encoding.
ATE_BOOLEAN, ATE_FLOAT = 2, 4
ATE_SIGNED, ATE_SIGNED_CHAR, ATE_UNSIGNED, ATE_UNSIGNED_CHAR = 5, 6, 7, 8

KIND_NAMES = {L.KIND_VOID: "void", L.KIND_BASE: "base", L.KIND_POINTER: "pointer", L.KIND_ARRAY: "array",
              L.KIND_STRUCT: "struct", L.KIND_UNION: "union", L.KIND_ENUM: "enum",
              L.KIND_FUNCTION: "function",
              L.KIND_FRAME: "frame"}
COMPOSITE = (L.KIND_STRUCT, L.KIND_UNION, L.KIND_FRAME)


@dataclass(frozen=True)
class TypeAnswer:
    type: Optional[str]  # C spelling of the whole allocation, e.g. "struct point[3]"
    uniqtype: Optional[str]  # canonical name, e.g. "__ARR3_point"
    path: str  # field/element path to the address, e.g. "[1].y"; "" at the base
    path_type: Optional[str]  # C spelling of the type at the path, e.g. "int"
    notes: Tuple[str, ...] = ()
    utype: Optional["UType"] = None
    path_utype: Optional["UType"] = None
    path_offset: int = 0  # where the innermost type starts, from the allocation's base


@dataclass
class UMember:
    name: str
    type: Optional["UType"]
    offset: int
    bit_offset: int = 0
    bit_size: int = 0

    @property
    def size(self) -> int:
        if self.bit_size:
            return (self.bit_offset + self.bit_size + 7) // 8
        return self.type.size if self.type is not None else 0


@dataclass
class UType:
    """One struct uniqtype (addr None: made up by the bridge, as the runtime would make it)."""

    addr: Optional[int]
    name: str
    c_name: str
    size: int
    kind: int
    encoding: int = 0
    flags: int = 0
    bit_size: int = 0
    related_addr: int = 0
    count: int = 0
    items: int = 0
    related_obj: Optional["UType"] = None  # made-up types hold their element directly
    members_obj: Optional[List[UMember]] = None
    extra: Dict[str, object] = field(default_factory=dict)

    @property
    def kind_name(self) -> str:
        return KIND_NAMES.get(self.kind, f"kind#{self.kind}")

    @property
    def is_pointer(self) -> bool:
        return self.kind == L.KIND_POINTER


def same_type(a: UType, b: UType) -> bool:
    """Whether a and b are one type as the runtime uniques them. Two types read from memory are
    one when they are one struct uniqtype (the same address). A type without an address (read
    from a metadata file on disk because the runtime had not loaded it, or made up here) has no
    identity to compare: every such type would equal every other (None == None), and in a
    process whose types the runtime has not loaded yet (lazy loading: all of them come from
    disk, live or in a core) a `Shape[2]` chunk's vtable class `Circle` was taken for "already
    its static type". Those compare as the runtime's uniquing merges instances (meta_load.c):
    the same canonical name, kind and size."""
    if a is b:
        return True
    if a.addr is not None and b.addr is not None:
        return a.addr == b.addr
    return a.name == b.name and a.kind == b.kind and a.size == b.size


def array_c_name(el: UType, n: int) -> str:
    """As the runtime spells it: "int[42]", "char *[2]", "int[2][3]" (an array of arrays)."""
    c = el.c_name or "?"
    br = c.find("[") if el.kind == L.KIND_ARRAY else -1
    return f"{c[:br]}[{n}]{c[br:]}" if br >= 0 else f"{c}[{n}]"


def make_array(el: UType, n: int) -> UType:
    return UType(None, f"__ARR{n}_{el.name}", array_c_name(el, n), n * el.size, L.KIND_ARRAY, count=n,
                 related_obj=el)


def make_header(t: UType, h: int) -> UType:
    """As the runtime's header_of: `__HDR<h>_T`, an h-byte header, then one T (SITE_HEADER)."""
    u = make_base("unsigned_char$8", "unsigned char", ATE_UNSIGNED_CHAR, 8)
    members = [UMember("__header", make_array(u, h), 0), UMember("object", t, h)]
    return UType(None, f"__HDR{h}_{t.name}", f"{t.c_name or t.name} (after a {h}-byte header)", h + t.size,
                 L.KIND_STRUCT, count=2, members_obj=members)


def make_base(name: str, c_name: str, encoding: int, bits: int) -> UType:
    return UType(None, name, c_name, bits // 8, L.KIND_BASE, encoding=encoding, bit_size=bits)
