"""A Session: the decoder's view of the inferior while it stays stopped (a Reader with its page
cache, the validated root, the parts, the run-time types).

Everything read is cached for the session's life, so a front keeps one Session per stop and
drops it when the inferior may have changed (resumed, memory written, objects loaded, exited);
the gdb front does that from gdb's events. A front that cannot tell creates one per command.
"""
from __future__ import annotations

from typing import Dict, List, Optional, Tuple

from . import layout as L
from .errors import NO_RUNTIME_NOTE, NoRuntime
from .heap import Heap
from .integrity import Integrity
from .levels import Levels
from .memory import Reader
from .pool import Pools
from .elf import ElfFile, object_elf
from .root import Root, bounded, load_root
from .target import X86_64, Architecture, Mapping, SourceLine, Symbolization, Target, Thread, optional_call
from .types import MetaTypes
from .uniqtype import UType
from .composition import describe
from .address_description import AddressDescription


class Session:
    def __init__(self, target: Target, use_types: bool = True) -> None:
        self.target = target
        self.reader = Reader(target)
        self.use_types = use_types
        self._types: Optional[MetaTypes] = None
        self._root: Optional[Root] = None
        self._no_runtime: Optional[NoRuntime] = None
        self._heap: Optional[Heap] = None
        self._levels: Optional[Levels] = None
        self._pools: Optional[Pools] = None
        self._lines: Dict[int, Optional[SourceLine]] = {}
        self._site_pcs: Optional[List[Tuple[int, int]]] = None
        self._mappings: Optional[List[Mapping]] = None
        self._threads: Optional[List[Thread]] = None
        self._elves: Dict[str, Optional[ElfFile]] = {}
        self._arch: Optional[Architecture] = None
        self.integrity = Integrity(self)

    # ---- the runtime's parts ----
    def root(self) -> Optional[Root]:
        """The validated root; None without the runtime; LayoutError when it is corrupted."""
        if self._root is None and self._no_runtime is None:
            try:
                self._root = load_root(self.reader)
            except NoRuntime as e:
                self._no_runtime = e
        return self._root

    def require_root(self) -> Root:
        root = self.root()
        if root is None:
            raise NoRuntime(str(self._no_runtime) if self._no_runtime else NO_RUNTIME_NOTE)
        return root

    @property
    def heap(self) -> Heap:
        if self._heap is None:
            self._heap = Heap(self.reader, self.require_root(), self.integrity.report,
                              self.integrity.map_problem)
        return self._heap

    @property
    def levels(self) -> Levels:
        if self._levels is None:
            self._levels = Levels(self.reader, self.require_root())
        return self._levels

    @property
    def pools(self) -> Pools:
        if self._pools is None:
            self._pools = Pools(self.reader, self.require_root(), self.heap)
        return self._pools

    @property
    def types(self) -> Optional[MetaTypes]:
        """Run-time types read from the inferior (None without the runtime or when switched off)."""
        if self._types is None and self.use_types and self.root() is not None:
            self._types = MetaTypes(self.reader, self)
        return self._types

    # ---- sites ----
    def site_record(self, site_id: int) -> Tuple[Optional[int], int]:
        """(return address, uniqtype address) recorded for a site id; (None, 0) when unknown."""
        rec = self.require_root().rec
        if self._site_pcs is None:
            n = bounded(rec.nsites, rec.sites_capacity) if rec.sites else 0
            data = self.reader.try_read(rec.sites, n * L.SiteRec.size) if n else None
            self._site_pcs = [(int(a), int(b)) for a, b in L.SiteRec.iter_unpack(data)] if data else []
        if 0 < site_id < len(self._site_pcs) and self._site_pcs[site_id][0]:
            return self._site_pcs[site_id]
        return None, 0

    def checked_site_record(self, site_id: int) -> Tuple[Optional[int], int]:
        """site_record, with the site checked (integrity.check_site) for the current answer."""
        pc, type_addr = self.site_record(site_id)
        self.integrity.check_site(site_id, pc)
        return pc, type_addr

    def site_pc(self, site_id: int) -> Optional[int]:
        return self.site_record(site_id)[0]

    def site_uniqtype(self, site_id: int, pc: Optional[int] = None) -> Optional[UType]:
        """A site's own type, not sized by any chunk: the uniqtype the runtime recorded for it,
        else the metadata's type for its return address (pc, or the one recorded); None when
        unknown or without type metadata."""
        types = self.types
        if types is None:
            return None
        recorded_pc, cached = self.site_record(site_id)
        t = types.get(cached) if cached else None
        if t is None and pc is None:
            pc = recorded_pc
        return types.site_type(pc) if t is None and pc else t

    def source_line(self, pc: Optional[int]) -> Optional[SourceLine]:
        """Function and file:line of the call whose return address is pc."""
        if not pc:
            return None
        if pc not in self._lines:
            line = optional_call(self.target, "source_line", pc - 1)
            types = self.types
            inlined = types.inlined_site(pc) if types is not None else None
            if inlined is not None:  # a call in an inlined wrapper: its caller's line
                call_line, levels = inlined
                outer = optional_call(self.target, "enclosing_function", pc - 1, levels)
                if isinstance(outer, SourceLine):
                    line = SourceLine(outer.function, outer.file, call_line)
                elif isinstance(line, SourceLine):
                    line = SourceLine(line.function, line.file, call_line)
            if line is None:
                sym = optional_call(self.target, "symbolize", pc - 1)
                if isinstance(sym, Symbolization):
                    line = SourceLine(sym.name, None, None)
            self._lines[pc] = line if isinstance(line, SourceLine) else None
        return self._lines[pc]

    # ---- what the debugger knows ----
    @property
    def arch(self) -> Architecture:
        """The target's Architecture (Target.architecture), x86-64 when the Target does not say."""
        if self._arch is None:
            try:
                a = optional_call(self.target, "architecture")
            except Exception:  # noqa: BLE001 - an optional Target method must not break an answer
                a = None
            self._arch = a if isinstance(a, Architecture) else X86_64
        return self._arch

    def try_word(self, addr: int) -> Optional[int]:
        """The pointer-sized word at addr in the target's byte order, or None when unreadable."""
        data = self.reader.try_read(addr, self.arch.pointer_size)
        return None if data is None else int.from_bytes(data, "little" if self.arch.little_endian else "big")

    def elf(self, path: Optional[str]) -> Optional[ElfFile]:
        """The ELF object the process loaded from path: the Target's copy, else the host's file."""
        return object_elf(self.target, path, self._elves)

    def mappings(self) -> List[Mapping]:
        if self._mappings is None:
            m = optional_call(self.target, "mappings")
            self._mappings = list(m) if isinstance(m, list) else []
        return self._mappings

    def mapping_for(self, addr: int) -> Optional[Mapping]:
        for m in self.mappings():
            if m.begin <= addr < m.end:
                return m
        return None

    def debugger_threads(self) -> List[Thread]:
        if self._threads is None:
            t = optional_call(self.target, "threads")
            self._threads = list(t) if isinstance(t, list) else []
        return self._threads

    # ---- queries (implemented in their own modules) ----
    def describe(self, addr: int) -> AddressDescription:
        return describe(self, addr)
