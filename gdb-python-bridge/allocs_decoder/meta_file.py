"""Type metadata read from disk (docs/metadata-format.md is the contract; typegen/src/meta/reader.ts
is the TypeScript reader), for an object whose metadata the runtime did not load: a process
attached to whose metadata was made after it started, a core of one. Found by the object's
build-id where the runtime looks (ALLOCS_META_PATH, next to the object and its symlink targets,
the cache); a file for another build-id is never used.

The file is untrusted: the header and every section are bounds-checked before use, records are
read on demand with struct.unpack_from, and anything out of range is "type unknown". Types are
built as the bridge's made-up UType objects (addr None), with related_obj and members_obj set,
so the rest of the decoder reads them like types made up from memory.
"""
from __future__ import annotations

import os
import struct
from typing import Dict, List, Optional, Tuple

from . import layout as L
from .uniqtype import MAX_MEMBERS, UMember, UType

MAGIC = b"ALLOCSMD"
VERSION = 1
HEADER_SIZE = 200
SUFFIX = ".allocsmeta"
MAX_FILE_BYTES = 1 << 30
# section index -> record size (STRINGS counts bytes; PARAMS are uint32 type indices)
STRINGS, TYPES, MEMBERS, ENUMERATORS, PARAMS, STATICS, FRAMES, FRAME_VARS, SITES = range(9)
RECORD_SIZE = (1, 40, 24, 16, 4, 32, 32, 40, 16)
_TYPE = struct.Struct("<IIQBBHIIII4x")
_MEMBER = struct.Struct("<IIQHH4x")
_ENUMERATOR = struct.Struct("<I4xq")
_STATIC = struct.Struct("<QQIII4x")
_FRAME = struct.Struct("<QQIIII")
_SITE = struct.Struct("<QII")


class MetaFileError(ValueError):
    """The file is not valid metadata (the reason says where)."""


class MetaFile:
    """One metadata file, validated at the header and section level; records read on demand."""

    def __init__(self, data: bytes, path: str) -> None:
        self.data, self.path = data, path
        if len(data) < HEADER_SIZE or data[:8] != MAGIC:
            raise MetaFileError(f"{path}: not an allocs metadata file")
        version, header_size, file_size = struct.unpack_from("<IIQ", data, 8)
        if version != VERSION or header_size != HEADER_SIZE or file_size != len(data):
            raise MetaFileError(
                f"{path}: version {version}, header {header_size}, size {file_size}: unsupported")
        id_len = struct.unpack_from("<I", data, 44)[0]
        if id_len > 20:
            raise MetaFileError(f"{path}: build_id_len {id_len}")
        self.build_id = data[24:24 + id_len].hex()
        self.off: List[int] = []
        self.count: List[int] = []
        for s in range(9):
            o, c = struct.unpack_from("<QQ", data, 56 + 16 * s)
            if o % 8 or (c and o < HEADER_SIZE) or o > len(data) or c * RECORD_SIZE[s] > len(data) - o:
                raise MetaFileError(f"{path}: section {s} [{o}, +{c}) is out of bounds")
            self.off.append(o)
            self.count.append(c)
        if self.count[STRINGS] < 1 or data[self.off[STRINGS] + self.count[STRINGS] - 1] != 0:
            raise MetaFileError(f"{path}: STRINGS does not end with a NUL")
        self._types: Dict[int, Optional[UType]] = {}
        self._strings: Dict[int, str] = {}
        self._by_name: Optional[Dict[str, int]] = None
        self._by_c_name: Optional[Dict[str, int]] = None

    # ---- records ----
    def string(self, o: int) -> str:
        if o not in self._strings:
            if o >= self.count[STRINGS]:
                return "?"
            start = self.off[STRINGS] + o
            end = self.data.index(b"\0", start)
            self._strings[o] = self.data[start:end].decode("utf-8", "replace")
        return self._strings[o]

    def _record(self, section: int, rec: struct.Struct, i: int) -> Tuple[int, ...]:
        return rec.unpack_from(self.data, self.off[section] + i * RECORD_SIZE[section])

    def _last_at_or_below(self, section: int, rec: struct.Struct, value: int) -> int:
        """Index of the last record (sorted by its first field) whose key <= value, or -1."""
        lo, hi = 0, self.count[section]
        while lo < hi:
            mid = (lo + hi) // 2
            if self._record(section, rec, mid)[0] <= value:
                lo = mid + 1
            else:
                hi = mid
        return lo - 1

    # ---- the runtime's queries, by ELF virtual address ----
    def site(self, vaddr: int) -> Optional[Tuple[int, int]]:
        """(type index, flags) of the call whose return address is vaddr."""
        i = self._last_at_or_below(SITES, _SITE, vaddr)
        if i < 0:
            return None
        a, t, flags = self._record(SITES, _SITE, i)
        return (t, flags) if a == vaddr else None

    def statics_near(self, vaddr: int, window: int = 64) -> List[Tuple[int, int, int]]:
        """(vaddr, size, type index) of up to `window` statics at or below vaddr, nearest last."""
        last = self._last_at_or_below(STATICS, _STATIC, vaddr)
        out = []
        for i in range(max(0, last - window + 1), last + 1):
            a, size, _name, t, _kind = self._record(STATICS, _STATIC, i)
            out.append((a, size, t))
        return out

    def frame(self, vaddr: int) -> Optional[int]:
        """The FRAME type index of the function whose range holds vaddr."""
        i = self._last_at_or_below(FRAMES, _FRAME, vaddr)
        if i < 0:
            return None
        lo, hi, _fn, t, _first, _n = self._record(FRAMES, _FRAME, i)
        return t if lo <= vaddr < hi else None

    # ---- types ----
    def type(self, idx: int) -> Optional[UType]:
        """Type `idx` as a UType (built once; cycles through pointers are shared objects)."""
        if idx == L.META_NONE or not 0 <= idx < self.count[TYPES]:
            return None
        if idx in self._types:
            return self._types[idx]
        name, c_name, size, kind, enc, flags, bits, related, count, first = self._record(
            TYPES, _TYPE, idx)
        if kind > L.KIND_FRAME:
            self._types[idx] = None
            return None
        spelled = self.string(c_name) or self.string(name)
        t = UType(None, self.string(name), spelled, size, kind, enc, flags, bits, count=count)
        self._types[idx] = t  # before its parts: a member may point back to it
        t.related_obj = self.type(related)
        if kind in (L.KIND_STRUCT, L.KIND_UNION, L.KIND_FRAME):
            t.members_obj = self._members(first, count)
        elif kind == L.KIND_ENUM and first + min(count, MAX_MEMBERS) <= self.count[ENUMERATORS]:
            t.extra["enumerators"] = [(self.string(n), v) for n, v in (
                self._record(ENUMERATORS, _ENUMERATOR, first + i) for i in range(min(count, MAX_MEMBERS)))]
        elif kind == L.KIND_FUNCTION and first + min(count, MAX_MEMBERS) <= self.count[PARAMS]:
            at = self.off[PARAMS] + 4 * first
            t.extra["params"] = [self.type(struct.unpack_from("<I", self.data, at + 4 * i)[0])
                                 for i in range(min(count, MAX_MEMBERS))]
        return t

    def _members(self, first: int, count: int) -> List[UMember]:
        if count > MAX_MEMBERS or first + count > self.count[MEMBERS]:
            return []
        out = []
        for i in range(count):
            name, t, offset, bit_offset, bit_size = self._record(MEMBERS, _MEMBER, first + i)
            out.append(UMember(self.string(name) if name else "", self.type(t), offset, bit_offset, bit_size))
        return out

    def names(self) -> List[Tuple[str, int]]:
        """(canonical name, index) of every type, for lookups by name."""
        n = min(self.count[TYPES], 1 << 18)
        return [(self.string(self._record(TYPES, _TYPE, i)[0]), i) for i in range(n)]

    def index_of(self, name: str, c_spelling: bool = False) -> Optional[int]:
        """The first type with this canonical name (c_spelling: this C spelling, `unsigned long`,
        `struct point *`). The indexes are built once per file: with types built at the first type
        query, a process that asked none is typed from its files, and a C++ heap object's dynamic
        type is a lookup by name for every chunk described."""
        if self._by_name is None or self._by_c_name is None:
            self._by_name, self._by_c_name = {}, {}
            for i in range(min(self.count[TYPES], 1 << 18)):
                name_at, c_at = self._record(TYPES, _TYPE, i)[:2]
                self._by_name.setdefault(self.string(name_at), i)
                self._by_c_name.setdefault(self.string(c_at), i)
        return (self._by_c_name if c_spelling else self._by_name).get(name)

    def c_names(self) -> List[str]:
        """Every type's C spelling (a front's completion)."""
        self.index_of("")
        return list(self._by_c_name or ())


