"""describe(addr): the address description, composed the way the runtime's alloc_describe does it
(levels from the mapping down, then the heap chunk and pool object, or the level's own leaf)."""
from __future__ import annotations

import struct
from typing import TYPE_CHECKING, Callable, List, Optional, Tuple

from . import layout as L
from .brk import brk_heap, heap_mapping
from .cxx import dynamic_type, library_site, readable_name, string_buffer_type
from .address_description import AddressDescription, Level, heap_site, stack_site, static_site
from .elf import ElfFile
from .errors import NO_RUNTIME_NOTE, DecodeError
from .integrity import damage_note
from .levels import Big
from .target import Frame, Symbolization, Thread, optional_call
from .types import MetaTypes
from .uniqtype import UType, make_array

if TYPE_CHECKING:  # the Session calls describe(): a run-time import would be circular
    from .session import Session

ADDR_MASK = (1 << 64) - 1
MAX_STRINGS = 65536


def describe(s: Session, addr: int) -> AddressDescription:
    """The description, with the damage to the runtime's tables it was built on (a note each and
    the `damage` field), checked by s.integrity."""
    s.integrity.begin()
    try:
        d = _describe(s, addr & ADDR_MASK)
    finally:
        damage = s.integrity.end()
    if d.runtime and d.address:
        d.damage = damage
        d.notes.extend(damage_note(a, what) for a, what in damage)
    return d


def _describe(s: Session, addr: int) -> AddressDescription:
    d = AddressDescription(addr)
    root = s.root()  # LayoutError propagates: a corrupted header is an error, not a guess
    if root is None:
        d.runtime = False
        d.notes.append(NO_RUNTIME_NOTE)
        _from_debugger(s, d)
        return d
    if addr == 0:
        d.notes.append("the null pointer")
        return d
    s.integrity.check_tables()
    if not root.initialised:
        d.notes.append("the runtime had not finished initialising: answers may be incomplete")
    lv = _levels(s, d, addr)
    if root.glibc_malloc:
        if _heap_leaf(s, d, addr):
            return d
        if lv.elf is None and lv.stack is None and _freed_leaf(s, d, addr):
            return d
    elif lv.elf is None and lv.stack is None:
        d.notes.append("heap chunks cannot be sized: the runtime does not sit on glibc's malloc")
    if lv.auxv:
        _auxv_leaf(s, d, addr)
    elif lv.stack is not None:
        _stack_leaf(s, d, addr, lv.tid)
    elif lv.elf is not None:
        obj = s.levels.object(lv.elf.object) if lv.elf.object != L.NO_OBJECT else None
        obj = obj or s.levels.object_for(addr)
        if not _static_leaf(s, d, addr, obj.path if obj else lv.elf.name, obj.load_bias if obj else None,
                            obj=obj):
            d.notes.append("in an ELF object, but no symbol or section is known here")
    elif lv.brk is not None:
        # As the runtime answers: the brk level itself is the leaf; no live object is here.
        d.allocator, d.base, d.size = L.BIG_KIND_ALLOCATOR[L.BIG_BRK], lv.brk[0], lv.brk[1]
        d.notes.append("in the brk heap but in no live chunk (malloc's free space or bookkeeping)")
    elif lv.mapping is not None:
        _mmap_leaf(s, d, lv.mapping)
    else:
        _from_debugger(s, d)
    return d


class _Levels:
    mapping: Optional[Big] = None
    elf: Optional[Big] = None
    brk: Optional[Tuple[int, int]] = None
    stack: Optional[Tuple[int, int]] = None
    tid: Optional[int] = None
    auxv = False


