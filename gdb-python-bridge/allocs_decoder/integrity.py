"""Checks of the runtime's tables before an answer is built on them (a core may be damaged).

Everything the runtime wrote is untrusted: a pointer must lead to readable memory big enough for
what it claims, a count must fit its capacity and its table, a level must lie inside the level
that holds it, a site's pc must be a return address in an object's text. A check that fails is
recorded as damage at an address; every answer built on the damaged part carries the note "the
runtime's tables are damaged at ADDR: WHAT" and lists it in the description's `damage` field
(docs/address-description.md), so a damaged core never gives a confident wrong answer.

The table-wide checks run once per Session (root, levels, objects, threads: a few hundred reads
at most); per-answer checks (a chunk's header and trailer, a site, a type record) are a handful
of cached reads, and the whole-heap walk checks nothing per chunk.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Dict, List, Optional, Set, Tuple

from . import layout as L
from .elf import ElfFile
from .memory import Reader
from .target import Mapping

if TYPE_CHECKING:
    from .heap import Chunk
    from .pool import PoolObject
    from .session import Session

MAX_COUNT = 1 << 24
ROOT_FLAGS = L.ROOT_F_INITIALISED | L.ROOT_F_GLIBC_MALLOC
MAX_ARGS = 1 << 16
MAX_LEVEL_DEPTH = 16
SEQ_BLOCK = L.THREAD_SEQ_BLOCK  # the sequence numbers a thread takes at once (allocs_layout.h)
PAGE = 4096
USER_LIMIT = 1 << 47


MAPPINGS = "the debugger's mappings: "  # what-prefix of damage to the core's own mapping list


def damage_note(addr: int, what: str) -> str:
    if what.startswith(MAPPINGS):
        return f"the core's mapping list is damaged at {addr:#x}: {what[len(MAPPINGS):]}"
    return f"the runtime's tables are damaged at {addr:#x}: {what}"


def is_call_return(code: bytes) -> bool:
    """Do the bytes just before a return address end with a call instruction? (x86-64: e8 rel32,
    or ff /2 with any addressing form, possibly after a REX prefix.)"""
    if len(code) >= 5 and code[-5] == 0xE8:
        return True
    for k in (2, 3, 4, 6, 7):
        if len(code) >= k and code[-k] == 0xFF and (code[-k + 1] >> 3) & 7 == 2:
            return True
    return False


def file_mapping_problem(m: Mapping, bias: int, elf: Optional[ElfFile]) -> Optional[str]:
    """Why a file-backed mapping of a loaded object (elf, the file it maps) cannot be right: the
    file offset it maps must lie in one of the object's PT_LOAD segments, at the address the
    object's load bias puts it."""
    if elf is None or not elf.segments or m.offset is None:
        return None
    wants = [(bias + vaddr - (off - m.offset)) & ~(PAGE - 1) for off, vaddr, size in elf.segments
             if off & ~(PAGE - 1) <= m.offset < off + max(size, 1)]  # a page may start two segments
    if not wants:
        return f"{m.name} at {m.begin:#x} maps file offset {m.offset:#x}, in none of its segments"
    if m.begin not in wants:
        return (f"{m.name} at {m.begin:#x} maps file offset {m.offset:#x}, which its load bias puts at "
                f"{wants[0]:#x}")
    return None


