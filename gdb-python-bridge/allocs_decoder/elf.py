"""A minimal ELF64 little-endian reader: sections, PT_LOAD segments and .symtab/.dynsym symbols
with their sizes. The debugger's own symbolization (used for static addresses when the runtime
has not built its symbol table, or when there is no runtime) reads the files the process loaded:
the debugger's copy when the Target supplies it (object_bytes: a remote target's downloaded file,
a core's file found elsewhere), else the file at the object's path on this host."""
from __future__ import annotations

import bisect
import io
import os
import struct
from dataclasses import dataclass
from typing import BinaryIO, Dict, List, Optional, Tuple

from .target import optional_call

_EHDR = struct.Struct("<16sHHIQQQIHHHHHH")
_SHDR = struct.Struct("<IIQQQQIIQQ")
_PHDR = struct.Struct("<IIQQQQQQ")
_SYM = struct.Struct("<IBBHQQ")
SHT_SYMTAB, SHT_DYNSYM = 2, 11
SHF_WRITE, SHF_ALLOC, SHF_EXECINSTR = 0x1, 0x2, 0x4
SHT_PROGBITS = 1
STT_OBJECT, STT_FUNC, STT_TLS = 1, 2, 6
PT_LOAD = 1
MAX_FILE = 1 << 31


@dataclass(frozen=True)
class Section:
    name: str
    addr: int
    size: int
    flags: int = 0
    type: int = 0

    @property
    def rodata(self) -> bool:
        """Read-only data (where string literals live): PROGBITS, neither writable nor code."""
        return self.type == SHT_PROGBITS and not self.flags & (SHF_WRITE | SHF_EXECINSTR)


@dataclass(frozen=True)
class ElfSymbol:
    name: str
    addr: int
    size: int
    kind: str  # "function" or "variable"


def _cstr(tab: bytes, off: int) -> str:
    end = tab.find(b"\0", off)
    return tab[off:end if end >= 0 else len(tab)].decode("utf-8", "replace")