def _levels(s: Session, d: AddressDescription, addr: int) -> _Levels:
    """The enclosing levels, outermost first, as the runtime's levels_chain composes them: the
    mapping; then the ELF file and segment, or the brk heap, or a stack (and the auxv area)."""
    out = _Levels()
    rec = s.require_root().rec
    containing = [b for b in s.levels.bigs() if b.begin <= addr < b.end]

    def smallest(kind: int) -> Optional[Big]:
        c = [b for b in containing if b.kind == kind]
        return min(c, key=lambda b: b.size) if c else None

    out.mapping = smallest(L.BIG_MAPPING)
    if out.mapping is not None:
        d.push(Level(L.MMAP, out.mapping.begin, out.mapping.size, out.mapping.name))
    else:  # the runtime has not seen this mapping: the debugger has
        heap = heap_mapping(s)
        m = heap if heap is not None and heap.begin <= addr < heap.end else s.mapping_for(addr)
        if m is not None:
            d.push(Level(L.MMAP, m.begin, m.end - m.begin, m.name))
    elf_file, seg = smallest(L.BIG_ELF_FILE), smallest(L.BIG_ELF_SEGMENT)
    brk = brk_heap(s)
    thread = s.levels.thread_for_stack(addr)
    stack_big = smallest(L.BIG_STACK)
    if elf_file is not None or seg is not None:
        for b in (elf_file, seg):
            if b is not None:
                d.push(Level(b.allocator, b.begin, b.size, b.name))
        out.elf = seg or elf_file
    elif brk is not None and brk[0] <= addr < brk[1]:
        out.brk = (brk[0], brk[1] - brk[0])
        d.push(Level(L.BIG_KIND_ALLOCATOR[L.BIG_BRK], brk[0], brk[1] - brk[0], None))
    elif thread is not None or stack_big is not None:
        if thread is not None:
            lo, hi = thread.stack_lo, thread.stack_hi
        else:
            assert stack_big is not None
            lo, hi = stack_big.begin, stack_big.end
        out.stack, out.tid = (lo, hi - lo), thread.tid if thread else None
        d.push(Level(L.BIG_KIND_ALLOCATOR[L.BIG_STACK], lo, hi - lo, stack_big.name if stack_big else None))
        if rec.auxv_lo <= addr < rec.auxv_hi:
            out.auxv = True
            d.push(Level(L.AUXV, rec.auxv_lo, rec.auxv_hi - rec.auxv_lo, None))
    return out


# Why a type is unknown when the object's metadata *is* loaded (no metadata at all keeps
# render.NO_TYPES: typegen has not run), by what was looked up.
UNTYPED_WITH_META = {
    "site": "metadata is loaded, but typegen found no type for this allocation site: build with "
            "`allocs cc` for types from the source, or see `allocs typegen PROG` for why",
    "frame": "metadata is loaded, but it places none of this function's variables in its frame here "
             "(they live in registers, or DWARF locates them in a way typegen does not follow)",
    "static": "metadata is loaded, but it has no type for this symbol (no DWARF for it?)",
}


def _why_untyped(types: MetaTypes, meta_at: int, what: str) -> Optional[str]:
    try:
        loaded = types.meta_for(meta_at) is not None
    except (DecodeError, ValueError, OverflowError):
        return None
    return f"unknown ({UNTYPED_WITH_META[what]})" if loaded else None


def _types(s: Session, d: AddressDescription, find: Callable[[MetaTypes], Optional[UType]],
           base_offset: int = 0, meta_at: Optional[int] = None, what: str = "") -> None:
    """Fills type, uniqtype, path and pathType from the run-time type `find` gives. A corrupted or
    missing record means "type unknown", never a failed description; when the metadata of the
    object holding `meta_at` (a site's pc, a frame's pc, a static's address) is loaded but has no
    type, d.type_why says so."""
    types = s.types
    if types is None or d.base is None or d.size is None:
        return
    try:
        t = find(types)
        if t is None:
            if meta_at and what:
                d.type_why = _why_untyped(types, meta_at, what)
            elif what == "site":
                d.type_why = "unknown (no allocation site is recorded for this chunk)"
            return
        ans = types.answer(t, d.address - d.base, base_offset)
    except (DecodeError, ValueError, OverflowError, RecursionError, struct.error) as e:
        d.notes.append(f"type unknown: the run-time type records are unreadable ({e})")
        return
    d.type, d.uniqtype, d.path, d.path_type = ans.type, ans.uniqtype, ans.path, ans.path_type
    d.utype, d.path_utype, d.path_start = ans.utype, ans.path_utype, ans.path_offset
    d.notes.extend(ans.notes)


