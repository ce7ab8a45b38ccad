"""The chunk index of layout version 2 on synthetic images: chunk starts are bytes in 128 MiB
regions' byte maps (any non-zero byte is a start), the backward scan crosses region boundaries
and stops after 32 KiB, the walk finds every region through chunk_l1 and lists the marks of
dense and sparse maps alike."""
from __future__ import annotations

import os
import random
import sys
import unittest
from typing import List

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from allocs_decoder import Session  # noqa: E402
from allocs_decoder import layout as L  # noqa: E402
from allocs_decoder import queries  # noqa: E402
from allocs_decoder.heap import _marked  # noqa: E402
from fixtures import ImageBuilder  # noqa: E402

PC = 0x401234
BOUNDARY = 0x7F4008000000  # a multiple of 128 MiB (not of 1 GiB)
LOW = 0x10000000  # region 2: chunk_l1's first block (the others are in its sixth and eighth)


def walked(s: Session) -> List[int]:
    return [c.base for c in s.heap.walk()]


class ByteMaps(unittest.TestCase):
    def test_geometry(self) -> None:
        self.assertEqual(1 << L.CHUNK_REGION_SHIFT, 128 << 20)
        self.assertEqual(L.CHUNK_MAP_BYTES, (128 << 20) // 16)
        self.assertEqual(8 * L.CHUNK_L1_ENTRIES, 8 << 20)
        self.assertEqual(BOUNDARY % (1 << L.CHUNK_REGION_SHIFT), 0)
        self.assertNotEqual(BOUNDARY % (1 << 30), 0)

    def test_any_non_zero_byte_is_a_start(self) -> None:
        b = ImageBuilder()
        site = b.site(PC, "f", "f.c", 1)
        p, q = b.malloc(100, site), b.malloc(50, site)
        b.mark_chunk(p, 0xFF)
        b.mark_chunk(q, 7)
        s = Session(b.build())
        self.assertEqual((s.describe(p + 10).base, s.describe(q + 49).base), (p, q))
        self.assertTrue(s.heap.is_marked(p) and s.heap.is_marked(q))
        self.assertFalse(s.heap.is_marked(p + 16) or s.heap.is_marked(p + 1))
        self.assertEqual(walked(s), [p, q])

    def test_scan_and_walk_across_regions(self) -> None:
        b = ImageBuilder()
        site = b.site(PC, "f", "f.c", 1)
        home = b.malloc(64, site)
        b.new_heap(LOW, 0x1000)
        low = b.malloc(64, site)
        b.new_heap(BOUNDARY - 0x800, 0x1000)
        before = b.malloc(1100, site)  # 1120-byte chunks
        straddling = b.malloc(1100, site)
        after = b.malloc(1100, site)
        self.assertLess(straddling, BOUNDARY)
        self.assertGreater(straddling + 1100, BOUNDARY)
        self.assertGreater(after, BOUNDARY)
        self.assertEqual(len(b.regions), 4)
        s = Session(b.build())
        # The nearest start of BOUNDARY + 8 is in the previous region's map.
        d = s.describe(BOUNDARY + 8)
        self.assertEqual((d.allocator, d.base, d.offset), (L.MALLOC, straddling, BOUNDARY + 8 - straddling))
        self.assertEqual(s.describe(after + 4).base, after)
        self.assertEqual(s.describe(before + 1000).base, before)
        self.assertEqual(walked(s), sorted([low, home, before, straddling, after]))
        self.assertEqual(queries.census(s).chunks, 5)

    def test_the_scan_stops_after_32_kib(self) -> None:
        b = ImageBuilder()
        p = b.malloc(64 * 1024, b.site(PC, "f", "f.c", 1))
        self.assertEqual(b.large, [(p, 64 * 1024 + 16 - 8)])  # extent >= 32 KiB: listed
        b.large.clear()  # as if the runtime could not list it
        s = Session(b.build())
        self.assertEqual(s.describe(p + L.LARGE_CHUNK_BYTES).base, p)  # the window's last granule
        self.assertNotEqual(s.describe(p + L.LARGE_CHUNK_BYTES + 16).allocator, L.MALLOC)

    def test_extent_of_exactly_32_kib_is_large(self) -> None:
        b = ImageBuilder()
        p = b.malloc(L.LARGE_CHUNK_BYTES)  # usable = 32 KiB + 8: extent exactly 32 KiB
        q = b.malloc(L.LARGE_CHUNK_BYTES - 16)  # extent 32 KiB - 16
        self.assertEqual([base for base, _ in b.large], [p])
        s = Session(b.build())
        self.assertEqual(s.heap.large_chunks(), b.large)
        self.assertEqual(s.describe(p + L.LARGE_CHUNK_BYTES - 1).base, p)
        self.assertEqual(s.describe(q + L.LARGE_CHUNK_BYTES - 17).base, q)


class MarkedOffsets(unittest.TestCase):
    """The walk's listing of non-zero bytes, dense (itertools.compress) or sparse (regex runs)."""

    def check(self, block: bytes) -> None:
        base0 = 0x555550000000
        self.assertEqual(_marked(block, base0), [base0 + 16 * i for i, v in enumerate(block) if v])

    def test_dense_sparse_and_runs(self) -> None:
        rng = random.Random(2)
        n = 1 << 16
        self.check(bytes(n))
        self.check(b"\x01" * n)
        self.check(bytes([1, 0]) * (n // 2))
        for density in (0.5, 1 / 20, 1 / 64, 1 / 5000):
            self.check(bytes(rng.choice((1, 2, 255)) if rng.random() < density else 0 for _ in range(n)))
        runs = bytearray(n)
        for at in (0, 100, 5000, n - 3):
            runs[at: at + 3] = b"\x01\x80\x01"
        self.check(bytes(runs))


if __name__ == "__main__":
    unittest.main()
