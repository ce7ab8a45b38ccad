"""The decoder on synthetic memory images: root validation, chunk lookup (interior pointers,
trailers, the 32 KiB bound, large chunks), freed chunks, pool objects, levels, the walk and its
batching, census totals, the brk heap past the runtime's record, and a process without the
runtime."""
from __future__ import annotations

import os
import struct
import sys
import unittest
from typing import Any, Dict, Optional, Tuple

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from allocs_decoder import LayoutError, NoRuntime, Session, SourceLine  # noqa: E402
from allocs_decoder import layout as L  # noqa: E402
from allocs_decoder import queries  # noqa: E402
from allocs_decoder.target import X86_64, Mapping, Symbolization, architecture_of  # noqa: E402
from allocs_decoder.address_description import AddressDescription  # noqa: E402
from fixtures import HEAP, L1_ADDR, MAP_ADDR, ROOT_ADDR, TABLES, FakeTarget, ImageBuilder  # noqa: E402

PC_A, PC_B = 0x401234, 0x401300


def site_of(d: AddressDescription) -> Dict[str, Any]:
    assert d.site is not None, "no site"
    return d.site


def image() -> ImageBuilder:
    b = ImageBuilder()
    b.big(HEAP - 0x1000, HEAP + (1 << 20), L.BIG_MAPPING, flags=L.BIG_F_READ | L.BIG_F_WRITE, name="[heap]")
    b.big(HEAP, HEAP + (1 << 20), L.BIG_BRK, parent=0)
    return b


class Root(unittest.TestCase):
    def test_no_symbol_means_no_runtime(self) -> None:
        t = FakeTarget()
        with self.assertRaises(NoRuntime):
            Session(t).require_root()
        d = Session(t).describe(0x1234)
        self.assertFalse(d.runtime)
        self.assertIn("not loaded", d.notes[0])
        self.assertEqual(d.state, "unknown")

    def test_bad_magic_version_and_size_are_refused_with_what_was_found(self) -> None:
        for field, value, words in (("magic", b"ALLOCX\x01\0", "magic"), ("version", 7, "version 7"),
                                    ("root_size", 100, "root_size 100")):
            b = image()
            b.root[field] = value
            t = b.build()
            with self.assertRaises(LayoutError) as cm:
                Session(t).describe(HEAP + 0x20)
            self.assertIn(words, str(cm.exception))
            self.assertNotIn("\n", str(cm.exception))

    def test_unreadable_root(self) -> None:
        t = FakeTarget()
        t.symbols[L.ROOT_SYMBOL] = 0xDEAD000
        with self.assertRaises(LayoutError) as cm:
            Session(t).describe(0x1000)
        self.assertIn("not readable", str(cm.exception))


