"""Reading struct uniqtype records (allocs_uniqtype.h) from the inferior's memory: a type, its
members, enumerators and parameters, each read once per Session and cached.

Every record is untrusted (a core may be corrupted): counts and string lengths are bounded,
pointers are checked by reading them, cycles are cut, and anything inconsistent is "type
unknown" rather than an error.
"""
from __future__ import annotations

from typing import Dict, List, Optional, Tuple

from . import layout as L
from .memory import Reader
from .uniqtype import COMPOSITE, KIND_NAMES, MAX_MEMBERS, TypeAnswer, UMember, UType
from .uniqtype_paths import answer

MAX_NAME = 1024


class TypeRecords:
    """The uniqtype records reachable from one Session (one stop)."""

    def __init__(self, reader: Reader) -> None:
        self.r = reader
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
            return self._types[addr]
        self._types[addr] = None  # a cycle through this record reads as unknown
        data = self.r.try_read(addr, L.UniqtypeRec.size)
        t: Optional[UType] = None
        if data is not None:
            rec = L.UniqtypeRec.unpack(data)
            name = self._string(rec.name)
            c_name = self._string(rec.c_name)
            if name and rec.kind in KIND_NAMES and rec.size < (1 << 48):
                t = UType(addr, name, c_name or name, rec.size, rec.kind, rec.encoding, rec.flags,
                          rec.bit_size,
                          rec.related, rec.count, rec.items)
        self._types[addr] = t
        return t

    def related(self, t: UType) -> Optional[UType]:
        if t.related_obj is not None:
            return t.related_obj
        return self.get(t.related_addr) if t.related_addr else None

    def members(self, t: UType) -> List[UMember]:
        """A composite's members (empty when unreadable or implausible)."""
        if t.members_obj is not None:
            return t.members_obj
        if t.kind not in COMPOSITE or t.addr is None:
            return []
        if t.addr in self._members:
            return self._members[t.addr] or []
        self._members[t.addr] = None
        out: Optional[List[UMember]] = None
        if 0 < t.count <= MAX_MEMBERS and t.items:
            data = self.r.try_read(t.items, t.count * L.UniqtypeMemberRec.size)
            if data is not None:
                out = []
                for m in L.UniqtypeMemberRec.unpack_all(data, t.count):
                    mt = self.get(m.type)
                    name = self._string(m.name) if m.name else ""
                    if name is None or m.offset > (1 << 40):
                        out = None
                        break
                    out.append(UMember(name, mt, m.offset, m.bit_offset, m.bit_size))
        self._members[t.addr] = out
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
