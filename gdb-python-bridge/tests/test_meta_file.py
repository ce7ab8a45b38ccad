"""Metadata read from disk (allocs_decoder/meta_file.py): a file laid out by hand as
docs/metadata-format.md says, its types, sites, statics and frames; the search by build-id where
the runtime looks (a file for another build-id skipped, a symlink target's file found); damaged
files refused, never raised through."""
from __future__ import annotations

import os
import struct
import sys
import tempfile
import unittest
from typing import List, Tuple

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from allocs_decoder import layout as L  # noqa: E402
from allocs_decoder.meta_file import MetaFile, MetaFileError, load_for  # noqa: E402
from allocs_decoder.types import LoadedMeta, MetaTypes  # noqa: E402

BUILD_ID = bytes(range(1, 21))
NONE = 0xFFFFFFFF


def metadata(build_id: bytes = BUILD_ID, declared_only: bool = False) -> bytes:
    """long$64, struct node {long key; struct node *next}, its pointer, __FRAME_main with a
    member `n` (struct node) at 0; a static `head` (struct node *), a site typed struct node
    and an ARRAY site of long; one frame for main. declared_only: struct node is a declaration
    (INCOMPLETE, no size, no members), as in an object whose DWARF only declares it."""
    strings = b"\0"
    offs = {}
    for s in ("long$64", "long", "node", "struct node", "__PTR_node", "struct node *", "key", "next",
              "__FRAME_main", "frame of main", "n", "head", "main"):
        offs[s] = len(strings)
        strings += s.encode() + b"\0"
    types = [
        # name, c_name, size, kind, enc, flags, bits, related, count, first
        (offs["long$64"], offs["long"], 8, L.KIND_BASE, 5, 0, 64, NONE, 0, 0),
        (offs["node"], offs["struct node"], 0, L.KIND_STRUCT, 0, L.TYPE_F_INCOMPLETE, 0, NONE, 0, 0)
        if declared_only else (offs["node"], offs["struct node"], 16, L.KIND_STRUCT, 0, 0, 0, NONE, 2, 0),
        (offs["__PTR_node"], offs["struct node *"], 8, L.KIND_POINTER, 0, 0, 0, 1, 0, 0),
        (offs["__FRAME_main"], offs["frame of main"], 16, L.KIND_FRAME, 0, 0, 0, NONE, 1, 2),
    ]
    members = [(offs["key"], 0, 0, 0, 0), (offs["next"], 2, 8, 0, 0), (offs["n"], 1, 0, 0, 0)]
    statics = [(0x4000, 8, offs["head"], 2, 2)]
    frames = [(0x1000, 0x1100, offs["main"], 3, 0, 0)]
    sites = [(0x1010, 1, 0), (0x1020, 0, L.SITE_ARRAY)]
    sections: List[Tuple[bytes, int]] = [
        (strings, len(strings)),
        (b"".join(struct.pack("<IIQBBHIIII4x", *t) for t in types), len(types)),
        (b"".join(struct.pack("<IIQHH4x", *m) for m in members), len(members)),
        (b"", 0), (b"", 0),
        (b"".join(struct.pack("<QQIII4x", *s) for s in statics), len(statics)),
        (b"".join(struct.pack("<QQIIII", *f) for f in frames), len(frames)),
        (b"", 0),
        (b"".join(struct.pack("<QII", *s) for s in sites), len(sites)),
    ]
    body = b""
    table = b""
    at = 200
    for data, count in sections:
        table += struct.pack("<QQ", at + len(body) if count else 0, count)
        body += data + b"\0" * (-len(data) % 8)
    size = 200 + len(body)
    header = b"ALLOCSMD" + struct.pack("<IIQ", 1, 200, size) + build_id.ljust(20, b"\0")
    header += struct.pack("<II", len(build_id), 0) + b"\0" * 4 + table
    assert len(header) == 200
    return header + body