class Heap(unittest.TestCase):
    def setUp(self) -> None:
        b = image()
        self.site_a = b.site(PC_A, "make_points", "prog.c", 42)
        self.site_b = b.site(PC_B, "main", "prog.c", 50)
        self.small = b.malloc(36, self.site_a)
        self.other = b.malloc(100, self.site_b)
        self.gone = b.malloc(200, self.site_b)
        self.big = b.malloc(100_000, self.site_a)
        self.after = b.malloc(24, self.site_b, slack_unknown=True)
        b.top()
        b.free_chunk(self.gone)
        b.thread(0x7FFD0000, 0x7FFE0000, 100, allocs=5, frees=1, b_in=36 + 100 + 200 + 100_000 + 24 + 0,
                 b_out=200)
        self.b = b
        self.t = b.build()
        # The slack-unknown chunk counts as usable - 8 requested bytes.
        self.after_size = (((24 + 16 + 15) & ~15) - 8) - 8

    def test_interior_pointer_finds_base_size_site_and_seq(self) -> None:
        d = Session(self.t).describe(self.small + 16)
        self.assertEqual((d.allocator, d.base, d.size, d.offset, d.state),
                         (L.MALLOC, self.small, 36, 16, "live"))
        self.assertEqual(d.site, {"pc": hex(PC_A), "function": "make_points", "file": "prog.c", "line": 42,
                                  "seq": 1})
        self.assertEqual([lv.allocator for lv in d.chain], ["mmap", "brk", L.MALLOC])
        self.assertEqual(d.chain[0].name, "[heap]")

    def test_the_trailer_is_not_part_of_the_chunk(self) -> None:
        usable = 64 - 8  # malloc(36): a 64-byte glibc chunk
        inside = Session(self.t).describe(self.small + usable - 9)
        self.assertEqual(inside.base, self.small)
        self.assertIn("past the requested size", inside.notes[0])
        trailer = Session(self.t).describe(self.small + usable - 8)
        self.assertNotEqual(trailer.base, self.small)
        self.assertEqual(trailer.allocator, "brk")

    def test_large_chunk_beyond_the_32k_scan(self) -> None:
        d = Session(self.t).describe(self.big + 90_000)
        self.assertEqual((d.base, d.size, d.offset), (self.big, 100_000, 90_000))
        self.assertEqual(site_of(d)["function"], "make_points")

    def test_freed_chunk(self) -> None:
        d = Session(self.t).describe(self.gone + 8)
        self.assertEqual((d.allocator, d.base, d.state), (L.MALLOC, self.gone, "freed"))
        self.assertIsNone(d.site)

    def test_walk_census_and_counters(self) -> None:
        s = Session(self.t)
        c = queries.census(s)
        self.assertEqual(c.chunks, 4)
        self.assertEqual(c.chunk_bytes, 36 + 100 + 100_000 + self.after_size)
        self.assertEqual(c.stats.live_chunks, 4)
        rows = {r.key: (r.count, r.bytes) for r in c.rows}
        self.assertEqual(rows[PC_A], (2, 100_036))
        entries, matched = queries.ls(s, site="prog.c:50")
        self.assertEqual([e.base for e in entries], [self.other, self.after])
        entries, matched = queries.ls(s, min_size=1000)
        self.assertEqual([e.base for e in entries], [self.big])
        entries, matched = queries.ls(s, limit=1)
        self.assertEqual((len(entries), matched), (1, 4))

    def test_half_written_chunk_is_unknown_not_an_error(self) -> None:
        self.t.u64(self.small - 8, 0)  # a header not yet written
        d = Session(self.t).describe(self.small + 4)
        self.assertNotEqual(d.state, "live")

    def test_who_points_to(self) -> None:
        self.t.u64(self.other + 8, self.small + 4)
        s = Session(self.t)
        refs = queries.who_points_to(s, s.describe(self.small))
        self.assertEqual([(r.where, r.region) for r in refs], [(self.other + 8, "heap")])


class WalkIsBatched(unittest.TestCase):
    def test_thousands_of_chunks_cost_few_reads(self) -> None:
        b = ImageBuilder(heap_size=4 << 20)
        site = b.site(PC_A, "f", "f.c", 1)
        n = 20_000
        for i in range(n):
            b.malloc(16 + (i % 5) * 8, site)
        b.thread(0x7FFD0000, 0x7FFE0000, 1, allocs=n, frees=0, b_in=sum(16 + (i % 5) * 8 for i in range(n)),
                 b_out=0)
        t = b.build()
        s = Session(t)
        before = t.reads
        c = queries.census(s)
        self.assertEqual(c.chunks, n)
        self.assertEqual((c.stats.live_chunks, c.stats.live_bytes), (c.chunks, c.chunk_bytes))
        self.assertLess(t.reads - before, 50)


class Pools(unittest.TestCase):
    def test_pool_object_inside_a_chunk(self) -> None:
        b = image()
        site = b.site(PC_A, "main", "p.c", 9)
        arena = b.malloc(4096, site, pool=True)
        a = b.allocator("bridge_pool")
        b.pool_object(a, arena + 256, 64, PC_B, 3)
        b.pool_object(a, arena + 328, 8, PC_B, 4)  # not 16-aligned: shares a granule's bit
        b.t.lines[PC_B - 1] = b.t.lines[PC_A - 1]
        t = b.build()
        d = Session(t).describe(arena + 266)
        self.assertEqual((d.allocator, d.base, d.size, d.offset), ("bridge_pool", arena + 256, 64, 10))
        self.assertEqual([lv.allocator for lv in d.chain][-2:], [L.MALLOC, "bridge_pool"])
        self.assertEqual(site_of(d)["seq"], 3)
        d2 = Session(t).describe(arena + 330)
        self.assertEqual((d2.allocator, d2.base), ("bridge_pool", arena + 328))
        gap = Session(t).describe(arena + 8)
        self.assertEqual((gap.allocator, gap.base, gap.size), (L.MALLOC, arena, 4096))
        self.assertEqual(Session(t).describe(arena + 320).allocator, L.MALLOC)  # just past the object


