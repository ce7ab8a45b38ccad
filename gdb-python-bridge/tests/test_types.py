"""Run-time types decoded from synthetic memory: struct uniqtype records with members, paths
through arrays, nested structs, unions and bit-fields, C spellings of made-up arrays, and
corrupted records (cycles, huge counts, bad pointers) that must read as "type unknown" quickly,
never raise or hang."""
from __future__ import annotations

import os
import sys
import time
import unittest
from typing import Dict, List, Optional, Tuple

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from allocs_decoder import layout as L  # noqa: E402
from allocs_decoder.memory import Reader  # noqa: E402
from allocs_decoder.types import MetaTypes  # noqa: E402
from allocs_decoder.uniqtype import UType, make_array  # noqa: E402
from allocs_decoder.values import ValueRenderer, layout_lines, type_layout  # noqa: E402
from fixtures import FakeTarget  # noqa: E402

AREA = 0x7F0000800000


class TypeImage:
    """Lays out strings, uniqtypes and member arrays in one region."""

    def __init__(self) -> None:
        self.t = FakeTarget()
        self.t.map(AREA, 1 << 20)
        self.next = AREA
        self.strings: Dict[str, int] = {}

    def alloc(self, n: int) -> int:
        at = self.next
        self.next += (n + 15) & ~15
        return at

    def string(self, s: str) -> int:
        if s not in self.strings:
            at = self.alloc(len(s) + 1)
            self.t.write(at, s.encode() + b"\0")
            self.strings[s] = at
        return self.strings[s]

    def utype(self, name: str, c_name: str, size: int, kind: int, related: int = 0, count: int = 0,
              items: int = 0, encoding: int = 0, at: Optional[int] = None) -> int:
        at = at if at is not None else self.alloc(L.UniqtypeRec.size)
        self.t.write(at, L.UniqtypeRec.pack(name=self.string(name), c_name=self.string(c_name), size=size,
                                            kind=kind, encoding=encoding, related=related, count=count,
                                            items=items))
        return at

    def members(self, ms: List[Tuple[str, int, int, int, int]]) -> int:
        at = self.alloc(len(ms) * L.UniqtypeMemberRec.size)
        for i, (name, typ, off, bit_off, bit_size) in enumerate(ms):
            self.t.write(at + i * L.UniqtypeMemberRec.size,
                         L.UniqtypeMemberRec.pack(name=self.string(name) if name else 0, type=typ, offset=off,
                                                  bit_offset=bit_off, bit_size=bit_size))
        return at

    def types(self) -> MetaTypes:
        return MetaTypes(Reader(self.t), None)


def sample() -> Tuple[TypeImage, Dict[str, int]]:
    im = TypeImage()
    a: Dict[str, int] = {}
    a["int"] = im.utype("int$32", "int", 4, L.KIND_BASE, encoding=5)
    a["uint"] = im.utype("unsigned_int$32", "unsigned int", 4, L.KIND_BASE, encoding=7)
    a["char"] = im.utype("signed_char$8", "char", 1, L.KIND_BASE, encoding=6)
    a["long"] = im.utype("long$64", "long", 8, L.KIND_BASE, encoding=5)
    a["float"] = im.utype("float$32", "float", 4, L.KIND_BASE, encoding=4)
    a["double"] = im.utype("double$64", "double", 8, L.KIND_BASE, encoding=4)
    a["point"] = im.utype("point", "struct point", 12, L.KIND_STRUCT, count=3, items=im.members(
        [("x", a["int"], 0, 0, 0), ("y", a["int"], 4, 0, 0), ("z", a["int"], 8, 0, 0)]))
    a["pts3"] = im.utype("__ARR3_point", "struct point[3]", 36, L.KIND_ARRAY, related=a["point"], count=3)
    a["name8"] = im.utype("__ARR8_signed_char$8", "char[8]", 8, L.KIND_ARRAY, related=a["char"], count=8)
    a["inner"] = im.utype("inner", "struct inner", 16, L.KIND_STRUCT, count=2, items=im.members(
        [("weight", a["double"], 0, 0, 0), ("name", a["name8"], 8, 0, 0)]))
    a["u"] = im.utype("__anon_union_1", "union {...}", 8, L.KIND_UNION, count=2, items=im.members(
        [("as_long", a["long"], 0, 0, 0), ("as_float", a["float"], 0, 0, 0)]))
    a["outer"] = im.utype("outer", "struct outer", 32, L.KIND_STRUCT, count=3, items=im.members(
        [("tag", a["int"], 0, 0, 0), ("in", a["inner"], 8, 0, 0), ("u", a["u"], 24, 0, 0)]))
    a["flags"] = im.utype("flags", "struct flags", 8, L.KIND_STRUCT, count=3, items=im.members(
        [("count", a["int"], 0, 0, 0), ("mode", a["uint"], 4, 0, 3), ("level", a["uint"], 4, 3, 9)]))
    a["row"] = im.utype("__ARR4_int$32", "int[4]", 16, L.KIND_ARRAY, related=a["int"], count=4)
    a["grid"] = im.utype("__ARR3___ARR4_int$32", "int[3][4]", 48, L.KIND_ARRAY, related=a["row"], count=3)
    a["pint"] = im.utype("__PTR_int$32", "int *", 8, L.KIND_POINTER, related=a["int"])
    a["holder"] = im.utype("holder", "struct holder", 16, L.KIND_STRUCT, count=2, items=im.members(
        [("n", a["long"], 0, 0, 0), ("p", a["pint"], 8, 0, 0)]))
    return im, a