def _pool_type(types: MetaTypes, chunk_type: Optional[UType], chunk_base: int, base: int,
               size: int) -> Optional[UType]:
    """A pool object carries no type of its own in the runtime: when its chunk is an array of T and
    the object is a whole number of those elements, it is T (or T[n])."""
    if chunk_type is None or chunk_type.kind != L.KIND_ARRAY:
        return None
    el = types.related(chunk_type)
    if el is None or not el.size or (base - chunk_base) % el.size or size % el.size or not size:
        return None
    return el if size == el.size else make_array(el, size // el.size)


def _heap_leaf(s: Session, d: AddressDescription, addr: int) -> bool:
    found = s.heap.find_chunk(addr)
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

    if chunk.has_pool_objects:
        found_obj = s.pools.find(addr, chunk)
        s.integrity.check_pool_object(chunk, found_obj)
        if found_obj is not None:
            obj = found_obj  # not Optional: find_pool reads it
            d.push(Level(obj.allocator, obj.base, obj.size, None))
            d.allocator, d.base, d.size = obj.allocator, obj.base, obj.size
            pc, seq = obj.site or None, obj.seq

            def find_pool(types: MetaTypes) -> Optional[UType]:
                t = _pool_type(types, types.of_chunk(type_addr, chunk_pc, chunk.size), chunk.base, obj.base,
                               obj.size)
                if t is not None:
                    d.notes.append("a pool object: its type is that of its chunk's elements")
                return t
            find = find_pool
    line = s.source_line(pc)
    function = line.function if line else None
    if function is None:  # a site in a library without debug information (libstdc++)
        lib = library_site(s, pc)
        function = lib[1] if lib is not None else None
    d.site = heap_site(pc, function, line.file if line else None, line.line if line else None, seq)
    if addr >= d.base + d.size:
        d.notes.append(f"{addr - d.base - d.size} bytes past the requested size (in malloc's slack)")
    _types(s, d, find, meta_at=chunk_pc or 0, what="site")
    return True


def _freed_leaf(s: Session, d: AddressDescription, addr: int) -> bool:
    found = s.heap.find_freed(addr)
    if found is None:
        return False
    base, usable = found
    d.push(Level(L.MALLOC, base, usable, None))
    d.allocator, d.base, d.size, d.state = L.MALLOC, base, usable, "freed"
    d.notes.append("a freed malloc chunk: size is malloc's usable size; the allocation site is gone")
    return True


def _mmap_leaf(s: Session, d: AddressDescription, big: Big) -> None:
    d.allocator, d.base, d.size, d.state = L.MMAP, big.begin, big.size, "live"
    if big.flags & L.BIG_F_USER_MMAP and big.site:
        line = s.source_line(big.site)
        d.site = heap_site(big.site, line.function if line else None, line.file if line else None,
                           line.line if line else None, None)
    d.push(Level(L.MMAP, big.begin, big.size, big.name))


def _frames_of(t: Thread) -> List[Frame]:
    try:
        return list(t.frames())
    except Exception:  # a front's unwinder failing must not sink the whole answer
        return []


def _stack_leaf(s: Session, d: AddressDescription, addr: int, tid: Optional[int]) -> None:
    threads = sorted(s.debugger_threads(), key=lambda t: t.tid != tid)
    for t in threads:
        frames = _frames_of(t)
        if not frames:
            continue
        for f in frames:
            if f.sp <= addr < f.cfa:
                d.allocator, d.base, d.size, d.state = L.STACKFRAME, f.sp, f.cfa - f.sp, "live"
                d.push(Level(L.STACKFRAME, f.sp, f.cfa - f.sp, f.function))
                var = None
                try:
                    for v in f.variables():
                        if v.addr <= addr < v.addr + max(v.size, 1):
                            var = v.name
                            break
                except Exception:
                    var = None
                d.site = stack_site(f.function, f.level, var, t.num, f.file, f.line)
                _frame_types(s, d, f)
                return
        if t.tid == tid and addr < frames[0].sp:
            d.notes.append(f"below the stack pointer of thread {t.num}: in no live frame")
            return
    if not threads:
        d.notes.append("the debugger knows no threads here, so frames cannot be told apart")
    else:
        d.notes.append("on a stack, but in no frame the debugger can unwind")


def _frame_types(s: Session, d: AddressDescription, f: Frame) -> None:
    """A frame's FRAME type: members count from CFA - size (docs/metadata-format.md). A caller's
    pc is a return address, so its function is looked up at pc - 1."""
    types = s.types
    if types is None:
        return
    pc = f.pc if f.level == 0 else f.pc - 1
    try:
        t = types.of_frame(pc)
    except DecodeError:
        t = None
    if t is None or not t.size:
        if d.base is not None:
            d.type_why = _why_untyped(types, pc, "frame")
        return
    _types(s, d, lambda _t: t, base_offset=(f.cfa - t.size) - f.sp)


def _auxv_leaf(s: Session, d: AddressDescription, addr: int) -> None:
    rec = s.require_root().rec
    r = s.reader
    word, aux = s.arch.pointer_size, s.arch.auxv_entry_size  # 8 and 16 on x86-64
    items: List[tuple] = []
    if rec.argv:
        items.append(("argc", rec.argv - word, word))
        argc = min(rec.argc, MAX_STRINGS)
        items.append(("argv", rec.argv, word * (argc + 1)))
        strings = [(f"argv[{i}]", s.try_word(rec.argv + word * i)) for i in range(argc)]
        envc = 0
        if rec.envp:
            while envc < MAX_STRINGS and s.try_word(rec.envp + word * envc):
                envc += 1
            items.append(("envp", rec.envp, word * (envc + 1)))
            strings += [(f"envp[{i}]", s.try_word(rec.envp + word * i)) for i in range(envc)]
        if rec.auxv:
            n = 0
            while n < 512 and s.try_word(rec.auxv + aux * n):
                n += 1
            items.append(("auxv", rec.auxv, aux * (n + 1)))
        for name, p in strings:
            if p and p <= addr < p + 4096:
                text = r.cstring(p)
                if text is not None:
                    items.append((name, p, len(text.encode()) + 1))
    for name, base, size in items:
        if base <= addr < base + size:
            d.allocator, d.base, d.size, d.state = L.AUXV, base, size, "live"
            d.push(Level(L.AUXV, base, size, name))
            d.site = static_site(name, None, None)
            _types(s, d, lambda types: types.of_auxv(base, size))
            return
    if rec.auxv_lo <= addr < rec.auxv_hi:
        base, size = rec.auxv_lo, rec.auxv_hi - rec.auxv_lo
        d.allocator, d.base, d.size, d.state = L.AUXV, base, size, "live"
        d.push(Level(L.AUXV, base, size, None))
        d.site = static_site(None, None, None)


def _bias_from_mappings(s: Session, path: str, elf: ElfFile) -> Optional[int]:
    begins = [m.begin for m in s.mappings() if m.name == path]
    return min(begins) - elf.min_vaddr if begins else None


def _static_leaf(s: Session, d: AddressDescription, addr: int, path: Optional[str], bias: Optional[int],
                 obj: object = None) -> bool:
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
        bias = _bias_from_mappings(s, path or "", elf)
    if elf is not None and bias is not None:
        sec = elf.section_at(addr - bias)
        section = sec.name if sec else None
        if symbol is None:
            es = elf.symbol_at(addr - bias)
            if es is not None:
                symbol, base, size = es.name, es.addr + bias, es.size
        if symbol is None and sec is not None:
            lit = _string_at(s, addr, sec.addr + bias, sec.addr + bias + sec.size) if sec.rodata else None
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
        _types(s, d, lambda types: types.string_literal(lit_size))
    else:
        sym_base = base
        _types(s, d, lambda types: types.of_static(addr, sym_base), meta_at=addr, what="static")
    return True


def _string_at(s: Session, addr: int, lo: int, hi: int) -> Optional[Tuple[int, int]]:
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


def _from_debugger(s: Session, d: AddressDescription) -> None:
    """What the debugger alone knows: the mapping, a stack frame, or the symbol/section."""
    addr = d.address
    m = s.mapping_for(addr)
    if m is not None and not any(lv.base <= addr < lv.base + lv.size for lv in d.chain):
        d.push(Level(L.MMAP, m.begin, m.end - m.begin, m.name))
    if m is not None and m.name and m.name.startswith("[stack"):
        _stack_leaf(s, d, addr, None)
        return
    path = m.name if m is not None and m.name and m.name.startswith("/") else None
    if _static_leaf(s, d, addr, path, None):
        return
    for t in s.debugger_threads():
        frames = _frames_of(t)
        if frames and frames[0].sp <= addr < frames[-1].cfa:
            _stack_leaf(s, d, addr, t.tid)
            return
    if m is None:
        d.notes.append("not in any mapping the debugger knows")
    else:
        d.notes.append(f"in the mapping {m.name or '(anonymous)'}; nothing finer is known")
