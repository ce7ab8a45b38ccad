"""Reading struct uniqtype records (allocs_uniqtype.h) from the inferior's memory: a type, its
members, enumerators and parameters, each read once per Session and cached.

Every record is untrusted (a core may be corrupted): counts and string lengths are bounded,
pointers are checked by reading them, cycles are cut, and anything inconsistent is "type
unknown" rather than an error.
"""
from __future__ import annotations

import re

from typing import Callable, Dict, List, Optional, Set, Tuple

from . import layout as L
from .memory import Reader
from .uniqtype import COMPOSITE, KIND_NAMES, MAX_MEMBERS, TypeAnswer, UMember, UType
from .uniqtype_paths import answer

MAX_NAME = 1024
FRAME_ARGS_LIMIT = 16384  # bytes of stack-passed arguments a frame's members may reach above its CFA
# The canonical name's prefix each kind has (docs/type-names.md).
KIND_PREFIX = {L.KIND_POINTER: "__PTR_", L.KIND_ARRAY: "__ARR", L.KIND_FUNCTION: "__FUN_FROM_",
               L.KIND_FRAME: "__FRAME_"}


_BASE_NAME = re.compile(r".+\$\d{1,4}")
_UNIQUE_SUFFIX = re.compile(r"\$[0-9a-f]{8}$")
# Names typegen derives or makes up (docs/type-names.md): never a base type's, whatever they end in.
MADE_UP_PREFIXES = ("__PTR_", "__ARR", "__FUN_", "__FRAME_", "__NEWARR_", "__EXC_", "__FLEX", "__HDR",
                    "__anon_", "__opaque")


def _ignore(addr: int, what: str) -> None:
    pass


def record_problem(rec: object, name: Optional[str], c_name: Optional[str]) -> Optional[str]:
    """Why a uniqtype record cannot be right (its kind, name, spelling and size disagree), or None."""
    kind, size = rec.kind, rec.size  # type: ignore[attr-defined]
    if kind not in KIND_NAMES:
        return f"unknown kind {kind}"
    if not name:
        return "its name is not a readable string"
    if size >= 1 << 48:
        return f"size {size} is implausible"
    prefix = KIND_PREFIX.get(kind)
    if prefix is not None and not name.startswith(prefix):
        return f"a {KIND_NAMES[kind]} type named {name!r}"
    if prefix is None and name.startswith("__") and name.split("_")[2:3] in (["PTR"], ["FUN"], ["FRAME"]):
        return f"a {KIND_NAMES[kind]} type named {name!r}"
    if kind == L.KIND_POINTER and size != 8:
        return f"a pointer type of size {size}"
    # void, and what typegen writes as void: an opaque or unresolvable type, DWARF's unspecified
    # type (`decltype(nullptr)`), each under its own name; never sized, never a struct's spelling
    if kind == L.KIND_VOID and (size != 0 or (c_name or "").startswith(("struct ", "union ", "enum "))):
        return f"a void type {name!r} ({c_name!r}, {size} bytes)"
    if kind == L.KIND_ENUM and size not in (1, 2, 4, 8):
        return f"an enum of size {size}"
    # Only base types are `stem$bits` (docs/type-names.md; `__int128$128` too); a name made
    # unique in its file ends in `$` and 8 hex digits (`_IO_FILE$9706ee6f`), of any kind.
    base_like = _BASE_NAME.fullmatch(name) is not None and not name.startswith(MADE_UP_PREFIXES)
    if (kind == L.KIND_BASE) != base_like:
        return f"a {KIND_NAMES[kind]} type named {name!r}"
    if kind == L.KIND_BASE:
        tail = name.rpartition("$")[2]
        bits = int(tail) if tail.isdigit() else 0
        exact = bits % 8 == 0 and "BitInt" not in name  # _BitInt(N) is padded to a power of two
        if not bits or size * 8 < bits or (exact and size * 8 != bits):
            return f"the base type {name!r} has size {size}"
    # Types typegen makes up (`__anon_...`, C++'s `__NEWARR_T` and `__EXC_T`, a trailing array's
    # `__FLEX<n>_S`, a header's `__HDR<h>_T`) are spelled in C differently from their name.
    # A name made unique in its file (`_IO_FILE$9706ee6f`, docs/metadata-format.md) is spelled in
    # C without its suffix (`struct _IO_FILE`).
    named = not name.startswith("__")
    stem = name[:-9] if _UNIQUE_SUFFIX.search(name) else name
    if kind in (L.KIND_STRUCT, L.KIND_UNION, L.KIND_ENUM) and named and c_name and not c_name.endswith(stem):
        return f"its name {name!r} and C spelling {c_name!r} disagree"
    return None


