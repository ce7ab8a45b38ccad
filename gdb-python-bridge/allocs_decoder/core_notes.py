"""Thread pointers from an ELF core file's NT_PRSTATUS notes, for a front whose debugger does not
tell them (LLDB 16 has no fs_base in a kernel core). Each NT_PRSTATUS note is one thread: its
pr_pid is the thread's tid and its pr_reg the thread's user_regs_struct, whose fs_base is x86-64's
thread pointer. Only little-endian 64-bit x86-64 cores are read; anything else, or a damaged file,
gives no thread pointer and a note saying why, never an exception. The core's program headers are
read here too (program_headers), for the segments the kernel wrote no bytes of (zero_fill)."""
from __future__ import annotations

import struct
from typing import BinaryIO, Dict, Iterator, List, NamedTuple, Optional, Tuple

ET_CORE = 4
EM_X86_64 = 62
PT_LOAD = 1
PT_NOTE = 4
NT_PRSTATUS = 1
NT_FILE = 0x46494C45  # "FILE": the file-backed mappings
# struct elf_prstatus on x86-64 (linux/elfcore.h): siginfo (12) + cursig (2, padded to 4),
# sigpend and sighold (8 each), then pr_pid at 32; pr_reg (27 registers of 8 bytes) at 112.
PRSTATUS_SIZE = 336
PR_PID = 32
PR_REG = 112
FS_BASE_INDEX = 21  # user_regs_struct: r15 .. gs, fs_base is the 22nd
MAX_NOTES_BYTES = 64 << 20  # a note segment larger than this is damage, not threads


def _read_at(f: BinaryIO, offset: int, size: int) -> bytes:
    f.seek(offset)
    return f.read(size)


def is_core(path: str) -> bool:
    """Whether path is a little-endian 64-bit ELF core file (only its header is read)."""
    try:
        with open(path, "rb") as f:
            head = f.read(20)
    except OSError:
        return False
    return (len(head) == 20 and head[:6] == b"\x7fELF\x02\x01"
            and struct.unpack_from("<H", head, 16)[0] == ET_CORE)


def thread_pointers(path: str) -> Tuple[Dict[int, int], List[str]]:
    """{tid: fs_base} from every NT_PRSTATUS note of the core at path, and notes about what could
    not be read (the thread pointers found before damage are kept)."""
    try:
        with open(path, "rb") as f:
            return _thread_pointers(f, path)
    except OSError as e:
        return {}, [f"{path}: cannot read the core's thread notes ({e.strerror or e})"]


class ProgramHeader(NamedTuple):
    """One entry of an ELF64 program header table (the fields the decoder reads)."""
    p_type: int
    p_offset: int
    p_vaddr: int
    p_filesz: int
    p_memsz: int


def program_headers(f: BinaryIO, path: str) -> Tuple[List[ProgramHeader], Optional[str]]:
    """The program headers of the x86-64 little-endian 64-bit core file f, or ([], why not)."""
    head = _read_at(f, 0, 64)
    if len(head) < 64 or head[:4] != b"\x7fELF":
        return [], f"{path}: not an ELF file"
    if head[4] != 2 or head[5] != 1:
        return [], f"{path}: not a little-endian 64-bit ELF file"
    e_type, e_machine = struct.unpack_from("<HH", head, 16)
    if e_type != ET_CORE:
        return [], f"{path}: not a core file"
    if e_machine != EM_X86_64:
        return [], f"{path}: x86-64 cores only are read (machine {e_machine})"
    phoff, = struct.unpack_from("<Q", head, 32)
    phentsize, phnum = struct.unpack_from("<HH", head, 54)
    if phentsize < 56 or phnum == 0:
        return [], f"{path}: the core has no program headers"
    table = _read_at(f, phoff, phentsize * phnum)
    if len(table) < phentsize * phnum:
        return [], f"{path}: the core's program headers are truncated"
    out = []
    for i in range(phnum):
        p_type, _, p_offset, p_vaddr, _, p_filesz, p_memsz = struct.unpack_from(
            "<IIQQQQQ", table, i * phentsize)
        out.append(ProgramHeader(p_type, p_offset, p_vaddr, p_filesz, p_memsz))
    return out, None