def _cache_dir(env: Dict[str, str]) -> str:
    base = env.get("XDG_CACHE_HOME") or os.path.join(env.get("HOME") or os.path.expanduser("~"), ".cache")
    return os.path.join(base, "allocs", "meta")


def candidate_paths(build_id: str, object_path: Optional[str],
                    env: Optional[Dict[str, str]] = None) -> List[str]:
    """Where the runtime looks, in its order (docs/metadata-format.md, "Where the runtime looks")."""
    env = dict(os.environ) if env is None else env
    out = [os.path.join(d, build_id + SUFFIX) for d in env.get("ALLOCS_META_PATH", "").split(":") if d]
    if object_path:
        out.append(object_path + SUFFIX)
        p = object_path
        for _ in range(8):
            try:
                target = os.readlink(p)
            except OSError:
                break
            p = os.path.join(os.path.dirname(p), target)
            out.append(p + SUFFIX)
    out.append(os.path.join(_cache_dir(env), build_id + SUFFIX))
    return out


_loaded: Dict[Tuple[str, int, int], MetaFile] = {}


def load_for(build_id: str, object_path: Optional[str],
             env: Optional[Dict[str, str]] = None) -> Optional[MetaFile]:
    """The first valid metadata file for this build-id, parsed once per file version (path, size,
    mtime); None when there is none (a file for another build-id or an invalid one is skipped)."""
    if not build_id:
        return None
    for p in candidate_paths(build_id, object_path, env):
        try:
            st = os.stat(p)
        except OSError:
            continue
        key = (p, st.st_size, st.st_mtime_ns)
        if key not in _loaded:
            if st.st_size > MAX_FILE_BYTES:
                continue
            try:
                with open(p, "rb") as f:
                    _loaded[key] = MetaFile(f.read(), p)
            except (OSError, MetaFileError, struct.error):
                continue
        m = _loaded[key]
        if m.build_id == build_id:
            return m
    return None