def derived_problem(t: UType, r: UType) -> Optional[str]:
    """Why a pointer or array type cannot be derived from its related type: its canonical name
    spells the related type's (and an array's length), and an array's size is length * element."""
    if t.kind == L.KIND_POINTER and t.name != "__PTR_" + r.name:
        return f"the pointer type {t.name!r} points to {r.name!r}"
    if t.kind == L.KIND_ARRAY and t.count and t.name != f"__ARR{t.count}_{r.name}":
        return f"the array type {t.name!r} has {t.count} elements of {r.name!r}"
    if t.kind == L.KIND_ARRAY and t.count and r.size and t.size != t.count * r.size:
        return f"the array type {t.name!r} has size {t.size}, not {t.count} * {r.size}"
    return None


class TypeRecords:
    """The uniqtype records reachable from one Session (one stop)."""

    def __init__(self, reader: Reader, report: Callable[[int, str], None] = _ignore) -> None:
        self.r = reader
        self.report = report  # damage met (integrity.Integrity.report)
        self._bad: Dict[int, str] = {}
        self._bad_members: Set[int] = set()
        self._types: Dict[int, Optional[UType]] = {}
        self._members: Dict[int, Optional[List[UMember]]] = {}
        self._strings: Dict[int, Optional[str]] = {}

    def _string(self, ptr: int) -> Optional[str]:
        if ptr not in self._strings:
            self._strings[ptr] = self.r.cstring(ptr, MAX_NAME) if ptr else None
        return self._strings[ptr]

    def get(self, addr: int) -> Optional[UType]:
        """The struct uniqtype at addr (incomplete types resolved as the runtime's meta_resolve
        does), or None when it is unreadable or inconsistent."""
        t = self._raw(addr)
        if t is not None and t.flags & L.TYPE_F_INCOMPLETE and t.related_addr and t.kind in (
                L.KIND_STRUCT, L.KIND_UNION, L.KIND_ENUM):
            done = self._raw(t.related_addr)
            if done is not None and done.kind == t.kind:
                return done
        return t

    def _raw(self, addr: int) -> Optional[UType]:
        if not addr or addr & 7:
            return None
        if addr in self._types:
            if addr in self._bad:
                self.report(addr, self._bad[addr])
            return self._types[addr]
        self._types[addr] = None  # a cycle through this record reads as unknown
        data = self.r.try_read(addr, L.UniqtypeRec.size)
        t: Optional[UType] = None
        problem: Optional[str] = "not mapped"
        if data is not None:
            rec = L.UniqtypeRec.unpack(data)
            name = self._string(rec.name)
            c_name = self._string(rec.c_name)
            problem = record_problem(rec, name, c_name)
            if problem is None and (rec.c_name == 0 or c_name is None):
                problem = f"its C spelling at {rec.c_name:#x} is not a readable string"
            if problem is None and name:
                t = UType(addr, name, c_name or name, rec.size, rec.kind, rec.encoding, rec.flags,
                          rec.bit_size,
                          rec.related, rec.count, rec.items)
        if problem is not None:
            self._bad[addr] = f"type record: {problem}"
            self.report(addr, self._bad[addr])
        self._types[addr] = t
        return t

    def related(self, t: UType) -> Optional[UType]:
        if t.related_obj is not None:
            return t.related_obj
        r = self.get(t.related_addr) if t.related_addr else None
        if r is None and t.addr is not None and t.kind in (L.KIND_ARRAY, L.KIND_POINTER):
            self._bad.setdefault(t.addr, f"type record: {t.name} has no readable related type")
            self.report(t.addr, self._bad[t.addr])
        if r is not None and t.addr is not None:
            problem = derived_problem(t, r)
            if problem is not None:
                self._bad[t.addr] = f"type record: {problem}"
                self.report(t.addr, self._bad[t.addr])
        return r

    def members(self, t: UType) -> List[UMember]:
        """A composite's members (empty when unreadable or implausible)."""
        if t.members_obj is not None:
            return t.members_obj
        if t.kind not in COMPOSITE or t.addr is None:
            return []
        if t.addr in self._members:
            if (self._members[t.addr] is None or t.addr in self._bad_members) and t.addr in self._bad:
                self.report(t.addr, self._bad[t.addr])
            return self._members[t.addr] or []
        self._members[t.addr] = None
        out: Optional[List[UMember]] = None
        problem: Optional[str] = None
        if t.count > MAX_MEMBERS or (t.count and (not t.items or t.items & 7)):
            problem = f"{t.count} members at {t.items:#x}"
        # (a C++ empty class, std::allocator<void> or an empty base, has no members in 1 byte)
        elif not t.count and t.size > 1 and t.kind != L.KIND_FRAME and not t.flags & L.TYPE_F_INCOMPLETE:
            problem = f"no members in {t.size} bytes"
        elif t.count:
            data = self.r.try_read(t.items, t.count * L.UniqtypeMemberRec.size)
            problem = f"its {t.count} members at {t.items:#x} are not mapped" if data is None else None
            if data is not None:
                out = []
                for m in L.UniqtypeMemberRec.unpack_all(data, t.count):
                    mt = self.get(m.type)
                    name = self._string(m.name) if m.name else ""
                    if mt is None and problem is None:  # that member's type is unknown; the rest stands
                        problem = f"member {name!r} has no readable type"
                    if (name == "" and mt is not None and not m.bit_size and problem is None
                            and mt.kind not in (L.KIND_STRUCT, L.KIND_UNION)):
                        problem = f"a member at offset {m.offset} has no name but is not a struct or union"
                    # A frame's parameters passed on the stack lie above the CFA, past its size.
                    limit = t.size + FRAME_ARGS_LIMIT if t.kind == L.KIND_FRAME else t.size
                    if name is None or m.offset > limit:
                        problem = f"member {name!r} (offset {m.offset}) is unreadable or outside the type"
                        out = None
                        break
                    if (mt is not None and not m.bit_size and t.kind != L.KIND_FRAME
                            and m.offset + mt.size > t.size and problem is None):
                        problem = (f"member {name!r} ({mt.size} bytes at offset {m.offset}) ends past its "
                                   f"{t.size} bytes")
                    out.append(UMember(name, mt, m.offset, m.bit_offset, m.bit_size))
        if problem is not None:
            self._bad[t.addr] = f"type {t.name}: {problem}"
            self.report(t.addr, self._bad[t.addr])
        self._members[t.addr] = out
        if out is not None and problem is not None:
            self._bad_members.add(t.addr)
        return out or []

    def enumerators(self, t: UType) -> List[Tuple[str, int]]:
        if "enumerators" in t.extra:  # a type read from a metadata file (meta_file.py)
            return list(t.extra["enumerators"])  # type: ignore[call-overload]
        if t.kind != L.KIND_ENUM or not t.items or not 0 < t.count <= MAX_MEMBERS:
            return []
        data = self.r.try_read(t.items, t.count * L.UniqtypeEnumeratorRec.size)
        if data is None:
            return []
        recs = L.UniqtypeEnumeratorRec.unpack_all(data, t.count)
        return [(self._string(e.name) or "?", e.value) for e in recs]

    def params(self, t: UType) -> List[Optional[UType]]:
        if "params" in t.extra:
            return list(t.extra["params"])  # type: ignore[call-overload]
        if t.kind != L.KIND_FUNCTION or not t.items or not 0 < t.count <= MAX_MEMBERS:
            return []
        data = self.r.try_read(t.items, 8 * t.count)
        if data is None:
            return []
        return [self.get(int.from_bytes(data[8 * i: 8 * i + 8], "little")) for i in range(t.count)]

    def answer(self, t: UType, offset: int, base_offset: int = 0) -> TypeAnswer:
        """type/uniqtype/path/pathType for `offset` bytes into an allocation of type t
        (uniqtype_paths.answer)."""
        return answer(self, t, offset, base_offset)