class ElfFile:
    def __init__(self, path: str, data: Optional[bytes] = None) -> None:
        """The file at path on this host, or (data given) the file's contents, named path."""
        self.path = path
        self.sections: List[Section] = []
        self.min_vaddr = 0
        self.segments: List[Tuple[int, int, int]] = []
        # the symbol tables' bytes (symbols, strings), decoded on first use: most answers need
        # only the segments and sections, and decoding took most of a first stop's describe
        self._symtabs: List[Tuple[bytes, bytes]] = []
        self._symbols: Optional[List[ElfSymbol]] = None
        self._starts: List[int] = []
        with (io.BytesIO(data) if data is not None else open(path, "rb")) as f:
            self._parse(path, f)
        self.sections.sort(key=lambda s: s.addr)

    @property
    def symbols(self) -> List[ElfSymbol]:
        """Sized function and variable symbols, outer before inner at one address."""
        if self._symbols is None:
            out: List[ElfSymbol] = []
            for data, strs in self._symtabs:
                for j in range(len(data) // _SYM.size):
                    name, info, _other, shndx, value, size = _SYM.unpack_from(data, j * _SYM.size)
                    kind = info & 0xF
                    if kind not in (STT_OBJECT, STT_FUNC) or shndx == 0 or not value:
                        continue
                    out.append(ElfSymbol(_cstr(strs, name), value, size,
                                         "function" if kind == STT_FUNC else "variable"))
            out.sort(key=lambda s: (s.addr, -s.size))
            self._symtabs = []
            self._symbols = out
            self._starts = [s.addr for s in out]
        return self._symbols

    def _parse(self, path: str, f: BinaryIO) -> None:
        head = f.read(_EHDR.size)
        if len(head) < _EHDR.size or head[:4] != b"\x7fELF" or head[4] != 2 or head[5] != 1:
            raise ValueError(f"{path}: not a 64-bit little-endian ELF file")
        e = _EHDR.unpack(head)
        phoff, shoff = e[5], e[6]
        phentsize, phnum, shentsize, shnum, shstrndx = e[9], e[10], e[11], e[12], e[13]
        f.seek(phoff)
        ph = f.read(phentsize * phnum)
        phdrs = [_PHDR.unpack_from(ph, i * phentsize) for i in range(phnum)
                 if (i + 1) * phentsize <= len(ph)]
        loads = [p[3] for p in phdrs if p[0] == PT_LOAD]
        # (file offset, vaddr, file size) of each PT_LOAD: where a mapping of the file belongs
        self.segments = [(p[2], p[3], p[5]) for p in phdrs if p[0] == PT_LOAD]
        self.min_vaddr = min(loads) & ~0xFFF if loads else 0
        f.seek(shoff)
        sh = f.read(shentsize * shnum)
        shdrs = [_SHDR.unpack_from(sh, i * shentsize) for i in range(shnum)
                 if (i + 1) * shentsize <= len(sh)]

        def blob(i: int) -> bytes:
            s = shdrs[i]
            if s[1] == 8 or s[5] > MAX_FILE:  # SHT_NOBITS
                return b""
            f.seek(s[4])
            return f.read(s[5])

        names = blob(shstrndx) if shstrndx < len(shdrs) else b""

        symtabs = [i for i, s in enumerate(shdrs) if s[1] == SHT_SYMTAB] or \
            [i for i, s in enumerate(shdrs) if s[1] == SHT_DYNSYM]
        for s in shdrs:
            if s[2] & SHF_ALLOC and s[3]:
                self.sections.append(Section(_cstr(names, s[0]), s[3], s[5], s[2], s[1]))
        self._symtabs = [(blob(i), blob(shdrs[i][6]) if shdrs[i][6] < len(shdrs) else b"") for i in symtabs]

    def symbol_at(self, vaddr: int) -> Optional[ElfSymbol]:
        """The sized symbol containing vaddr (an unrelocated address)."""
        # As the runtime does it: the last symbol starting at or below vaddr whose extent (at
        # least one byte) reaches it.
        symbols = self.symbols
        i = bisect.bisect_right(self._starts, vaddr)
        for k in range(i - 1, max(-1, i - 256), -1):
            s = symbols[k]
            if vaddr < s.addr + max(s.size, 1):
                return s
        return None

    def section_at(self, vaddr: int) -> Optional[Section]:
        for s in self.sections:
            if s.addr <= vaddr < s.addr + s.size:
                return s
        return None


_cache: Dict[Tuple[str, float], Optional[ElfFile]] = {}


def open_elf(path: Optional[str]) -> Optional[ElfFile]:
    """The parsed file (cached by path and mtime), or None when it is missing or not ELF."""
    if not path or not path.startswith("/"):
        return None
    try:
        key = (path, os.stat(path).st_mtime)
    except OSError:
        return None
    if key not in _cache:
        try:
            _cache[key] = ElfFile(path)
        except (OSError, ValueError, struct.error):
            _cache[key] = None
    return _cache[key]


def object_elf(target: object, path: Optional[str], cache: Dict[str, Optional[ElfFile]]) -> Optional[ElfFile]:
    """The ELF object the process loaded from path: from the bytes the Target supplies
    (object_bytes, optional), else from the file at path on this host (open_elf); None when
    neither is ELF. cache (a Session's) keeps what the Target supplied for the session's life."""
    if not path:
        return None
    if path not in cache:
        try:
            data = optional_call(target, "object_bytes", path)
        except Exception:  # noqa: BLE001 - an optional Target method must not break an answer
            data = None
        elf = None
        if isinstance(data, (bytes, bytearray)):
            try:
                elf = ElfFile(path, bytes(data))
            except (ValueError, struct.error):
                elf = None
        cache[path] = elf if elf is not None else open_elf(path)
    return cache[path]