def _thread_pointers(f: BinaryIO, path: str) -> Tuple[Dict[int, int], List[str]]:
    headers, why = program_headers(f, path)
    if why is not None:
        return {}, [why]
    out: Dict[int, int] = {}
    notes: List[str] = []
    for ph in headers:
        if ph.p_type != PT_NOTE:
            continue
        if ph.p_filesz > MAX_NOTES_BYTES:
            notes.append(f"{path}: a note segment of {ph.p_filesz} bytes is not read")
            continue
        data = _read_at(f, ph.p_offset, ph.p_filesz)
        if len(data) < ph.p_filesz:
            notes.append(f"{path}: the core's note segment at {ph.p_offset:#x} is truncated")
        _prstatus_notes(data, out, notes, path)
    if not out and not notes:
        notes.append(f"{path}: the core has no NT_PRSTATUS note")
    return out, notes


class _Note(NamedTuple):
    at: int  # the note's offset in its segment
    n_type: int
    desc: int  # its descriptor's offset in the segment
    descsz: int
    whole: bool  # the descriptor lies inside the segment (the last note seen may not)


def _notes(data: bytes) -> Iterator[_Note]:
    """The notes of one note segment, each a name and a descriptor 4-byte aligned; the walk ends
    after a note whose descriptor runs past the segment (whole False)."""
    at = 0
    while at + 12 <= len(data):
        namesz, descsz, n_type = struct.unpack_from("<III", data, at)
        desc = at + 12 + ((namesz + 3) & ~3)
        whole = desc + descsz <= len(data)
        yield _Note(at, n_type, desc, descsz, whole)
        if not whole:
            return
        at = desc + ((descsz + 3) & ~3)


def _prstatus_notes(data: bytes, out: Dict[int, int], notes: List[str], path: str) -> None:
    """The NT_PRSTATUS notes of one note segment."""
    for n in _notes(data):
        if not n.whole:
            notes.append(f"{path}: a thread note at {n.at:#x} of the note segment is truncated")
        elif n.n_type == NT_PRSTATUS:
            if n.descsz < PRSTATUS_SIZE:
                notes.append(f"{path}: an NT_PRSTATUS note of {n.descsz} bytes "
                             f"(not {PRSTATUS_SIZE}) is not read")
            else:
                tid, = struct.unpack_from("<i", data, n.desc + PR_PID)
                fs, = struct.unpack_from("<Q", data, n.desc + PR_REG + 8 * FS_BASE_INDEX)
                if tid > 0 and fs:
                    out[tid] = fs


def zero_filled(path: str) -> List[Tuple[int, int]]:
    """[(begin, end)] of the core's anonymous memory that the kernel wrote no bytes for: each
    PT_LOAD's [p_vaddr + p_filesz, p_vaddr + p_memsz) that no file backs (NT_FILE). The kernel
    leaves out an anonymous mapping the process never wrote (p_filesz 0), and such memory reads as
    zeros: gdb reads it so, and a front whose debugger calls it missing (LLDB) answers zeros there
    too. A file-backed segment left out (a library's text) is the file's bytes, never zeros. A
    damaged or unreadable core: []."""
    try:
        with open(path, "rb") as f:
            headers, _ = program_headers(f, path)
            files: List[Tuple[int, int]] = []
            for ph in headers:
                if ph.p_type == PT_NOTE and ph.p_filesz <= MAX_NOTES_BYTES:
                    files += _file_mappings(_read_at(f, ph.p_offset, ph.p_filesz))
    except OSError:
        return []
    out = []
    for ph in headers:
        b, e = ph.p_vaddr + ph.p_filesz, ph.p_vaddr + ph.p_memsz
        if ph.p_type == PT_LOAD and b < e and not any(fb < e and b < fe for fb, fe in files):
            out.append((b, e))
    return sorted(out)


def _file_mappings(data: bytes) -> List[Tuple[int, int]]:
    """[(start, end)] of the NT_FILE notes in one note segment: the mappings a file backs
    (count and page size, then a (start, end, file offset) triple per mapping, then the names)."""
    out: List[Tuple[int, int]] = []
    for n in _notes(data):
        if n.whole and n.n_type == NT_FILE and n.descsz >= 16:
            count, = struct.unpack_from("<Q", data, n.desc)
            for k in range(min(count, (n.descsz - 16) // 24)):
                start, end = struct.unpack_from("<QQ", data, n.desc + 16 + 24 * k)
                out.append((start, end))
    return out