class Paths(unittest.TestCase):
    def setUp(self) -> None:
        self.im, self.a = sample()
        self.types = self.im.types()

    def ans(self, key: str, off: int) -> Tuple[Optional[str], str, Optional[str]]:
        t = self.types.get(self.a[key])
        assert t is not None
        r = self.types.answer(t, off)
        return r.type, r.path, r.path_type

    def test_interior_of_an_array_of_structs(self) -> None:
        self.assertEqual(self.ans("pts3", 16), ("struct point[3]", "[1].y", "int"))
        self.assertEqual(self.ans("pts3", 0), ("struct point[3]", "", "struct point[3]"))

    def test_nested_struct_and_char_array(self) -> None:
        self.assertEqual(self.ans("outer", 19), ("struct outer", ".in.name[3]", "char"))

    def test_union_picks_the_first_covering_member_and_says_so(self) -> None:
        t = self.types.get(self.a["outer"])
        assert t is not None
        r = self.types.answer(t, 24)
        self.assertEqual((r.path, r.path_type), (".u.as_long", "long"))
        self.assertTrue(any("union" in n and "as_float" in n for n in r.notes), r.notes)

    def test_bit_fields(self) -> None:
        self.assertEqual(self.ans("flags", 5), ("struct flags", ".level", "unsigned int"))
        self.assertEqual(self.ans("flags", 4), ("struct flags", ".mode", "unsigned int"))

    def test_arrays_of_arrays(self) -> None:
        self.assertEqual(self.ans("grid", 24), ("int[3][4]", "[1][2]", "int"))

    def test_padding_and_past_the_end(self) -> None:
        t = self.types.get(self.a["outer"])
        assert t is not None
        r = self.types.answer(t, 5)  # between tag (0..3) and in (8..)
        self.assertEqual(r.path, "")
        self.assertTrue(any("padding" in n for n in r.notes))
        r = self.types.answer(self.types.get(self.a["point"]), 40)  # type: ignore[arg-type]
        self.assertIsNone(r.path_type)

    def test_innermost_at_the_base_is_known_for_pointers(self) -> None:
        t = self.types.get(self.a["holder"])
        assert t is not None
        r = self.types.answer(t, 8)
        self.assertEqual((r.path, r.path_type), (".p", "int *"))
        self.assertTrue(r.path_utype is not None and r.path_utype.is_pointer)

    def test_made_up_arrays_are_spelled_like_the_runtime(self) -> None:
        point = self.types.get(self.a["point"])
        row = self.types.get(self.a["row"])
        ptr = UType(None, "__PTR_signed_char$8", "char *", 8, L.KIND_POINTER)
        assert point is not None and row is not None
        self.assertEqual((make_array(point, 5).c_name, make_array(point, 5).name),
                         ("struct point[5]", "__ARR5_point"))
        self.assertEqual(make_array(row, 2).c_name, "int[2][4]")
        self.assertEqual(make_array(ptr, 3).c_name, "char *[3]")

    def test_lookup_by_name_renders_layout_and_values(self) -> None:
        t = self.types.get(self.a["flags"])
        assert t is not None
        j = type_layout(self.types, t)
        self.assertEqual([(m["name"], m["offset"], m["bitOffset"], m["bitSize"]) for m in j["members"]],
                         [("count", 0, None, None), ("mode", 4, 0, 3), ("level", 4, 3, 9)])
        self.assertIn("level : 9", "\n".join(layout_lines(j)))
        data = AREA + 0x80000
        self.im.t.write(data, bytes([3, 0, 0, 0, 5 | (17 << 3) & 0xFF, 17 >> 5, 0, 0]))
        text = ValueRenderer(self.types, Reader(self.im.t)).render(t, data)
        self.assertIn("count = 3", text)
        self.assertIn("mode = 5", text)
        self.assertIn("level = 17", text)


