"""Run-time types, read from the inferior's memory only (live or core): the struct uniqtype
records the runtime built from each object's metadata (allocs_uniqtype.h), found through
`allocs_object.meta` -> `struct allocs_loaded_meta` (docs/runtime-layout.md).

The lookups mirror the runtime's (runtime/src/meta_types.c) so the bridge and alloc_get_type
agree: a heap chunk's type is root.sites[id].type, else its site's SITES entry (an ARRAY site
sized by the chunk: `T[size / sizeof T]`); a static's is its STATICS entry; a frame's is the
FRAMES entry holding its pc (member offsets from CFA - size); auxv types are made up exactly as
the runtime makes them. Types the runtime would make on demand (arrays sized by a chunk, auxv
arrays) are made here as Python objects (addr None), never written to the inferior.

Every record is untrusted (a core may be corrupted): counts, depths and string lengths are
bounded, pointers are checked by reading them, cycles are cut, and anything inconsistent is
"type unknown" rather than an error.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Dict, List, Optional, Protocol, Tuple

from . import layout as L
from .memory import Reader

MAX_MEMBERS = 4096  # members, enumerators or params of one type
MAX_DEPTH = 32  # nesting followed when computing a path or rendering
MAX_NAME = 1024
MAX_META_RECORDS = 1 << 22
MAX_TYPES_INDEXED = 1 << 18

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


def array_c_name(el: UType, n: int) -> str:
    """As the runtime spells it: "int[42]", "char *[2]", "int[2][3]" (an array of arrays)."""
    c = el.c_name or "?"
    br = c.find("[") if el.kind == L.KIND_ARRAY else -1
    return f"{c[:br]}[{n}]{c[br:]}" if br >= 0 else f"{c}[{n}]"


def make_array(el: UType, n: int) -> UType:
    return UType(None, f"__ARR{n}_{el.name}", array_c_name(el, n), n * el.size, L.KIND_ARRAY, count=n,
                 related_obj=el)


def make_base(name: str, c_name: str, encoding: int, bits: int) -> UType:
    return UType(None, name, c_name, bits // 8, L.KIND_BASE, encoding=encoding, bit_size=bits)


ATE_SIGNED, ATE_SIGNED_CHAR, ATE_UNSIGNED, ATE_UNSIGNED_CHAR = 5, 6, 7, 8
AT_NULL, AT_RANDOM = 0, 25


@dataclass
class LoadedMeta:
    addr: int
    bias: int
    path: Optional[str]
    rec: object


class MetaTypes:
    """Types for one Session (one stop): every record read is cached until the session ends."""

    available = True

    def __init__(self, reader: Reader, session: object) -> None:
        self.r = reader
        self.s = session
        self._types: Dict[int, Optional[UType]] = {}
        self._members: Dict[int, Optional[List[UMember]]] = {}
        self._strings: Dict[int, Optional[str]] = {}
        self._metas: Dict[int, Optional[LoadedMeta]] = {}
        self._by_name: Optional[Dict[str, int]] = None
        self._by_c_name: Optional[Dict[str, int]] = None
        self._site_types: Dict[int, Optional[UType]] = {}

    # ---- raw records ----
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
        if t.kind != L.KIND_ENUM or not t.items or not 0 < t.count <= MAX_MEMBERS:
            return []
        data = self.r.try_read(t.items, t.count * L.UniqtypeEnumeratorRec.size)
        if data is None:
            return []
        recs = L.UniqtypeEnumeratorRec.unpack_all(data, t.count)
        return [(self._string(e.name) or "?", e.value) for e in recs]

    def params(self, t: UType) -> List[Optional[UType]]:
        if t.kind != L.KIND_FUNCTION or not t.items or not 0 < t.count <= MAX_MEMBERS:
            return []
        data = self.r.try_read(t.items, 8 * t.count)
        if data is None:
            return []
        return [self.get(int.from_bytes(data[8 * i: 8 * i + 8], "little")) for i in range(t.count)]

    # ---- loaded metadata per ELF object ----
    def meta_for(self, addr: int) -> Optional[LoadedMeta]:
        """The loaded metadata of the live object whose extent holds addr."""
        obj = self.s.levels.object_for(addr)  # type: ignore[attr-defined]
        if obj is None:
            return None
        return self.meta_of(obj)

    def meta_of(self, obj: object) -> Optional[LoadedMeta]:
        idx = obj.index  # type: ignore[attr-defined]
        if idx not in self._metas:
            self._metas[idx] = None
            ptr = getattr(obj, "meta", 0)
            data = self.r.try_read(ptr, L.LoadedMetaRec.size) if ptr else None
            if data is not None:
                rec = L.LoadedMetaRec.unpack(data)
                self._metas[idx] = LoadedMeta(ptr, obj.load_bias, self._string(rec.path),  # type: ignore
                                              rec)
        return self._metas[idx]

    def metas(self) -> List[LoadedMeta]:
        out = []
        for o in self.s.levels.objects():  # type: ignore[attr-defined]
            if o.flags & L.OBJECT_F_LIVE:
                m = self.meta_of(o)
                if m is not None:
                    out.append(m)
        return out

    def type_at(self, m: LoadedMeta, idx: int) -> Optional[UType]:
        rec = m.rec
        if idx == L.META_NONE or idx >= min(rec.ntypes, MAX_META_RECORDS):  # type: ignore[attr-defined]
            return None
        ptr = self.r.try_u64(rec.type_ptrs + 8 * idx)  # type: ignore[attr-defined]
        return self.get(ptr) if ptr else None

    def _search(self, table: int, count: int, rec_type: L.RecordType, key: str, value: int,
                exact: bool) -> Optional[Tuple[int, object]]:
        """Binary search of a sorted metadata table: the last record with key <= value (exact: the
        record with key == value). Returns (index, record)."""
        n = min(count, MAX_META_RECORDS)
        lo, hi = 0, n
        size = rec_type.size
        steps = 0
        while lo < hi and steps < 64:
            steps += 1
            mid = (lo + hi) // 2
            data = self.r.try_read(table + mid * size, size)
            if data is None:
                return None
            if getattr(rec_type.unpack(data), key) <= value:
                lo = mid + 1
            else:
                hi = mid
        if lo == 0:
            return None
        data = self.r.try_read(table + (lo - 1) * size, size)
        if data is None:
            return None
        rec = rec_type.unpack(data)
        if exact and getattr(rec, key) != value:
            return None
        return lo - 1, rec

    # ---- the runtime's queries ----
    def site_type(self, pc: int) -> Optional[UType]:
        """The type SITES gives the call whose return address is pc (ARRAY: unbounded array)."""
        if pc in self._site_types:
            return self._site_types[pc]
        t: Optional[UType] = None
        m = self.meta_for(pc)
        if m is not None and m.rec.nsites:  # type: ignore[attr-defined]
            hit = self._search(m.rec.sites, m.rec.nsites, L.MetaSiteRec, "vaddr",  # type: ignore
                               (pc - m.bias) & ((1 << 64) - 1), exact=True)
            if hit is not None:
                rec = hit[1]
                t = self.type_at(m, rec.type)  # type: ignore[attr-defined]
                if t is not None and rec.flags & L.SITE_ARRAY:  # type: ignore[attr-defined]
                    t = make_array(t, 0)
        self._site_types[pc] = t
        return t

    def of_chunk(self, cached_type: int, site_pc: Optional[int], size: int) -> Optional[UType]:
        t = self.get(cached_type) if cached_type else None
        if t is None and site_pc:
            t = self.site_type(site_pc)
        if t is not None and t.kind == L.KIND_ARRAY and t.count == 0:
            el = self.related(t)
            if el is not None and el.size:
                return make_array(el, size // el.size)
        return t

    def of_static(self, addr: int, sym_base: Optional[int]) -> Optional[UType]:
        m = self.meta_for(addr)
        if m is None or not m.rec.nstatics:  # type: ignore[attr-defined]
            return None
        rec = m.rec
        a = addr - m.bias
        b = (sym_base - m.bias) if sym_base is not None else None
        hit = self._search(rec.statics, rec.nstatics, L.MetaStaticRec, "vaddr", a,  # type: ignore
                           exact=False)
        if hit is None:
            return None
        last = hit[0]
        size = L.MetaStaticRec.size
        first = max(0, last - 63)
        data = self.r.try_read(rec.statics + first * size, (last - first + 1) * size)  # type: ignore
        if data is None:
            return None
        recs = L.MetaStaticRec.unpack_all(data, last - first + 1)
        cover = None
        for s in reversed(recs):  # prefer the entry at the symbol's start, else one covering addr
            if s.type == L.META_NONE:
                continue
            if b is not None and s.vaddr == b:
                return self.type_at(m, s.type)
            if cover is None and a < s.vaddr + (s.size or 1):
                cover = s
        return self.type_at(m, cover.type) if cover is not None else None

    def of_frame(self, pc: int) -> Optional[UType]:
        m = self.meta_for(pc)
        if m is None or not m.rec.nframes:  # type: ignore[attr-defined]
            return None
        hit = self._search(m.rec.frames, m.rec.nframes, L.MetaFrameRec, "lo", pc - m.bias,  # type: ignore
                           exact=False)
        if hit is None or pc - m.bias >= hit[1].hi:  # type: ignore[attr-defined]
            return None
        return self.type_at(m, hit[1].type)  # type: ignore[attr-defined]

    def of_auxv(self, base: int, size: int) -> UType:
        """Made up as the runtime's meta_type_of_auxv makes them."""
        rec = self.s.require_root().rec  # type: ignore[attr-defined]
        char = make_base("signed_char$8", "char", ATE_SIGNED_CHAR, 8)
        if base in (rec.argv, rec.envp) and base:
            ptr = UType(None, "__PTR_signed_char$8", "char *", 8, L.KIND_POINTER, related_obj=char)
            return make_array(ptr, size // 8)
        if base == rec.auxv and base:
            ul = make_base("unsigned_long$64", "unsigned long", ATE_UNSIGNED, 64)
            entry = UType(None, "__allocs_auxv_entry", "struct __allocs_auxv_entry", 16, L.KIND_STRUCT,
                          count=2,
                          members_obj=[UMember("a_type", ul, 0), UMember("a_val", ul, 8)])
            return make_array(entry, size // 16)
        if base + 8 == rec.argv and size == 8:
            return make_base("long$64", "long", ATE_SIGNED, 64)
        if size == 16 and self._is_at_random(base):
            return make_array(make_base("unsigned_char$8", "unsigned char", ATE_UNSIGNED_CHAR, 8), 16)
        return make_array(char, size)

    def _is_at_random(self, base: int) -> bool:
        av = self.s.require_root().rec.auxv  # type: ignore[attr-defined]
        for i in range(256 if av else 0):
            pair = self.r.try_read(av + 16 * i, 16)
            if pair is None:
                return False
            a_type, a_val = int.from_bytes(pair[:8], "little"), int.from_bytes(pair[8:], "little")
            if a_type == AT_NULL:
                return False
            if a_type == AT_RANDOM:
                return a_val == base
        return False

    def string_literal(self, size: int) -> UType:
        return make_array(make_base("signed_char$8", "char", ATE_SIGNED_CHAR, 8), size)

    # ---- by name ----
    def _index(self) -> None:
        if self._by_name is not None:
            return
        by_name: Dict[str, int] = {}
        by_c: Dict[str, int] = {}
        total = 0
        for m in self.metas():
            n = min(m.rec.ntypes, MAX_TYPES_INDEXED - total)  # type: ignore[attr-defined]
            if n <= 0:
                break
            data = self.r.try_read(m.rec.type_ptrs, 8 * n)  # type: ignore[attr-defined]
            if data is None:
                continue
            total += n
            for i in range(n):
                ptr = int.from_bytes(data[8 * i: 8 * i + 8], "little")
                t = self.get(ptr)
                if t is None or t.addr is None:
                    continue
                by_name.setdefault(t.name, t.addr)
                by_c.setdefault(t.c_name, t.addr)
        self._by_name, self._by_c_name = by_name, by_c

    def lookup(self, name: str) -> Optional[UType]:
        """A loaded type by canonical name (`point`, `__ARR3_point`) or C spelling (`struct point`);
        `T[n]` spellings of loaded element types are made up."""
        self._index()
        assert self._by_name is not None and self._by_c_name is not None
        name = " ".join(name.split())
        ptr = self._by_name.get(name) or self._by_c_name.get(name)
        if ptr:
            return self.get(ptr)
        for prefix in ("struct ", "union ", "enum "):
            if name.startswith(prefix):
                ptr = self._by_name.get(name[len(prefix):])
                if ptr:
                    return self.get(ptr)
        if name.endswith("]") and "[" in name:
            head, _, n = name[:-1].rpartition("[")
            if n.isdigit():
                el = self.lookup(head.strip())
                if el is not None:
                    return make_array(el, int(n))
        return None

    def names(self) -> List[str]:
        self._index()
        assert self._by_c_name is not None
        return sorted(self._by_c_name)

    # ---- paths ----
    def answer(self, t: UType, offset: int, base_offset: int = 0) -> TypeAnswer:
        """type/uniqtype/path/pathType for `offset` bytes into an allocation of type t.
        base_offset: where the type starts relative to the allocation (frames: cfa - size - sp)."""
        notes: List[str] = []
        rel = offset - base_offset
        if offset == 0 and base_offset == 0:
            # At the base the path is "" and pathType the whole type (the contract), but the
            # innermost type is still found: who-points-to asks whether a pointer lies here.
            _path, inner, left = self.path_to(t, 0, [])
            return TypeAnswer(t.c_name, t.name, "", t.c_name, (), t, inner, -left)
        if rel < 0 or (t.size and rel >= t.size and t.kind != L.KIND_ARRAY):
            notes.append(f"offset {offset} is outside the type {t.c_name} ({t.size} bytes)")
            return TypeAnswer(t.c_name, t.name, "", None, tuple(notes), t)
        path, inner, left = self.path_to(t, rel, notes)
        inner_c = inner.c_name if inner is not None else None
        return TypeAnswer(t.c_name, t.name, path, inner_c, tuple(notes), t,
                          inner, offset - left)

    def path_to(self, t: UType, off: int, notes: List[str]) -> Tuple[str, Optional[UType], int]:
        """The path to byte `off` of t, the innermost type there and the offset left inside it."""
        parts: List[str] = []
        cur: Optional[UType] = t
        for depth in range(MAX_DEPTH):
            if cur is None:
                return "".join(parts), None, off
            if off == 0 and depth > 0 and cur.kind not in COMPOSITE and cur.kind != L.KIND_ARRAY:
                break
            if cur.kind == L.KIND_ARRAY:
                el = self.related(cur)
                if el is None or not el.size:
                    break
                i = off // el.size
                if cur.count and i >= cur.count:
                    notes.append(f"past the end of {cur.c_name}")
                    break
                parts.append(f"[{i}]")
                cur, off = el, off % el.size
                continue
            if cur.kind in COMPOSITE:
                ms = self.members(cur)
                hit = None
                covering = []
                for m in ms:
                    lo = m.offset + (m.bit_offset // 8 if m.bit_size else 0)
                    hi = m.offset + m.size if m.bit_size else m.offset + max(m.size, 1)
                    if lo <= off < hi:
                        covering.append(m)
                if covering:
                    hit = covering[0]
                if hit is None:
                    if ms:
                        notes.append(f"in padding of {cur.c_name} at byte {off}")
                    break
                if cur.kind == L.KIND_UNION and len(covering) > 1:
                    notes.append(f"a union: showing its first member covering this byte ({hit.name or '?'}); "
                                 f"also {', '.join(m.name or '?' for m in covering[1:])}")
                if hit.name:
                    parts.append(hit.name if cur.kind == L.KIND_FRAME and not parts else "." + hit.name)
                if hit.bit_size:
                    notes.append(f"a bit-field: {hit.bit_size} bits at bit {hit.bit_offset} "
                                 f"of byte {hit.offset}")
                    return "".join(parts), hit.type, off - hit.offset
                cur, off = hit.type, off - hit.offset
                continue
            break
        else:
            notes.append("type nesting too deep: path cut short")
        return "".join(parts), cur, off


class TypesProvider(Protocol):
    available: bool


class NullTypes:
    """No runtime, or types switched off: every answer is unknown."""

    available = False
