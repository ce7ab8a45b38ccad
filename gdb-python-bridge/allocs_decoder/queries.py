"""Whole-heap and whole-process queries: ls, census, maps, who-points-to."""
from __future__ import annotations

import struct
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, Iterator, List, Optional, Tuple

from . import layout as L
from .brk import with_brk_heap
from .address_description import AddressDescription, hexaddr
from .heap import chunk_spans
from .errors import DecodeError
from .levels import Big
from .runtime_memory import RuntimeMemory, runtime_memory
from .session import Session
from .target import X86_64, Architecture
from .sites import site_json, site_matches, site_type_name
from .snapshot import chunk_key, since_keys
from .uniqtype import UType

_U64 = struct.Struct("<Q")


# ---- ls ----
@dataclass
class Entry:
    allocator: str
    base: int
    size: int
    site: Optional[int]
    seq: int
    site_id: int = 0
    chunk: Optional[Tuple[int, int]] = None  # pool objects: the enclosing chunk's base and size

    def to_json(self, s: Session) -> Dict[str, Any]:
        t = entry_type(s, self)
        return {"allocator": self.allocator, "base": hexaddr(self.base), "size": self.size,
                "type": t.c_name if t else None, "uniqtype": t.name if t else None,
                "site": site_json(s, self.site, self.seq)}


def entry_type(s: Session, e: Entry) -> Optional[UType]:
    """A live entry's run-time type, as describe() finds it (None when unknown)."""
    types = s.types
    if types is None:
        return None
    try:
        if e.allocator == L.MALLOC:
            _pc, cached = s.site_record(e.site_id)
            return types.of_chunk(cached, e.site, e.size)
        # a declared suballocator's object: its call site's record (pool.suballoc_type)
        if e.site and types.site_flags(e.site) & L.SITE_SUBALLOC:
            return types.of_chunk(0, e.site, e.size)
        return None
    except DecodeError:
        return None


def type_matches(s: Session, t: Optional[UType], want: str, depth: int = 0) -> bool:
    """T matches a type spelled or named T, and an array of T (a chunk of several T)."""
    if t is None or depth > 8:
        return False
    tagged = want.split(" ", 1)[-1] == t.name and t.kind in (L.KIND_STRUCT, L.KIND_UNION, L.KIND_ENUM)
    if want in (t.c_name, t.name) or tagged:
        return True
    if t.kind == L.KIND_ARRAY and s.types is not None:
        return type_matches(s, s.types.related(t), want, depth + 1)
    return False


def live_entries(s: Session) -> Iterator[Entry]:
    """Every live malloc chunk, then every registered pool object."""
    for base, usable, trailer in s.heap.walk_raw():
        slack = (trailer >> L.TRAILER_SLACK_SHIFT) & L.TRAILER_SLACK_MASK
        room = usable - 8
        size = room if slack == L.TRAILER_SLACK_UNKNOWN or slack > room else room - slack
        site_id = (trailer >> L.TRAILER_SITE_SHIFT) & L.TRAILER_SITE_MASK
        yield Entry(L.MALLOC, base, size, s.site_pc(site_id), trailer & L.TRAILER_SEQ_MASK, site_id)
    for o in s.pools.walk():
        yield Entry(o.allocator, o.base, o.size, o.site or None, o.seq)


def ls(s: Session, site: Optional[str] = None, min_size: int = 0, limit: Optional[int] = None,
       type_name: Optional[str] = None, since: Optional[str] = None) -> Tuple[List[Entry], int]:
    """Filtered live entries (at most limit) and the number that matched in all. since: a
    snapshot's name or path; only allocations made after it (not in it) are kept."""
    older = since_keys(since) if since is not None else None
    out: List[Entry] = []
    matched = 0
    site_ok: Dict[Optional[int], bool] = {}
    want = " ".join(type_name.split()) if type_name is not None else None
    for e in live_entries(s):
        if e.size < min_size or (older is not None and chunk_key(e.base, e.seq) in older):
            continue
        if want is not None and not type_matches(s, entry_type(s, e), want):
            continue
        if site is not None:
            if e.site not in site_ok:
                site_ok[e.site] = site_matches(s, e.site, site)
            if not site_ok[e.site]:
                continue
        matched += 1
        if limit is None or len(out) < limit:
            out.append(e)
    return out, matched