class Corrupted(unittest.TestCase):
    """A core may hold anything: every corruption reads as unknown, quickly."""

    def fast(self, fn) -> object:  # type: ignore[no-untyped-def]
        t0 = time.monotonic()
        out = fn()
        self.assertLess(time.monotonic() - t0, 2.0)
        return out

    def test_a_struct_containing_itself(self) -> None:
        im = TypeImage()
        at = im.alloc(L.UniqtypeRec.size)
        ms = im.members([("self", at, 0, 0, 0)])
        im.utype("loop", "struct loop", 16, L.KIND_STRUCT, count=1, items=ms, at=at)
        types = im.types()
        t = types.get(at)
        assert t is not None
        r = self.fast(lambda: types.answer(t, 3))
        self.assertIn("too deep", " ".join(r.notes))  # type: ignore[attr-defined]
        self.fast(lambda: ValueRenderer(types, Reader(im.t)).render(t, AREA))

    def test_an_array_whose_element_is_itself(self) -> None:
        im = TypeImage()
        at = im.alloc(L.UniqtypeRec.size)
        im.utype("__ARR2_x", "x[2]", 32, L.KIND_ARRAY, related=at, count=2, at=at)
        types = im.types()
        t = types.get(at)
        assert t is not None
        self.fast(lambda: types.answer(t, 17))
        self.fast(lambda: ValueRenderer(types, Reader(im.t)).render(t, AREA))

    def test_huge_counts_and_bad_pointers(self) -> None:
        im = TypeImage()
        huge = im.utype("big", "struct big", 16, L.KIND_STRUCT, count=0xFFFFFFFF, items=AREA)
        wild = im.utype("wild", "struct wild", 16, L.KIND_STRUCT, count=2, items=0xDEAD0000)
        types = im.types()
        for at in (huge, wild):
            t = types.get(at)
            assert t is not None
            self.assertEqual(types.members(t), [])
            r = self.fast(lambda: types.answer(t, 4))
            self.assertEqual(r.path, "")  # type: ignore[attr-defined]
        # a record whose name points nowhere, a misaligned or unmapped address, a bad kind
        bad_name = im.alloc(L.UniqtypeRec.size)
        im.t.write(bad_name, L.UniqtypeRec.pack(name=0x1234, c_name=0, size=4, kind=L.KIND_BASE))
        bad_kind = im.utype("k", "k", 4, 200)
        for at in (bad_name, bad_kind, AREA + 3, 0xFFFF_FFFF_FFFF_0000, 0):
            self.assertIsNone(types.get(at))

    def test_a_member_pointing_at_garbage_is_unknown_not_an_error(self) -> None:
        im = TypeImage()
        ms = im.members([("a", 0xBAD000, 0, 0, 0), ("b", 0, 8, 0, 0)])
        at = im.utype("s", "struct s", 16, L.KIND_STRUCT, count=2, items=ms)
        types = im.types()
        t = types.get(at)
        assert t is not None
        r = types.answer(t, 8)
        self.assertEqual((r.path, r.path_type), (".b", None))
        self.assertIn("<type unknown>", ValueRenderer(types, Reader(im.t)).render(t, AREA))


if __name__ == "__main__":
    unittest.main()