class MetaFileTest(unittest.TestCase):
    def test_types_sites_statics_frames(self) -> None:
        m = MetaFile(metadata(), "x.allocsmeta")
        self.assertEqual(m.build_id, BUILD_ID.hex())
        self.assertEqual(m.site(0x1010), (1, 0))
        self.assertIsNone(m.site(0x1011))
        self.assertEqual(m.site(0x1020), (0, L.SITE_ARRAY))
        node = m.type(1)
        assert node is not None and node.members_obj is not None
        self.assertEqual((node.c_name, node.size), ("struct node", 16))
        self.assertEqual([(x.name, x.offset) for x in node.members_obj], [("key", 0), ("next", 8)])
        nxt = node.members_obj[1].type
        assert nxt is not None
        self.assertIs(nxt.related_obj, node, "a pointer back to its struct is the same object")
        self.assertEqual(m.statics_near(0x4004), [(0x4000, 8, 2)])
        self.assertEqual(m.frame(0x1050), 3)
        self.assertIsNone(m.frame(0x1100))
        self.assertIsNone(m.type(99))
        self.assertIn(("node", 1), m.names())

    def test_damaged_files_are_refused(self) -> None:
        good = metadata()
        for bad in (good[:100], b"NOTMETA!" + good[8:], good[:-8], good[:56] + struct.pack("<QQ", 1 << 40, 9)
                    + good[72:]):
            with self.assertRaises(MetaFileError):
                MetaFile(bad, "bad")

    def test_found_by_build_id_where_the_runtime_looks(self) -> None:
        with tempfile.TemporaryDirectory() as d:
            env = {"XDG_CACHE_HOME": os.path.join(d, "cache"), "HOME": d}
            lib = os.path.join(d, ".libs")
            os.makedirs(lib)
            real = os.path.join(lib, "libfoo.so.0.8.6")
            open(real, "wb").close()
            os.symlink("libfoo.so.0.8.6", os.path.join(lib, "libfoo.so.0"))
            self.assertIsNone(load_for(BUILD_ID.hex(), os.path.join(lib, "libfoo.so.0"), env))
            with open(real + ".allocsmeta", "wb") as f:
                f.write(metadata())
            found = load_for(BUILD_ID.hex(), os.path.join(lib, "libfoo.so.0"), env)
            self.assertIsNotNone(found)
            # a file for another build-id next to the object is skipped; the cache's is used
            other = os.path.join(d, "prog")
            with open(other + ".allocsmeta", "wb") as f:
                f.write(metadata(bytes(20)))
            cache = os.path.join(d, "cache", "allocs", "meta")
            os.makedirs(cache)
            with open(os.path.join(cache, BUILD_ID.hex() + ".allocsmeta"), "wb") as f:
                f.write(metadata())
            hit = load_for(BUILD_ID.hex(), other, env)
            assert hit is not None
            self.assertTrue(hit.path.startswith(cache))

    def test_site_queries_of_metadata_read_from_disk(self) -> None:
        """Metadata read from disk has no loaded record (rec None): every site query (its type,
        its flags, an inlined wrapper's line) answers from the file."""
        bias = 0x555500000000
        disk = LoadedMeta(0, bias, "x.allocsmeta", None, MetaFile(metadata(), "x.allocsmeta"))

        class OnDisk(MetaTypes):
            def meta_for(self, addr: int) -> LoadedMeta:
                return disk

        types = OnDisk(None, object())  # type: ignore[arg-type]  # nothing is read from memory
        node = types.site_type(bias + 0x1010)
        self.assertEqual(node.c_name if node is not None else None, "struct node")
        self.assertEqual(types.site_flags(bias + 0x1020), L.SITE_ARRAY)
        self.assertEqual(types.site_flags(bias + 0x1011), 0)
        self.assertIsNone(types.inlined_site(bias + 0x1010))

    def test_a_declared_type_is_completed_by_another_objects_file(self) -> None:
        """As the runtime's meta_resolve: a type only declared in one object's file (clang emits a
        polymorphic class's definition only where its vtable is) is the definition another
        object's file has, for a site's type and a lookup by name alike."""
        bias = 0x555500000000
        exe = LoadedMeta(0, bias, "exe.allocsmeta", None,
                         MetaFile(metadata(declared_only=True), "exe.allocsmeta"))
        lib = LoadedMeta(0, 0x7F0000000000, "lib.allocsmeta", None,
                         MetaFile(metadata(bytes(20)), "lib.allocsmeta"))

        class OnDisk(MetaTypes):
            def meta_for(self, addr: int) -> LoadedMeta:
                return exe

            def metas(self) -> List[LoadedMeta]:
                return [exe, lib]

            def _index(self) -> None:
                self._by_name, self._by_c_name = {}, {}  # nothing loaded in memory

        types = OnDisk(None, object())  # type: ignore[arg-type]
        node = types.site_type(bias + 0x1010)
        assert node is not None
        self.assertEqual((node.size, node.flags & L.TYPE_F_INCOMPLETE), (16, 0))
        named = types.lookup("struct node")
        assert named is not None
        self.assertEqual(named.size, 16)
        # by C spelling too, as loaded types are found
        ptr, long_t = types.lookup("struct node *"), types.lookup("long")
        self.assertEqual(ptr.name if ptr is not None else None, "__PTR_node")
        self.assertEqual(long_t.name if long_t is not None else None, "long$64")
        self.assertIn("struct node *", types.names())
        own = exe.file.type(1) if exe.file is not None else None
        self.assertEqual(own.size if own is not None else None, 0, "the exe's own record stays a declaration")


if __name__ == "__main__":
    unittest.main()