# ---- census ----
@dataclass
class CensusRow:
    key: Any
    count: int = 0
    bytes: int = 0


@dataclass
class Census:
    rows: List[CensusRow] = field(default_factory=list)
    chunks: int = 0
    chunk_bytes: int = 0
    pool_objects: int = 0
    pool_bytes: int = 0
    unreadable: int = 0
    stats: Any = None

    def to_json(self, s: Session, by: str) -> Dict[str, Any]:
        rows = []
        for r in self.rows:
            key = site_json(s, r.key) if by == "site" else r.key
            rows.append({by: key, "count": r.count, "bytes": r.bytes})
        st = self.stats
        return {
            "by": by, "rows": rows,
            "total": {"chunks": self.chunks, "bytes": self.chunk_bytes, "poolObjects": self.pool_objects,
                      "poolBytes": self.pool_bytes},
            "runtimeStats": None if st is None else {
                "liveChunks": st.live_chunks, "liveBytes": st.live_bytes,
                "totalAllocs": st.total_allocs, "totalFrees": st.total_frees},
        }


def census(s: Session, by: str = "site") -> Census:
    """Count and requested bytes of every live chunk grouped by site id (one pass, batched reads)."""
    if by not in ("site", "type"):
        raise ValueError(f"census by {by}: expected site or type")
    counts: Dict[int, List[int]] = {}
    c = Census()
    slack_shift, slack_mask, unknown = L.TRAILER_SLACK_SHIFT, L.TRAILER_SLACK_MASK, L.TRAILER_SLACK_UNKNOWN
    site_shift, site_mask = L.TRAILER_SITE_SHIFT, L.TRAILER_SITE_MASK
    n = 0
    total = 0
    for _base, usable, trailer in s.heap.walk_raw():
        slack = (trailer >> slack_shift) & slack_mask
        room = usable - 8
        size = room if slack == unknown or slack > room else room - slack
        sid = (trailer >> site_shift) & site_mask
        row = counts.get(sid)
        if row is None:
            counts[sid] = [1, size]
        else:
            row[0] += 1
            row[1] += size
        n += 1
        total += size
    c.chunks, c.chunk_bytes = n, total
    by_key: Dict[Any, CensusRow] = {}
    for sid, (cnt, nbytes) in counts.items():
        pc = s.site_pc(sid)
        key = site_type_name(s, sid, pc) if by == "type" else pc
        census_row = by_key.setdefault(key, CensusRow(key))
        census_row.count += cnt
        census_row.bytes += nbytes
    c.rows = sorted(by_key.values(), key=lambda r: (-r.bytes, -r.count))
    for o in s.pools.walk():
        c.pool_objects += 1
        c.pool_bytes += o.size
    c.stats = s.levels.stats(n, total)
    return c


# ---- maps ----
def maps(s: Session) -> List[Dict[str, Any]]:
    """The big allocations as a tree (outermost first), each {allocator, base, size, name, flags,
    runtime, children}; runtime says which are the allocs runtime's own (runtime_memory.py)."""
    bigs = with_brk_heap(s, s.levels.bigs())
    own = runtime_memory(s)
    indices = {b.index for b in bigs}
    children: Dict[int, List[Big]] = {}
    for b in sorted(bigs, key=lambda b: b.begin):
        children.setdefault(b.parent, []).append(b)

    def node(b: Big, depth: int) -> Dict[str, Any]:
        kids = children.get(b.index, []) if depth < 16 else []
        return {"allocator": b.allocator, "base": hexaddr(b.begin), "size": b.size, "name": b.name,
                "flags": _flags(b.flags), "runtime": own.label(b.begin, b.end),
                "children": [node(k, depth + 1) for k in kids if k.index != b.index]}

    tops = sorted((b for b in bigs if b.parent < 0 or b.parent not in indices), key=lambda b: b.begin)
    out = [node(b, 0) for b in tops] + _unrecorded_runtime_mappings(s, bigs, own)
    return sorted(out, key=lambda n: int(n["base"], 16))


