"""core_notes on damaged cores built here byte by byte (a real core is read by
tests/bridge/leaks-lldb.test.ts): every damage gives the thread pointers read before it and a
note, never an exception."""
from __future__ import annotations

import os
import struct
import sys
import tempfile
import unittest
from typing import Callable, Dict, List, Tuple, TypeVar

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from allocs_decoder import core_notes as C  # noqa: E402


def prstatus(tid: int, fs_base: int, size: int = C.PRSTATUS_SIZE) -> bytes:
    desc = bytearray(size)
    if size >= C.PRSTATUS_SIZE:
        struct.pack_into("<i", desc, C.PR_PID, tid)
        struct.pack_into("<Q", desc, C.PR_REG + 8 * C.FS_BASE_INDEX, fs_base)
    return struct.pack("<III", 5, len(desc), C.NT_PRSTATUS) + b"CORE\0\0\0\0" + bytes(desc)


def core(notes: bytes, e_type: int = C.ET_CORE, machine: int = C.EM_X86_64, filesz: int = -1) -> bytes:
    """An ELF header, one PT_NOTE program header and the notes."""
    phoff, notes_at = 64, 64 + 56
    head = bytearray(64)
    head[:6] = b"\x7fELF\x02\x01"
    struct.pack_into("<HH", head, 16, e_type, machine)
    struct.pack_into("<Q", head, 32, phoff)
    struct.pack_into("<HH", head, 54, 56, 1)
    ph = struct.pack("<IIQQQQQQ", C.PT_NOTE, 0, notes_at, 0, 0, len(notes) if filesz < 0 else filesz, 0, 4)
    return bytes(head) + ph + notes


T = TypeVar("T")


def on_file(data: bytes, read: Callable[[str], T]) -> T:
    """read(path) of a temporary file holding data."""
    with tempfile.NamedTemporaryFile(delete=False) as f:
        f.write(data)
    try:
        return read(f.name)
    finally:
        os.unlink(f.name)


class CoreNotesTest(unittest.TestCase):
    def read(self, data: bytes) -> Tuple[Dict[int, int], List[str]]:
        return on_file(data, C.thread_pointers)

    def test_every_thread(self) -> None:
        found, notes = self.read(core(prstatus(10, 0x7000) + prstatus(11, 0x8000)))
        self.assertEqual(found, {10: 0x7000, 11: 0x8000})
        self.assertEqual(notes, [])

    def test_truncated_note_keeps_the_threads_before_it(self) -> None:
        data = core(prstatus(10, 0x7000) + prstatus(11, 0x8000))
        found, notes = self.read(data[:-40])
        self.assertEqual(found, {10: 0x7000})
        self.assertTrue(any("truncated" in n for n in notes), notes)

    def test_short_prstatus_is_not_read(self) -> None:
        found, notes = self.read(core(prstatus(10, 0x7000, size=100)))
        self.assertEqual(found, {})
        self.assertTrue(any("100 bytes" in n for n in notes), notes)

    def test_not_a_core_or_not_x86_64(self) -> None:
        self.assertEqual(self.read(core(b"", e_type=3))[0], {})
        self.assertTrue(self.read(core(b"", e_type=3))[1][0].endswith("not a core file"))
        self.assertIn("x86-64 cores only are read", self.read(core(prstatus(1, 1), machine=183))[1][0])
        self.assertTrue(self.read(b"hello")[1][0].endswith("not an ELF file"))

    def test_huge_note_segment_is_refused(self) -> None:
        found, notes = self.read(core(prstatus(10, 0x7000), filesz=1 << 40))
        self.assertEqual(found, {})
        self.assertTrue(any("is not read" in n for n in notes), notes)

    def test_program_headers_past_the_end(self) -> None:
        data = bytearray(core(b""))
        struct.pack_into("<Q", data, 32, 1 << 20)
        self.assertIn("truncated", self.read(bytes(data))[1][0])


if __name__ == "__main__":
    unittest.main()


def nt_file(mappings: List[Tuple[int, int]]) -> bytes:
    """An NT_FILE note naming one file for each (start, end)."""
    desc = struct.pack("<QQ", len(mappings), 4096)
    desc += b"".join(struct.pack("<QQQ", s, e, 0) for s, e in mappings)
    desc += b"/lib/x.so\0" * len(mappings)
    desc += bytes(-len(desc) % 4)
    return struct.pack("<III", 5, len(desc), C.NT_FILE) + b"CORE\0\0\0\0" + desc


def core_with_loads(notes: bytes, loads: List[Tuple[int, int, int]]) -> bytes:
    """An ELF core header, a PT_NOTE and one PT_LOAD per (vaddr, filesz, memsz)."""
    phnum = 1 + len(loads)
    notes_at = 64 + 56 * phnum
    head = bytearray(64)
    head[:6] = b"\x7fELF\x02\x01"
    struct.pack_into("<HH", head, 16, C.ET_CORE, C.EM_X86_64)
    struct.pack_into("<Q", head, 32, 64)
    struct.pack_into("<HH", head, 54, 56, phnum)
    phs = struct.pack("<IIQQQQQQ", C.PT_NOTE, 0, notes_at, 0, 0, len(notes), 0, 4)
    for vaddr, filesz, memsz in loads:
        phs += struct.pack("<IIQQQQQQ", C.PT_LOAD, 6, notes_at + len(notes), vaddr, 0, filesz, memsz, 4096)
    return bytes(head) + phs + notes


class ZeroFilledTest(unittest.TestCase):
    def zero_filled(self, data: bytes) -> List[Tuple[int, int]]:
        return on_file(data, C.zero_filled)

    def test_anonymous_tails_only(self) -> None:
        # an anonymous mapping never written (filesz 0), one written in part, one whole, and a
        # library's text the kernel left out (filesz 0, but a file backs it: its bytes, not zeros)
        data = core_with_loads(nt_file([(0x7000, 0x9000)]),
                               [(0x1000, 0, 0x2000), (0x4000, 0x1000, 0x3000), (0x10000, 0x1000, 0x1000),
                                (0x7000, 0, 0x2000)])
        self.assertEqual(self.zero_filled(data), [(0x1000, 0x3000), (0x5000, 0x7000)])

    def test_damage_gives_nothing(self) -> None:
        self.assertEqual(self.zero_filled(b"\x7fELF"), [])
        self.assertEqual(self.zero_filled(core(prstatus(1, 1), machine=183)), [])
        self.assertEqual(C.zero_filled("/nonexistent/core"), [])
