"""pointer_summary, the one-line summary every front's variable view shows beside a pointer: each
part present or absent, in the debug adapter's order (extension/src/adapter/describe.ts `summary`;
tests/bridge/lldb.test.ts checks the two agree on real descriptions)."""
from __future__ import annotations

import os
import sys
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from allocs_decoder.address_description import AddressDescription  # noqa: E402
from allocs_decoder.commands.summary import pointer_summary  # noqa: E402


class PointerSummaryTest(unittest.TestCase):
    def test_nothing_known(self) -> None:
        self.assertIsNone(pointer_summary(AddressDescription(0x1000)))

    def test_every_part(self) -> None:
        d = AddressDescription(0x100c, allocator="__default_lib_malloc", base=0x1000, size=24,
                               type="struct point[3]", path=".y",
                               site={"file": "/src/pts.c", "line": 14, "function": "make"})
        self.assertEqual(pointer_summary(d), "__default_lib_malloc struct point[3] +12 (.y) @ pts.c:14")

    def test_size_when_untyped_and_no_offset_at_the_base(self) -> None:
        d = AddressDescription(0x2000, allocator="mmap", base=0x2000, size=12288)
        self.assertEqual(pointer_summary(d), "mmap 12288 B")

    def test_freed(self) -> None:
        d = AddressDescription(0x3010, allocator="__default_lib_malloc", base=0x3000, state="freed")
        self.assertEqual(pointer_summary(d), "freed __default_lib_malloc +16")

    def test_site_forms(self) -> None:
        def site_of(site: dict) -> str:
            s = pointer_summary(AddressDescription(0x10, allocator="stackframe", site=site))
            assert s is not None
            return s

        self.assertEqual(site_of({"function": "main", "variable": "buf"}), "stackframe @ main:buf")
        self.assertEqual(site_of({"variable": "buf"}), "stackframe @ ??:buf")
        self.assertEqual(site_of({"file": "a/b.c", "line": None}), "stackframe @ b.c:?")
        self.assertEqual(site_of({"function": "f"}), "stackframe @ f")
        self.assertEqual(site_of({"symbol": "g_table"}), "stackframe @ g_table")
        self.assertEqual(site_of({"line": 3}), "stackframe")
        self.assertEqual(site_of({}), "stackframe")


if __name__ == "__main__":
    unittest.main()
