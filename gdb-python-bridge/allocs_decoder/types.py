"""Run-time types, read from the inferior's memory only (live or core): which struct uniqtype
(read by uniqtype_records) the runtime gives an allocation, through each object's loaded
metadata, `allocs_object.meta` -> `struct allocs_loaded_meta` (docs/runtime-layout.md); and
loaded types by name.

The lookups mirror the runtime's (runtime/src/meta_types.c) so the bridge and alloc_get_type
agree: a heap chunk's type is root.sites[id].type, else its site's SITES entry (an ARRAY site
sized by the chunk: `T[size / sizeof T]`); a static's is its STATICS entry; a frame's is the
FRAMES entry holding its pc (member offsets from CFA - size); auxv types are made up exactly as
the runtime makes them. Types the runtime would make on demand (arrays sized by a chunk, auxv
arrays) are made here as Python objects (addr None), never written to the inferior.

Every record is untrusted (a core may be corrupted): table sizes and binary searches are
bounded, and anything inconsistent is "type unknown" rather than an error.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Dict, List, Optional, Protocol, Tuple

from . import layout as L
from .errors import DecodeError
from .memory import Reader
from .meta_file import SUFFIX, MetaFile, load_for
from .target import optional_call
from .uniqtype import (
    ATE_SIGNED, ATE_SIGNED_CHAR, ATE_UNSIGNED, ATE_UNSIGNED_CHAR, UMember, UType, make_array, make_base,
    make_header,
)
from .uniqtype_records import TypeRecords

MAX_META_RECORDS = 1 << 22
MAX_TYPES_INDEXED = 1 << 18
AT_NULL, AT_RANDOM = 0, 25
MAX_ENV_STRINGS = 4096  # environment entries read (a damaged envp must not cost a query its time)
MAX_ENV_STRING = 4096 + 32
META_ENV = ("ALLOCS_META_PATH", "XDG_CACHE_HOME", "HOME")  # what the runtime's search reads


@dataclass
class LoadedMeta:
    addr: int
    bias: int
    path: Optional[str]
    rec: object
    file: Optional[MetaFile] = None  # read from disk: the runtime had not loaded it (addr 0)


class MetaTypes(TypeRecords):
    """Types for one Session (one stop): every record read is cached until the session ends."""

    available = True

    def __init__(self, reader: Reader, session: object) -> None:
        integrity = getattr(session, "integrity", None)
        super().__init__(reader, *([integrity.report] if integrity is not None else []))
        self.s = session
        self._metas: Dict[int, Optional[LoadedMeta]] = {}
        self._by_name: Optional[Dict[str, int]] = None
        self._by_c_name: Optional[Dict[str, int]] = None
        self._site_types: Dict[int, Optional[UType]] = {}
        self._site_damage: Dict[int, List[Tuple[int, str]]] = {}
        self._env: Optional[Dict[str, str]] = None

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
            elif not ptr:
                self._metas[idx] = self._from_disk(obj)
        return self._metas[idx]

    def _from_disk(self, obj: object) -> Optional[LoadedMeta]:
        """The object's metadata file by build-id (meta_file.py), when the runtime loaded none
        (it loads at the process's first type query: a process that asked nothing, or its core,
        has none in memory). Searched first as the runtime searched at start-up, with the
        process's own environment (ALLOCS_META_PATH, XDG_CACHE_HOME, HOME from its envp, which
        a core holds), then with the debugger's (a core read on another machine or account)."""
        build_id = bytes(getattr(obj, "build_id", b"") or b"").hex()
        f = None
        for env in (self._process_env(), None):
            try:
                f = load_for(build_id, getattr(obj, "path", None), env)
            except (OSError, ValueError):
                f = None
            if f is not None:
                break
        if f is None:
            return None
        return LoadedMeta(0, obj.load_bias, f.path, None, f)  # type: ignore[attr-defined]

    def _process_env(self) -> Optional[Dict[str, str]]:
        """The variables of the process's initial environment that steer the runtime's metadata
        search, or None when its envp cannot be read."""
        if self._env is not None:
            return self._env or None
        self._env = {}
        try:
            envp = self.s.require_root().rec.envp  # type: ignore[attr-defined]
        except (AttributeError, ValueError, DecodeError):
            return None
        for i in range(MAX_ENV_STRINGS if envp else 0):
            p = self.r.try_u64(envp + 8 * i)
            if not p:
                break
            text = self.r.cstring(p, MAX_ENV_STRING)
            name, eq, value = (text or "").partition("=")
            if eq and name in META_ENV:
                self._env[name] = value
        return self._env or None

    def why_no_meta(self, addr: int) -> Optional[str]:
        """In a core, why the object holding addr has no types, when the process had loaded none
        and no file for its build-id is on this machine (a live process keeps render.NO_TYPES:
        typegen has not run for it); None otherwise."""
        obj = self.s.levels.object_for(addr)  # type: ignore[attr-defined]
        if obj is None or obj.meta or self.meta_of(obj) is not None:
            return None
        build_id = bytes(obj.build_id or b"").hex()
        if not build_id or optional_call(getattr(self.s, "target", None), "is_core") is not True:
            return None
        name = obj.path or "the object"
        return (f"unknown (types need metadata: the core holds none for {name} (the runtime builds "
                f"them at the process's first type question, from a file it found), and no file for build-id "
                f"{build_id} is where the runtime looks on this machine (ALLOCS_META_PATH, next to the "
                f"object, the cache): copy {build_id}{SUFFIX} there from the machine the core came from, "
                f"or run `allocs typegen {name}`)")

    def metas(self) -> List[LoadedMeta]:
        out = []
        for o in self.s.levels.objects():  # type: ignore[attr-defined]
            if o.flags & L.OBJECT_F_LIVE:
                m = self.meta_of(o)
                if m is not None:
                    out.append(m)
        return out

    def completed(self, t: Optional[UType]) -> Optional[UType]:
        """A type read from disk as the runtime would have resolved it (meta_resolve): an
        incomplete struct, union or enum (a declaration: clang emits a polymorphic class's
        definition only where its vtable is) is the first complete definition of that name in the
        objects' files, in object order, when one has it."""
        if (t is None or t.addr is not None or not t.flags & L.TYPE_F_INCOMPLETE
                or t.kind not in (L.KIND_STRUCT, L.KIND_UNION, L.KIND_ENUM)):
            return t
        for m in self.metas():
            i = m.file.index_of(t.name) if m.file is not None else None
            u = m.file.type(i) if m.file is not None and i is not None else None
            if u is not None and u.kind == t.kind and not u.flags & L.TYPE_F_INCOMPLETE:
                return u
        return t

    def type_at(self, m: LoadedMeta, idx: int) -> Optional[UType]:
        if m.file is not None:
            return self.completed(m.file.type(idx))
        rec = m.rec
        if idx == L.META_NONE or idx >= min(rec.ntypes, MAX_META_RECORDS):  # type: ignore[attr-defined]
            return None
        ptr = self.r.try_u64(rec.type_ptrs + 8 * idx)  # type: ignore[attr-defined]
        return self.get(ptr) if ptr else None

    def _search(self, table: int, count: int, rec_type: L.RecordType, key: str, value: int,
                exact: bool) -> Optional[Tuple[int, object]]:
        """The last record of a sorted metadata table with key <= value (exact: the record with
        key == value), as (index, record)."""
        hit = self.r.search(table, min(count, MAX_META_RECORDS), rec_type, key, value)
        if hit is None or (exact and getattr(hit[1], key) != value):
            return None
        return hit

    # ---- the runtime's queries ----
    def site_type(self, pc: int) -> Optional[UType]:
        """The type SITES gives the call whose return address is pc (ARRAY: unbounded array)."""
        if pc in self._site_types:
            for where, what in self._site_damage.get(pc, ()):
                self.report(where, what)  # the damage behind the cached answer, for this answer too
            return self._site_types[pc]
        outer = self.report
        met: List[Tuple[int, str]] = []

        def report(where: int, what: str) -> None:
            met.append((where, what))
            outer(where, what)
        self.report = report
        try:
            t = self._site_type(pc)
        finally:
            self.report = outer
        if met:
            self._site_damage[pc] = met
        self._site_types[pc] = t
        return t

    def _site_type(self, pc: int) -> Optional[UType]:
        t: Optional[UType] = None
        m = self.meta_for(pc)
        if m is not None and m.file is not None:
            hit = m.file.site((pc - m.bias) & ((1 << 64) - 1))
            if hit is not None:
                t = self.completed(m.file.type(hit[0]))
                if t is not None and hit[1] & L.SITE_ARRAY:
                    t = make_array(t, 0)
        elif m is not None and m.rec.nsites:  # type: ignore[attr-defined]
            hit = self._search(m.rec.sites, m.rec.nsites, L.MetaSiteRec, "vaddr",  # type: ignore
                               (pc - m.bias) & ((1 << 64) - 1), exact=True)
            if hit is not None:
                rec = hit[1]
                t = self.type_at(m, rec.type)  # type: ignore[attr-defined]
                flags = rec.flags  # type: ignore[attr-defined]
                if t is not None and flags & L.SITE_HEADER and not flags & L.SITE_ARRAY:
                    t = make_header(t, flags >> L.SITE_ARG_SHIFT)
                elif t is not None and flags & L.SITE_ARRAY:
                    t = make_array(t, 0)
        return t

    def site_flags(self, pc: int) -> int:
        """The SITES flags of the call whose return address is pc (0 when none)."""
        m = self.meta_for(pc)
        if m is not None and m.file is not None:  # read from disk: no loaded record to search
            hit_in_file = m.file.site((pc - m.bias) & ((1 << 64) - 1))
            return hit_in_file[1] if hit_in_file is not None else 0
        if m is None or not m.rec.nsites:  # type: ignore[attr-defined]
            return 0
        hit = self._search(m.rec.sites, m.rec.nsites, L.MetaSiteRec, "vaddr",  # type: ignore
                           (pc - m.bias) & ((1 << 64) - 1), exact=True)
        return int(hit[1].flags) if hit is not None else 0  # type: ignore[attr-defined]

    def inlined_site(self, pc: int) -> Optional[Tuple[int, int]]:
        """For a call in an inlined allocation wrapper (SITE_INLINED): the inlined call's line and
        how many inlined-function blocks to step out of to the function that line is in."""
        f = self.site_flags(pc)
        if not f & L.SITE_INLINED:
            return None
        arg = f >> L.SITE_ARG_SHIFT
        line, levels = arg & ((1 << L.SITE_INLINED_LINE_BITS) - 1), arg >> L.SITE_INLINED_LINE_BITS
        return (line, levels) if line and levels else None

    def of_chunk(self, cached_type: int, site_pc: Optional[int], size: int) -> Optional[UType]:
        t = self.get(cached_type) if cached_type else None
        if t is None and site_pc:
            t = self.site_type(site_pc)
        if t is not None and t.kind == L.KIND_ARRAY and t.count == 0:
            el = self.related(t)
            if el is not None and el.size:
                return make_array(el, size // el.size)
        return self.with_trailing(t, size)

    def with_trailing(self, t: Optional[UType], size: int) -> Optional[UType]:
        """As the runtime's with_trailing (docs/metadata-format.md, "Trailing arrays"): a struct
        ending in an array of 0 or 1 elements, in a chunk with room for more, is `__FLEX<n>_S`,
        the struct with that array holding n = (size - its offset) / element size elements."""
        if t is None or t.kind != L.KIND_STRUCT or size <= t.size:
            return t
        members = self.members(t)
        if not members:
            return t
        last = members[-1]
        a = last.type
        el = self.related(a) if a is not None else None
        if (a is None or a.kind != L.KIND_ARRAY or a.count > 1 or el is None or not el.size or
                last.bit_size or size < last.offset):
            return t
        n = (size - last.offset) // el.size
        if n <= a.count or n > 0xffffffff:
            return t
        retyped = list(members[:-1]) + [UMember(last.name, make_array(el, n), last.offset)]
        return UType(None, f"__FLEX{n}_{t.name}", f"{t.c_name or t.name} ({last.name}[{n}])",
                     last.offset + n * el.size, L.KIND_STRUCT, count=len(members), members_obj=retyped)

    def of_static(self, addr: int, sym_base: Optional[int]) -> Optional[UType]:
        m = self.meta_for(addr)
        if m is not None and m.file is not None:
            return self._static_from_file(m, m.file, addr, sym_base)
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

    def _static_from_file(self, m: LoadedMeta, f: MetaFile, addr: int,
                          sym_base: Optional[int]) -> Optional[UType]:
        a = addr - m.bias
        b = (sym_base - m.bias) if sym_base is not None else None
        cover = None
        for vaddr, size, t in reversed(f.statics_near(a)):  # as of_static: the symbol's start first
            if t == L.META_NONE:
                continue
            if b is not None and vaddr == b:
                return self.completed(f.type(t))
            if cover is None and a < vaddr + (size or 1):
                cover = t
        return self.completed(f.type(cover)) if cover is not None else None

    def of_frame(self, pc: int) -> Optional[UType]:
        m = self.meta_for(pc)
        if m is not None and m.file is not None:
            t = m.file.frame(pc - m.bias)
            return self.completed(m.file.type(t)) if t is not None else None
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
            if m.file is not None:
                continue  # types read from disk have no address: found by lookup()'s disk pass
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
        for m in self.metas():
            if m.file is not None:
                t = self._lookup_in_file(m.file, name)
                if t is not None:
                    return self.completed(t)
        if name.endswith("]") and "[" in name:
            head, _, n = name[:-1].rpartition("[")
            if n.isdigit():
                el = self.lookup(head.strip())
                if el is not None:
                    return make_array(el, int(n))
        return None

    @staticmethod
    def _lookup_in_file(f: MetaFile, name: str) -> Optional[UType]:
        bare = name
        for prefix in ("struct ", "union ", "enum "):
            if name.startswith(prefix):
                bare = name[len(prefix):]
        # in the order of the loaded types' lookup: canonical name, C spelling, name without its tag
        for key, c_spelling in ((name, False), (name, True), (bare, False)):
            i = f.index_of(key, c_spelling)
            if i is not None:
                return f.type(i)
        return None

    def names(self) -> List[str]:
        """C spellings of the loaded types, and of those in the files read from disk."""
        self._index()
        assert self._by_c_name is not None
        names = set(self._by_c_name)
        for m in self.metas():
            if m.file is not None:
                names.update(n for n in m.file.c_names() if n)
        return sorted(names)


class TypesProvider(Protocol):
    available: bool


class NullTypes:
    """No runtime, or types switched off: every answer is unknown."""

    available = False