def _unrecorded_runtime_mappings(s: Session, bigs: List[Big], own: RuntimeMemory) -> List[Dict[str, Any]]:
    """The debugger's mappings that hold the runtime's tables but are in no level yet (the runtime
    maps its tables with raw system calls; its levels see them only at the next /proc/self/maps
    reread), so the map shows everything the runtime reserved."""
    out: List[Dict[str, Any]] = []
    seen = set()
    for begin, _end, _what in sorted(own.tables):
        m = s.mapping_for(begin)
        if m is None or m.begin in seen or any(b.begin < m.end and m.begin < b.end for b in bigs):
            continue
        seen.add(m.begin)
        # the runtime maps its tables read-write (rt_core.c, meta_mem.c); a core's mappings may not
        # say, and the two debuggers would disagree
        out.append({"allocator": "mmap", "base": hexaddr(m.begin), "size": m.end - m.begin, "name": m.name,
                    "flags": "rw-",
                    "runtime": own.label(m.begin, m.end), "children": []})
    return out


def _flags(f: int) -> str:
    perms = (("r", L.BIG_F_READ), ("w", L.BIG_F_WRITE), ("x", L.BIG_F_EXEC))
    text = "".join(c if f & bit else "-" for c, bit in perms)
    return text + ("u" if f & L.BIG_F_USER_MMAP else "") + ("f" if f & L.BIG_F_FILE else "")


# ---- who points to ----
@dataclass
class Referrer:
    where: int  # address of the pointer
    value: int  # the pointer's value
    region: str  # "heap", "static", "stack", "register"
    register: Optional[str] = None
    thread: Optional[int] = None


def _scan(data: bytes, start: int, lo: int, hi: int, region: str, out: List[Referrer], limit: int,
          arch: Architecture = X86_64) -> None:
    """Aligned pointer-sized words (the target's) in data (at address start) whose value is in [lo, hi)."""
    n = arch.pointer_size
    order = "<" if arch.little_endian else ">"
    words = _U64 if arch == X86_64 else struct.Struct(order + ("Q" if n == 8 else "I"))
    skip = (-start) % n
    mv = memoryview(data)[skip:]
    mv = mv[: len(mv) - len(mv) % n]
    for i, (v,) in enumerate(words.iter_unpack(mv)):
        if lo <= v < hi:
            out.append(Referrer(start + skip + n * i, v, region))
            if len(out) >= limit:
                return


def who_points_to(s: Session, target: AddressDescription, limit: int = 50,
                  progress: Optional[Callable[[str], None]] = None) -> List[Referrer]:
    """Words in live heap chunks, writable static segments, thread stacks and registers that point
    into the allocation. Untyped: any aligned word with the right value counts."""
    lo = target.base if target.base is not None else target.address
    hi = lo + max(target.size or 1, 1)
    out: List[Referrer] = []
    for r in s.debugger_threads():
        try:
            regs = r.registers()
        except Exception:
            regs = {}
        for name, v in regs.items():
            if isinstance(v, int) and lo <= v < hi and name not in (s.arch.pc_register, "pc"):
                out.append(Referrer(0, v, "register", name, r.num))
    root = s.root()
    if root is not None:
        for bases in s.heap.chunk_bases():
            for span in chunk_spans(bases):
                if len(out) >= limit:
                    return out
                _scan_span(s, span, lo, hi, out, limit)
        for b in s.levels.bigs():
            if b.kind == L.BIG_ELF_SEGMENT and b.flags & L.BIG_F_WRITE and len(out) < limit:
                data = s.reader.try_read(b.begin, b.size) if b.size <= 64 << 20 else None
                if data is not None:
                    _scan(data, b.begin, lo, hi, "static", out, limit, s.arch)
    else:
        for m in s.mappings():
            if m.perms and "w" in m.perms and m.name and m.name.startswith("/") and len(out) < limit:
                data = s.reader.try_read(m.begin, m.end - m.begin)
                if data is not None:
                    _scan(data, m.begin, lo, hi, "static", out, limit, s.arch)
    for t in s.debugger_threads():
        frames = []
        try:
            frames = list(t.frames())
        except Exception:
            pass
        if not frames or len(out) >= limit:
            continue
        sp, top = frames[0].sp, frames[-1].cfa
        if root is not None:
            rec = s.levels.thread_for_stack(sp)
            if rec is not None:
                top = rec.stack_hi
        data = s.reader.try_read(sp, top - sp) if 0 < top - sp <= 64 << 20 else None
        if data is not None:
            before = len(out)
            _scan(data, sp, lo, hi, "stack", out, limit, s.arch)
            for ref in out[before:]:
                ref.thread = t.num
    # A pointer inside the allocation itself is not a referrer from outside.
    return [r for r in out if not (r.region != "register" and lo <= r.where < hi)][:limit]