class Integrity:
    """The damage found in one Session, and the checks that find it."""

    def __init__(self, session: "Session") -> None:
        self.s = session
        self.r: Reader = session.reader
        self.tables: List[Tuple[int, str]] = []  # damage to tables every answer depends on
        self._scope: Optional[List[Tuple[int, str]]] = None  # damage met by the current answer
        self._checked = False
        self._sites: Dict[int, Optional[Tuple[int, str]]] = {}
        self._known: Set[Tuple[int, str]] = set()
        self._seq_bound: Optional[int] = None
        self._maps: Dict[int, Optional[str]] = {}
        self._regions: Dict[int, int] = {}
        self._returns: Dict[int, bool] = {}
        self._owned: Optional[List[Tuple[int, int, str]]] = None

    # ---- recording ----
    def report(self, addr: int, what: str) -> None:
        """Damage met while building the current answer (or found by the table-wide checks)."""
        item = (addr & ((1 << 64) - 1), what)
        if self._scope is not None and item not in self._scope:
            self._scope.append(item)
        self._known.add(item)

    def _table(self, addr: int, what: str) -> None:
        item = (addr & ((1 << 64) - 1), what)
        if item not in self.tables:
            self.tables.append(item)
        self._known.add(item)

    def begin(self) -> None:
        self._scope = []

    def end(self) -> List[Tuple[int, str]]:
        """The damage the answer met: the table-wide damage, then its own."""
        own = self._scope or []
        self._scope = None
        return self.tables + [d for d in own if d not in self.tables]

    # ---- helpers ----
    def readable(self, addr: int, size: int) -> bool:
        """Are the first and last bytes of [addr, addr + size) readable (the table is mapped)?"""
        if addr <= 0 or size <= 0 or addr + size > USER_LIMIT:
            return False
        return self.r.try_read(addr, 1) is not None and self.r.try_read(addr + size - 1, 1) is not None

    def _pointer(self, where: int, name: str, ptr: int, size: int, align: int = 8) -> bool:
        """A table pointer: 0 (absent) or aligned and readable over its whole claimed extent."""
        if not ptr:
            return True
        if ptr % align:
            self._table(where, f"{name} {ptr:#x} is not {align}-byte aligned")
            return False
        if not self.readable(ptr, max(size, 1)):
            self._table(where, f"{name} {ptr:#x} (+{size} bytes) is not mapped")
            return False
        return True

    # ---- once per Session ----
    def check_tables(self) -> None:
        if self._checked:
            return
        self._checked = True
        root = self.s.require_root()
        rec, at = root.rec, root.addr
        if rec.flags & ~ROOT_FLAGS:
            self._table(at, f"root flags {rec.flags:#x} has unknown bits")
        tables = (("bigs", rec.bigs, rec.nbigs, rec.bigs_capacity, L.BigRec.size),
                  ("objects", rec.objects, rec.nobjects, rec.objects_capacity, L.ObjectRec.size),
                  ("threads", rec.threads, rec.nthreads, rec.threads_capacity, L.ThreadRec.size),
                  ("sites", rec.sites, rec.nsites, rec.sites_capacity, L.SiteRec.size))
        for name, ptr, n, cap, size in tables:
            if n > cap or cap > MAX_COUNT:
                self._table(at, f"{name}: count {n} exceeds its capacity {cap}")
            self._pointer(at, name, ptr, min(cap, MAX_COUNT) * size)
        if rec.nlarge_chunks > MAX_COUNT:
            self._table(at, f"large_chunks: count {rec.nlarge_chunks} is implausible")
        else:
            self._pointer(at, "large_chunks", rec.large_chunks, rec.nlarge_chunks * L.LargeChunkRec.size)
        cap = rec.suballocs_capacity
        if rec.suballocs and (cap <= 0 or cap > MAX_COUNT or cap & (cap - 1)):
            self._table(at, f"suballocs_capacity {cap} is not a power of two up to {MAX_COUNT}")
        elif rec.suballocs:
            self._pointer(at, "suballocs", rec.suballocs, cap * L.SuballocRec.size)
        if rec.nallocators > 4096:
            self._table(at, f"nallocators {rec.nallocators} is implausible")
        else:
            self._pointer(at, "allocators", rec.allocators, rec.nallocators * L.AllocatorRec.size)
        if self._pointer(at, "chunk_l1", rec.chunk_l1, 8 * L.CHUNK_L1_ENTRIES):
            end = rec.chunk_l1 + 8 * L.CHUNK_L1_ENTRIES
            hit = next((what for a, b, what in self.owned()
                        if what.startswith("the ") and a < end and rec.chunk_l1 < b), None)  # (in .bss)
            if hit is not None:
                self._table(at, f"chunk_l1 {rec.chunk_l1:#x} overlaps {hit}")
        self._pointer(at, "sub_l1", rec.sub_l1, 8 * L.SUB_L1_ENTRIES, PAGE)  # pool.c maps it on its own
        self._check_mappings()
        self._check_brk(at, rec)
        self._check_auxv(at, rec)
        self._check_bigs()
        self._check_objects()
        self._check_threads()

    def _check_mappings(self) -> None:
        """The debugger's mappings (in a core, from its file-mapping note and segments) never
        overlap: an overlap means the note is damaged, and the chain's mmap level may be wrong."""
        last = None
        biases = {o.path: o.load_bias for o in self.s.levels.objects()
                  if o.path and o.flags & L.OBJECT_F_LIVE}
        for m in sorted(self.s.mappings(), key=lambda m: m.begin):
            if m.end <= m.begin or m.end > 1 << 64:
                self._table(m.begin, f"{MAPPINGS}{m.begin:#x}-{m.end:#x} ({m.name}) is empty")
            elif last is not None and m.begin < last.end:
                self._table(m.begin, f"{MAPPINGS}{m.begin:#x}-{m.end:#x} ({m.name}) overlaps "
                                     f"{last.begin:#x}-{last.end:#x} ({last.name})")
            if last is None or m.end > last.end:
                last = m
            if m.offset is not None and m.name in biases:
                problem = file_mapping_problem(m, biases[m.name], self.s.elf(m.name))
                if problem is not None:
                    self._table(m.begin, MAPPINGS + problem)

    def _check_brk(self, at: int, rec: object) -> None:
        lo, hi = rec.brk_lo, rec.brk_hi  # type: ignore[attr-defined]
        if not lo and not hi:
            return
        if hi < lo:
            self._table(at, f"brk_hi {hi:#x} is below brk_lo {lo:#x}")
            return
        m = self.s.mapping_for(lo) if lo else None
        if lo and self.s.mappings() and m is None:
            self._table(at, f"brk_lo {lo:#x} is in no mapping")
        elif m is not None and hi > m.end + PAGE:
            self._table(at, f"brk_hi {hi:#x} is past the end {m.end:#x} of the heap's mapping")

    def _check_auxv(self, at: int, rec: object) -> None:
        lo, hi = rec.auxv_lo, rec.auxv_hi  # type: ignore[attr-defined]
        argv, envp, auxv, argc = rec.argv, rec.envp, rec.auxv, rec.argc  # type: ignore[attr-defined]
        if not (lo or hi or argv):
            return
        if not lo < hi or hi - lo > 1 << 30 or not self.readable(lo, hi - lo):
            self._table(at, f"the auxv area {lo:#x}-{hi:#x} is not a mapped range")
            return
        for name, p in (("argv", argv), ("envp", envp), ("auxv", auxv)):
            if p and not lo <= p < hi:
                self._table(at, f"{name} {p:#x} is outside the auxv area {lo:#x}-{hi:#x}")
        if argv and lo <= argv < hi:
            if argc > MAX_ARGS:
                self._table(at, f"argc {argc} is implausible")
                return
            end = self.r.try_u64(argv + 8 * argc)
            last = self.r.try_u64(argv + 8 * (argc - 1)) if argc else 1
            if end != 0 or not last:
                self._table(at, f"argc {argc} does not match argv (argv[argc] must be the only NULL)")
            count = self.r.try_u64(argv - 8)
            if count is not None and count != argc:
                self._table(at, f"argc {argc} differs from the count {count} before argv")

    def _check_bigs(self) -> None:
        bigs = self.s.levels.bigs()
        at = self.s.require_root().rec.bigs
        by_index = {b.index: b for b in bigs}
        nobjects = self.s.require_root().rec.nobjects
        for b in bigs:
            where = at + b.index * L.BigRec.size
            if b.kind not in L.BIG_KIND_ALLOCATOR and b.kind != L.BIG_MAPPING:
                self._table(where, f"level #{b.index} has unknown kind {b.kind}")
                continue
            if b.begin < USER_LIMIT < b.end:
                self._table(where, f"level #{b.index} {b.begin:#x}-{b.end:#x} runs past user space")
            elf = b.kind in (L.BIG_ELF_FILE, L.BIG_ELF_SEGMENT)
            if elf and b.object != L.NO_OBJECT and b.object >= nobjects:
                self._table(where, f"level #{b.index} names object #{b.object} of {nobjects}")
            if b.parent < 0:
                continue
            p = by_index.get(b.parent)
            # A stack level reaches down to its size limit, past the mapping the kernel has grown yet.
            lowest = 0 if b.kind == L.BIG_STACK else p.begin if p is not None else 0
            if p is None or p.index == b.index:
                self._table(where, f"level #{b.index} names parent #{b.parent}, which is not a level")
            elif not (lowest <= b.begin and b.end <= p.end):
                self._table(where, f"level #{b.index} ({b.allocator} {b.begin:#x}-{b.end:#x}, {b.size} "
                                   f"bytes) is not inside its parent #{p.index} ({p.begin:#x}-{p.end:#x}, "
                                   f"{p.size} bytes)")
        if not bigs and any(o.flags & L.OBJECT_F_LIVE for o in self.s.levels.objects()):
            self._table(at, "no levels, yet loaded objects")
        last = None
        for b in sorted((b for b in bigs if b.kind == L.BIG_MAPPING), key=lambda b: b.begin):
            if last is not None and b.begin < last.end:  # the kernel's mappings never overlap
                self._table(at + b.index * L.BigRec.size,
                            f"mapping level #{b.index} {b.begin:#x}-{b.end:#x} overlaps #{last.index} "
                            f"{last.begin:#x}-{last.end:#x}")
            if last is None or b.end > last.end:
                last = b
        for b in bigs:  # a cycle of parents
            seen, cur = {b.index}, b
            for _ in range(MAX_LEVEL_DEPTH + 1):
                nxt = by_index.get(cur.parent) if cur.parent >= 0 else None
                if nxt is None:
                    break
                if nxt.index in seen:
                    self._table(at + b.index * L.BigRec.size, f"level #{b.index}'s parents form a cycle")
                    break
                seen.add(nxt.index)
                cur = nxt

    def _check_objects(self) -> None:
        at = self.s.require_root().rec.objects
        for o in self.s.levels.objects():
            where = at + o.index * L.ObjectRec.size
            if not o.flags & L.OBJECT_F_LIVE:
                continue
            if not o.lo < o.hi or o.hi > USER_LIMIT:
                self._table(where, f"object #{o.index}'s extent {o.lo:#x}-{o.hi:#x} is empty or past "
                                   "user space")
            if o.flags & L.OBJECT_F_SYMBOLS and o.symbols:
                if o.nsymbols > MAX_COUNT or not self.readable(o.symbols, o.nsymbols * L.SymbolRec.size):
                    self._table(where, f"object #{o.index}'s symbol table {o.symbols:#x} "
                                       f"({o.nsymbols} symbols) is not mapped")
                elif o.strtab and not self.readable(o.strtab, 1):
                    self._table(where, f"object #{o.index}'s string table {o.strtab:#x} is not mapped")
            if o.meta:
                self._check_meta(where, o.index, o.meta)

    def _check_meta(self, where: int, index: int, meta: int) -> None:
        """A loaded metadata record and every table it points to lie in one mapping (its arena)."""
        data = self.r.try_read(meta, L.LoadedMetaRec.size) if meta % 8 == 0 else None
        if data is None:
            self._table(where, f"object #{index}'s metadata {meta:#x} is not mapped")
            return
        rec = L.LoadedMetaRec.unpack(data)
        m = self.s.mapping_for(meta)
        lo, hi = (m.begin, m.end) if m is not None else (meta, meta + L.LoadedMetaRec.size)
        tables = (("type_ptrs", rec.type_ptrs, rec.ntypes, 8), ("statics", rec.statics, rec.nstatics,
                  L.MetaStaticRec.size), ("frames", rec.frames, rec.nframes, L.MetaFrameRec.size),
                  ("sites", rec.sites, rec.nsites, L.MetaSiteRec.size))
        for name, ptr, n, size in tables:
            if not n:
                continue
            if n > MAX_COUNT or not ptr:
                self._table(meta, f"metadata {name}: {n} records at {ptr:#x}")
            elif m is not None and not (lo <= ptr and ptr + n * size <= hi):
                self._table(meta, f"metadata {name} ({n} records at {ptr:#x}) is not inside its arena "
                                  f"{lo:#x}-{hi:#x}")
            elif not self.readable(ptr, n * size):
                self._table(meta, f"metadata {name} ({n} records at {ptr:#x}) is not mapped")

    def _check_threads(self) -> None:
        rec = self.s.require_root().rec
        at = rec.threads
        records = self.s.levels.threads()
        if records and not any(t.flags & L.THREAD_F_LIVE for t in records):
            self._table(at, f"none of the {len(records)} thread records is live")
        tids = {t.tid for t in self.s.debugger_threads()}
        for i, t in enumerate(records):
            if not t.flags & L.THREAD_F_LIVE:
                continue
            if tids and t.tid not in tids:
                self._table(at + i * L.ThreadRec.size,
                            f"thread #{i}'s tid {t.tid} is not a thread of this process")
            unmapped = bool(self.s.mappings()) and self.s.mapping_for(t.stack_hi - 1) is None
            if (not t.stack_lo < t.stack_hi or t.stack_hi > USER_LIMIT or t.stack_hi - t.stack_lo > 1 << 34
                    or unmapped or not 0 < t.tid < 1 << 22):
                self._table(at + i * L.ThreadRec.size,
                            f"thread #{i}'s stack {t.stack_lo:#x}-{t.stack_hi:#x} is empty or implausible")

    def owned(self) -> List[Tuple[int, int, str]]:
        """Extents that hold something else than a chunk-start map: the runtime's other tables, ELF
        files, stacks, the brk heap."""
        if self._owned is None:
            rec = self.s.require_root().rec
            out = [(rec.bigs, rec.bigs_capacity * L.BigRec.size, "the levels table"),
                   (rec.objects, rec.objects_capacity * L.ObjectRec.size, "the objects table"),
                   (rec.threads, rec.threads_capacity * L.ThreadRec.size, "the threads table"),
                   (rec.sites, rec.sites_capacity * L.SiteRec.size, "the sites table"),
                   (rec.suballocs, rec.suballocs_capacity * L.SuballocRec.size, "the pool objects table"),
                   (rec.chunk_l1, 8 * L.CHUNK_L1_ENTRIES, "chunk_l1"),
                   (rec.sub_l1, 8 * L.SUB_L1_ENTRIES, "sub_l1"),
                   (rec.brk_lo, rec.brk_hi - rec.brk_lo, "the brk heap"),
                   (self.s.require_root().addr, L.RootRec.size, "the root record")]
            out += [(b.begin, b.size, f"a level ({b.allocator})") for b in self.s.levels.bigs()
                    if b.kind in (L.BIG_ELF_FILE, L.BIG_ELF_SEGMENT, L.BIG_STACK, L.BIG_AUXV)]
            out += [(t.stack_lo, t.stack_hi - t.stack_lo, "a thread's stack")
                    for t in self.s.levels.threads()]
            self._owned = [(a, a + n, what) for a, n, what in out if a and 0 < n < 1 << 40]
        return self._owned

    def map_problem(self, region: int, m: int) -> Optional[str]:
        """Why m cannot be region's chunk-start byte map (it must be page-aligned, mapped over its
        whole extent, and hold nothing else), or None. Cached per map address."""
        if m not in self._maps:
            end = m + L.CHUNK_MAP_BYTES
            problem = None
            if m % PAGE or not self.readable(m, L.CHUNK_MAP_BYTES):
                problem = "not a mapped, page-aligned byte map"
            else:
                hit = next((what for a, b, what in self.owned() if a < end and m < b), None)
                other = next((r for r, x in self._regions.items()
                              if x != m and x < end and m < x + L.CHUNK_MAP_BYTES), None)
                if hit is not None:
                    problem = f"the byte map would overlap {hit}"
                elif other is not None:
                    problem = f"the byte map would overlap region {other}'s"
            self._maps[m] = problem
        if self._maps[m] is None:
            self._regions[region] = m
        return self._maps[m]

    # ---- per answer ----
    def check_site(self, site_id: int, pc: Optional[int]) -> None:
        """A heap site's pc: a return address (after a call) in a loaded object's text."""
        if site_id not in self._sites:
            self._sites[site_id] = self._site_problem(site_id, pc)
        problem = self._sites[site_id]
        if problem is not None:
            self.report(*problem)

    def _site_problem(self, site_id: int, pc: Optional[int]) -> Optional[Tuple[int, str]]:
        rec = self.s.require_root().rec
        where = rec.sites + site_id * L.SiteRec.size
        if site_id >= max(rec.nsites, 1) and site_id:
            return where, f"a chunk's site #{site_id} is past the site table's {rec.nsites} entries"
        if pc is None:
            return (where, f"site #{site_id} has no pc") if site_id else None
        if not self.is_return_address(pc):
            return where, f"site #{site_id}'s pc {pc:#x} is not a return address in a loaded object's text"
        return None

    def is_return_address(self, pc: int) -> bool:
        """Is pc just after a call, in a loaded object? (Cached per pc.)"""
        if pc not in self._returns:
            code = self.r.try_read(pc - 7, 7) if pc >= 7 else None
            self._returns[pc] = (self.s.levels.object_for(pc) is not None and code is not None
                                 and is_call_return(code))
        return self._returns[pc]

    def check_chunk(self, base: int, usable: int, hdr: Optional[int], site_id: int, slack: int,
                    seq: int) -> None:
        """A live chunk: glibc's header agrees with the next chunk's, its trailer with the tables."""
        problem = self.s.heap.header_problem(base, hdr)
        if problem is not None:
            self.report(base - 8, problem)
        room = usable - L.TRAILER_BYTES
        if slack != L.TRAILER_SLACK_UNKNOWN and slack > room:
            self.report(base + room, f"the trailer's slack {slack} exceeds the chunk's {room} bytes")
        rec = self.s.require_root().rec
        if site_id and site_id >= rec.nsites:
            self.report(base + room, f"the trailer's site #{site_id} is past the site table's {rec.nsites}")
        bound = self.seq_bound()
        if bound is not None and seq >= bound:
            self.report(base + room, f"the trailer's sequence number {seq} is past the {bound} the runtime "
                                     "can have given")

    def seq_bound(self) -> Optional[int]:
        """Sequence numbers come in blocks of SEQ_BLOCK per thread from one counter: none can be
        past the allocations counted plus a block per thread record (None once they may wrap)."""
        if self._seq_bound is None:
            rec = self.s.require_root().rec
            allocs = self.s.levels.total_allocs()
            bound = allocs + SEQ_BLOCK * (min(rec.threads_capacity, MAX_COUNT) + 2)
            self._seq_bound = bound if bound < L.TRAILER_SEQ_MASK else -1
        return self._seq_bound if self._seq_bound >= 0 else None

    def check_pool_object(self, chunk: "Chunk", obj: Optional["PoolObject"]) -> None:
        """A chunk marked as holding pool objects: the pool tables must be there, and an object
        found must lie inside its chunk and name a registered allocator."""
        rec = self.s.require_root().rec
        if not rec.sub_l1 or not rec.suballocs:
            self.report(self.s.require_root().addr,
                        "a chunk holds pool objects, but the pool tables are absent")
            return
        if obj is None:
            return
        if not chunk.base <= obj.base < chunk.end or obj.size > chunk.end - obj.base:
            self.report(rec.suballocs, f"the pool object {obj.base:#x} ({obj.size} bytes) is not inside its "
                                       f"chunk {chunk.base:#x}-{chunk.end:#x}")
        # A pool's site is any code address its allocator passed (not always a return address).
        if obj.site and self.s.levels.object_for(obj.site) is None:
            self.report(rec.suballocs, f"the pool object {obj.base:#x}'s site {obj.site:#x} is in no loaded "
                                       "object")
        if obj.allocator_index >= rec.nallocators:
            self.report(rec.suballocs, f"the pool object {obj.base:#x} names allocator "
                                       f"#{obj.allocator_index} of {rec.nallocators}")