class Levels(unittest.TestCase):
    def test_user_mmap_with_site_and_auxv_strings(self) -> None:
        b = image()
        region = 0x7F1000000000
        b.t.map(region, 0x3000)
        b.t.lines[PC_B - 1] = SourceLine("main", "m.c", 7)
        b.big(region, region + 0x3000, L.BIG_MAPPING, flags=L.BIG_F_USER_MMAP | 0xC, site=PC_B)
        stack_lo, stack_hi = 0x7FFF00000000, 0x7FFF00100000
        b.t.map(stack_hi - 0x2000, 0x2000)
        b.big(stack_hi - 0x2000, stack_hi, L.BIG_MAPPING, name="[stack]")
        b.big(stack_lo, stack_hi, L.BIG_STACK, name="[stack]")
        argv = stack_hi - 0x1F00
        s0 = stack_hi - 0x100
        b.t.write(s0, b"./prog\0")
        b.t.u64(argv - 8, 1)
        b.t.u64(argv, s0)
        b.t.u64(argv + 8, 0)
        b.t.u64(argv + 16, 0)  # envp: empty
        b.root.update(argc=1, argv=argv, envp=argv + 16, auxv_lo=argv - 8, auxv_hi=stack_hi - 8)
        b.thread(stack_lo, stack_hi, 7, 0, 0, 0, 0)
        t = b.build()
        d = Session(t).describe(region + 100)
        self.assertEqual((d.allocator, d.base, d.size, d.offset), ("mmap", region, 0x3000, 100))
        self.assertEqual((site_of(d)["function"], site_of(d)["line"]), ("main", 7))
        a = Session(t).describe(s0 + 2)
        self.assertEqual((a.allocator, a.base, a.size, site_of(a)["symbol"]), ("auxv", s0, 7, "argv[0]"))
        self.assertEqual([lv.allocator for lv in a.chain], ["mmap", "stack", "auxv", "auxv"])
        arr = Session(t).describe(argv + 4)
        self.assertEqual((arr.base, arr.size, site_of(arr)["symbol"]), (argv, 16, "argv"))

    def test_static_from_the_debugger_when_the_runtime_has_no_symbols(self) -> None:
        b = image()
        seg = 0x555555558000
        b.t.map(seg, 0x1000)
        b.big(seg, seg + 0x1000, L.BIG_ELF_SEGMENT, flags=0xC | L.BIG_F_FILE, name="/nonexistent/prog")
        b.t.syms.append(Symbolization("global_counts", seg + 0xE0, 32, "/nonexistent/prog", ".data"))
        t = b.build()
        d = Session(t).describe(seg + 0xE8)
        self.assertEqual((d.allocator, d.base, d.size, d.offset), ("static", seg + 0xE0, 32, 8))
        self.assertEqual(site_of(d)["symbol"], "global_counts")

    def test_static_from_the_objects_bytes_the_target_supplies(self) -> None:
        # The object is not on this host (a remote target's, a core's file found elsewhere): its
        # symbols come from Target.object_bytes; without that method nothing is known here.
        b = image()
        seg = 0x555555558000
        b.t.map(seg, 0x1000)
        b.big(seg, seg + 0x1000, L.BIG_ELF_SEGMENT, flags=0xC | L.BIG_F_FILE, name="/nonexistent/prog")
        t = b.build()
        t.maps = [Mapping(seg, seg + 0x1000, "/nonexistent/prog", "rw-p", 0)]
        d = Session(t).describe(seg + 0xE8)
        self.assertIsNone(d.base)
        t.object_bytes = (  # type: ignore[attr-defined]
            lambda path: tiny_elf(0x4000, "global_counts", 0x40E0, 32)
            if path == "/nonexistent/prog" else None)
        d = Session(t).describe(seg + 0xE8)
        self.assertEqual((d.allocator, d.base, d.size, d.offset), ("static", seg + 0xE0, 32, 8))
        self.assertEqual((site_of(d)["symbol"], site_of(d)["section"]), ("global_counts", ".data"))


class Architectures(unittest.TestCase):
    def test_the_debuggers_names_and_the_default(self) -> None:
        self.assertIs(architecture_of("i386:x86-64"), X86_64)  # gdb's name
        self.assertIs(architecture_of("x86_64"), X86_64)  # LLDB's triple
        a64 = architecture_of("aarch64")
        self.assertEqual((a64.pc_register, a64.sp_register, a64.pointer_size, a64.auxv_entry_size),
                         ("pc", "sp", 8, 16))
        i386 = architecture_of("i386", 4)
        self.assertEqual((i386.pc_register, i386.pointer_size, i386.auxv_entry_size), ("eip", 4, 8))
        t = image().build()
        self.assertIs(Session(t).arch, X86_64)  # a Target that does not say is x86-64
        t.architecture = lambda: architecture_of("aarch64")  # type: ignore[attr-defined]
        self.assertEqual(Session(t).arch.name, "aarch64")


