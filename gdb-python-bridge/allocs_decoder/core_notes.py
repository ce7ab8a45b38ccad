"""Thread pointers from an ELF core file's NT_PRSTATUS notes, for a front whose debugger does not
tell them (LLDB 16 has no fs_base in a kernel core). Each NT_PRSTATUS note is one thread: its
pr_pid is the thread's tid and its pr_reg the thread's user_regs_struct, whose fs_base is x86-64's
thread pointer. Only little-endian 64-bit x86-64 cores are read; anything else, or a damaged file,
gives no thread pointer and a note saying why, never an exception."""
from __future__ import annotations

import struct
from typing import BinaryIO, Dict, List, Tuple

ET_CORE = 4
EM_X86_64 = 62
PT_NOTE = 4
NT_PRSTATUS = 1
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


def _thread_pointers(f: BinaryIO, path: str) -> Tuple[Dict[int, int], List[str]]:
    head = _read_at(f, 0, 64)
    if len(head) < 64 or head[:4] != b"\x7fELF":
        return {}, [f"{path}: not an ELF file"]
    if head[4] != 2 or head[5] != 1:
        return {}, [f"{path}: not a little-endian 64-bit ELF file"]
    e_type, e_machine = struct.unpack_from("<HH", head, 16)
    if e_type != ET_CORE:
        return {}, [f"{path}: not a core file"]
    if e_machine != EM_X86_64:
        return {}, [f"{path}: thread pointers are read from x86-64 cores only (machine {e_machine})"]
    phoff, = struct.unpack_from("<Q", head, 32)
    phentsize, phnum = struct.unpack_from("<HH", head, 54)
    if phentsize < 56 or phnum == 0:
        return {}, [f"{path}: the core has no program headers"]
    table = _read_at(f, phoff, phentsize * phnum)
    if len(table) < phentsize * phnum:
        return {}, [f"{path}: the core's program headers are truncated"]
    out: Dict[int, int] = {}
    notes: List[str] = []
    for i in range(phnum):
        p_type, _, p_offset, _, _, p_filesz = struct.unpack_from("<IIQQQQ", table, i * phentsize)
        if p_type != PT_NOTE:
            continue
        if p_filesz > MAX_NOTES_BYTES:
            notes.append(f"{path}: a note segment of {p_filesz} bytes is not read")
            continue
        data = _read_at(f, p_offset, p_filesz)
        if len(data) < p_filesz:
            notes.append(f"{path}: the core's note segment at {p_offset:#x} is truncated")
        _prstatus_notes(data, out, notes, path)
    if not out and not notes:
        notes.append(f"{path}: the core has no NT_PRSTATUS note")
    return out, notes


def _prstatus_notes(data: bytes, out: Dict[int, int], notes: List[str], path: str) -> None:
    """The NT_PRSTATUS notes of one note segment (4-byte aligned name and descriptor)."""
    at = 0
    while at + 12 <= len(data):
        namesz, descsz, n_type = struct.unpack_from("<III", data, at)
        desc = at + 12 + ((namesz + 3) & ~3)
        end = desc + ((descsz + 3) & ~3)
        if desc + descsz > len(data):
            notes.append(f"{path}: a thread note at {at:#x} of the note segment is truncated")
            return
        if n_type == NT_PRSTATUS:
            if descsz < PRSTATUS_SIZE:
                notes.append(f"{path}: an NT_PRSTATUS note of {descsz} bytes "
                             f"(not {PRSTATUS_SIZE}) is not read")
            else:
                tid, = struct.unpack_from("<i", data, desc + PR_PID)
                fs, = struct.unpack_from("<Q", data, desc + PR_REG + 8 * FS_BASE_INDEX)
                if tid > 0 and fs:
                    out[tid] = fs
        at = end