def _scan_span(s: Session, span: List[int], lo: int, hi: int, out: List[Referrer], limit: int) -> None:
    last = s.heap.chunk_at(span[-1])
    end = span[-1] + (last.usable if last else 8)
    data = s.reader.try_read(span[0] - 8, end - span[0] + 8)
    if data is None:
        return
    start = span[0] - 8
    for b in span:
        (hdr,) = _U64.unpack_from(data, b - 8 - start)
        size = hdr & ~7
        usable = size - 16 if hdr & 2 else size - 8
        if usable < 16 or b + usable > end:
            continue
        _scan(data[b - start: b - start + usable - 8], b, lo, hi, "heap", out, limit)
        if len(out) >= limit:
            return


@dataclass
class TypedReferrer:
    ref: Referrer
    description: Optional[AddressDescription]  # of the referring word (None for a register)
    typed: bool  # True: the word's run-time type says it is a pointer


@dataclass
class ReferrerReport:
    rows: List[TypedReferrer]  # typed referrers first, then untyped words, then registers
    omitted: int  # referrers found but not listed (limit)
    more: bool  # the scan itself stopped at its cap: there may be more than rows + omitted


def referrers(s: Session, target: AddressDescription, limit: int = 20) -> ReferrerReport:
    """who_points_to, keeping a word only when the run-time type of the memory holding it says it
    is a pointer (the member at that offset has a pointer type). Words in memory of unknown type
    are kept as the untyped fallback (typed False); registers are kept as they are. Typed rows
    come first; how many rows the limit left out is counted, never dropped silently."""
    cap = max(limit * 20, 200)
    found = who_points_to(s, target, limit=cap)
    typed: List[TypedReferrer] = []
    untyped: List[TypedReferrer] = []
    registers: List[TypedReferrer] = []
    for r in found:
        if r.region == "register":
            registers.append(TypedReferrer(r, None, False))
            continue
        d = s.describe(r.where)
        if d.utype is None:
            untyped.append(TypedReferrer(r, d, False))
        elif (d.path_utype is not None and d.path_utype.kind == L.KIND_POINTER and
              d.path_start == r.where - (d.base or 0)):
            typed.append(TypedReferrer(r, d, True))
        # else: typed memory that is not a pointer there: a coincidence, not a referrer
    rows = typed + untyped + registers
    return ReferrerReport(rows[:limit], max(0, len(rows) - limit), len(found) >= cap)


def typed_referrers(s: Session, target: AddressDescription, limit: int = 20) -> List[TypedReferrer]:
    """The rows of referrers() (typed first)."""
    return referrers(s, target, limit).rows


def omitted_text(report: ReferrerReport) -> Optional[str]:
    """The line saying what the limit left out, or None when every referrer is listed."""
    if not report.omitted and not report.more:
        return None
    n = f"{report.omitted}{' or more' if report.more else ''}"
    return f"  ... {n} more not shown (alloc who-points-to --limit N shows more)"