def tiny_elf(vaddr: int, symbol: str, sym_addr: int, sym_size: int) -> bytes:
    """An ELF64 little-endian file: one PT_LOAD at vaddr, a 4 KiB writable .data there, and a
    .symtab holding one object symbol."""
    shstr = b"\0.data\0.symtab\0.strtab\0.shstrtab\0"
    strtab = b"\0" + symbol.encode() + b"\0"
    syms = bytes(24) + struct.pack("<IBBHQQ", 1, 0x11, 0, 1, sym_addr, sym_size)  # GLOBAL OBJECT in .data
    ehdr, phdr, shdr = 64, 56, 64
    off_sym = ehdr + phdr
    off_str = off_sym + len(syms)
    off_shstr = off_str + len(strtab)
    off_sh = (off_shstr + len(shstr) + 7) & ~7
    body = struct.pack("<16sHHIQQQIHHHHHH", b"\x7fELF\x02\x01\x01" + bytes(9), 3, 62, 1, 0, ehdr, off_sh, 0,
                       ehdr, phdr, 1, shdr, 5, 4)
    body += struct.pack("<IIQQQQQQ", 1, 6, 0, vaddr, vaddr, 0x1000, 0x1000, 0x1000)
    body += syms + strtab + shstr
    body += bytes(off_sh - len(body))
    sections = [(0, 0, 0, 0, 0, 0, 0, 0, 0, 0),
                (1, 8, 0x3, vaddr, 0, 0x1000, 0, 0, 8, 0),  # .data (NOBITS here: no bytes needed)
                (7, 2, 0, 0, off_sym, len(syms), 3, 1, 8, 24),  # .symtab, its strings in section 3
                (15, 3, 0, 0, off_str, len(strtab), 0, 0, 1, 0),
                (23, 3, 0, 0, off_shstr, len(shstr), 0, 0, 1, 0)]
    for sec in sections:
        body += struct.pack("<IIQQQQIIQQ", *sec)
    return body


class BrkHeap(unittest.TestCase):
    """The runtime records the brk heap as last observed; a program that never asks about an address
    past the break leaves the record behind while malloc grows the heap."""

    MIB = 1 << 20

    def stale(self, name: Optional[str], records: bool) -> Tuple[Session, int]:
        b = ImageBuilder()
        b.root.update(brk_lo=HEAP, brk_hi=HEAP + 0x800)
        if records:  # a [heap] mapping and brk level noted while the heap was one page
            b.big(HEAP, HEAP + 0x1000, L.BIG_MAPPING, flags=L.BIG_F_READ | L.BIG_F_WRITE, name="[heap]")
            b.big(HEAP, HEAP + 0x800, L.BIG_BRK, parent=0, flags=L.BIG_F_READ | L.BIG_F_WRITE, name="[heap]")
        p = b.malloc(100_000, b.site(PC_A, "f", "f.c", 3))
        t = b.build()
        t.maps = [Mapping(HEAP, HEAP + self.MIB, name, "rw-p" if name else None)]
        return Session(t), p

    def test_the_chain_and_maps_reach_as_far_as_the_debuggers_heap_mapping(self) -> None:
        # live: the kernel's [heap]; in a core: an unnamed segment at brk_lo
        for name, records in (("[heap]", False), (None, False), ("[heap]", True)):
            s, p = self.stale(name, records)
            d = s.describe(p + 90_000)
            where = f"{name} records={records}"
            self.assertEqual([(lv.allocator, lv.base, lv.size, lv.name) for lv in d.chain],
                             [("mmap", HEAP, self.MIB, "[heap]"), ("brk", HEAP, self.MIB, None),
                              (L.MALLOC, p, 100_000, None)], where)
            heap = [n for n in queries.maps(s) if n["base"] == hex(HEAP)]
            node = {"base": hex(HEAP), "size": self.MIB, "name": "[heap]", "flags": "rw-", "runtime": None}
            brk = dict(node, allocator="brk", children=[])
            self.assertEqual(heap, [dict(node, allocator="mmap", children=[brk])], where)

    def test_a_current_record_is_kept(self) -> None:
        b = image()
        t = b.build()
        t.maps = [Mapping(HEAP - 0x1000, HEAP + self.MIB, "[heap]", "rw-p")]
        heap = [n for n in queries.maps(Session(t)) if n["name"] == "[heap]"]
        self.assertEqual([(n["base"], n["size"]) for n in heap], [(hex(HEAP - 0x1000), self.MIB + 0x1000)])
        self.assertEqual([(c["allocator"], c["base"], c["size"]) for c in heap[0]["children"]],
                         [("brk", hex(HEAP), self.MIB)])


class RuntimeOwnMemory(unittest.TestCase):
    """`alloc maps` labels the runtime's library and the tables its root record points to."""

    RW = L.BIG_F_READ | L.BIG_F_WRITE

    def test_the_library_and_the_tables_are_labelled_and_the_programs_memory_is_not(self) -> None:
        b = image()
        b.big(TABLES, TABLES + (1 << 20), L.BIG_MAPPING, flags=self.RW)  # levels, sites, names
        b.malloc(24, b.site(PC_A, "f", "f.c", 3))  # the heap's region gets its byte map
        t = b.build()
        # the byte map and chunk_l1 are in no level yet: the debugger's mappings still list them
        t.maps = [Mapping(MAP_ADDR, MAP_ADDR + L.CHUNK_MAP_BYTES, None, "rw-p"),
                  Mapping(L1_ADDR, L1_ADDR + 8 * L.CHUNK_L1_ENTRIES, None, "rw-p"),
                  Mapping(0x7F00FF000000, 0x7F00FF001000, None, "rw-p")]  # not the runtime's
        nodes = {n["base"]: n for n in queries.maps(Session(t))}
        self.assertEqual(nodes[hex(HEAP - 0x1000)]["runtime"], None)
        self.assertEqual(nodes[hex(HEAP - 0x1000)]["children"][0]["runtime"], None)
        tables = nodes[hex(TABLES)]["runtime"]
        self.assertEqual(tables["part"], "tables")
        for what in ("the site table", "the levels table", "names"):
            self.assertIn(what, tables["holds"])
        self.assertEqual(nodes[hex(MAP_ADDR)]["runtime"],
                         {"part": "tables", "holds": ["chunk-start byte maps"]})
        self.assertEqual(nodes[hex(L1_ADDR)]["runtime"],
                         {"part": "tables", "holds": ["the chunk-start map index"]})
        self.assertEqual((nodes[hex(MAP_ADDR)]["allocator"], nodes[hex(MAP_ADDR)]["flags"]), ("mmap", "rw-"))
        self.assertNotIn(hex(0x7F00FF000000), nodes)

    def test_text_names_what_the_runtime_keeps_there(self) -> None:
        from allocs_decoder import render
        b = image()
        b.big(TABLES, TABLES + (1 << 20), L.BIG_MAPPING, flags=self.RW)
        lines = render.maps_lines(queries.maps(Session(b.build())))
        self.assertTrue(any(line.startswith(f"mmap         {TABLES:#x}")
                            and "[allocs runtime reserved: the site table" in line for line in lines), lines)


class WithoutRuntime(unittest.TestCase):
    def test_mapping_and_symbol_from_the_debugger(self) -> None:
        t = FakeTarget()
        t.maps = [Mapping(0x400000, 0x401000, "/bin/prog", "rw-p")]
        t.syms = [Symbolization("counter", 0x400100, 8, "/bin/prog", ".data")]
        d = Session(t).describe(0x400104)
        self.assertFalse(d.runtime)
        self.assertEqual((d.allocator, d.base, d.size, d.offset), ("static", 0x400100, 8, 4))
        self.assertEqual(d.chain[0].name, "/bin/prog")
        self.assertEqual(len(d.notes), 1)
        j = d.to_json()
        for key in ("address", "allocator", "base", "size", "offset", "type", "uniqtype", "path", "pathType",
                    "state", "site", "chain"):
            self.assertIn(key, j)
        self.assertEqual(j["address"], "0x400104")


class Json(unittest.TestCase):
    def test_shape(self) -> None:
        b = image()
        site = b.site(PC_A, "f", "f.c", 3)
        p = b.malloc(10, site)
        t = b.build()
        j = Session(t).describe(p + 1).to_json()
        self.assertEqual(j["base"], hex(p))
        self.assertEqual((j["size"], j["offset"], j["type"], j["path"]), (10, 1, None, ""))
        self.assertEqual(j["chain"][-1], {"allocator": L.MALLOC, "base": hex(p), "size": 10, "name": None})
        self.assertEqual(struct.calcsize("<Q"), 8)
        self.assertEqual(ROOT_ADDR % 8, 0)


if __name__ == "__main__":
    unittest.main()
