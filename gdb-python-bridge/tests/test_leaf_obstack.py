"""The obstack leaf (allocs_decoder/leaf_obstack.py) on synthetic memory images: the used part and
free tail of the current chunk, an older chunk, and the registry trusted for nothing: a slot
naming unreadable memory, a struct whose chunk is not a chunk's base, a chain that loops, a chunk
whose header does not reach its requested size, and a chunk holding pool objects (the pool's)."""
from __future__ import annotations

import os
import sys
import unittest
from typing import Tuple

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from allocs_decoder import Session  # noqa: E402
from allocs_decoder import layout as L  # noqa: E402
from allocs_decoder.leaf_obstack import OBSTACK  # noqa: E402
from fixtures import HEAP, FakeTarget, ImageBuilder  # noqa: E402

REGISTRY = 0x7F0000800000
STRUCTS = 0x7F0000900000  # where the struct obstacks live (a program's .bss)
CHUNK_SIZE = 4064  # glibc's default chunk size


def image() -> ImageBuilder:
    b = ImageBuilder()
    b.big(HEAP - 0x1000, HEAP + (1 << 20), L.BIG_MAPPING, flags=L.BIG_F_READ | L.BIG_F_WRITE, name="[heap]")
    b.big(HEAP, HEAP + (1 << 20), L.BIG_BRK, parent=0)
    b.t.map(REGISTRY, 8 * L.OBSTACK_SLOTS)
    b.t.map(STRUCTS, 0x1000)
    b.t.symbols[L.OBSTACKS_SYMBOL] = REGISTRY
    return b


def obstack_chunk(b: ImageBuilder, prev: int, size: int = CHUNK_SIZE) -> int:
    """A malloc chunk holding an obstack chunk's header: limit = base + size, prev."""
    base = b.malloc(size)
    b.t.u64(base + L.OBCHUNK_OFF_LIMIT, base + size)
    b.t.u64(base + L.OBCHUNK_OFF_PREV, prev)
    return base


def obstack(t: FakeTarget, h: int, chunk: int, next_free: int, slot: int = 0) -> None:
    t.u64(h + L.OBSTACK_OFF_CHUNK, chunk)
    t.u64(h + L.OBSTACK_OFF_OBJECT_BASE, next_free)
    t.u64(h + L.OBSTACK_OFF_NEXT_FREE, next_free)
    t.u64(h + L.OBSTACK_OFF_CHUNK_LIMIT, chunk + CHUNK_SIZE)
    t.u64(REGISTRY + 8 * slot, h)


def answer(t: FakeTarget, addr: int) -> Tuple[object, object, object, object]:
    d = Session(t).describe(addr)
    return d.allocator, d.base, d.size, d.site


class ObstackLeaf(unittest.TestCase):
    def setUp(self) -> None:
        self.b = image()
        self.older = obstack_chunk(self.b, 0)
        self.current = obstack_chunk(self.b, self.older)
        self.next_free = self.current + 16 + 100
        self.h = STRUCTS + 0x40

    def test_used_part_free_tail_and_older_chunk(self) -> None:
        obstack(self.b.t, self.h, self.current, self.next_free)
        t = self.b.build()
        c, o, nf = self.current, self.older, self.next_free
        site = {"obstack": hex(self.h), "chunk": hex(c), "limit": hex(c + CHUNK_SIZE), "nextFree": hex(nf)}
        self.assertEqual(answer(t, c + 20), (OBSTACK, c + 16, 100, {**site, "part": "used"}))
        self.assertEqual(answer(t, nf + 5), (OBSTACK, nf, c + CHUNK_SIZE - nf, {**site, "part": "free"}))
        self.assertEqual(answer(t, o + 16), (OBSTACK, o + 16, CHUNK_SIZE - 16, {
            "obstack": hex(self.h), "chunk": hex(o), "limit": hex(o + CHUNK_SIZE), "nextFree": None,
            "part": "used"}))
        d = Session(t).describe(c + 20)
        self.assertEqual([lv.allocator for lv in d.chain][-2:], [L.MALLOC, OBSTACK])
        self.assertEqual(d.damage, [])
        # the chunk's own header is malloc's
        self.assertEqual(answer(t, c + 8)[:3], (L.MALLOC, c, CHUNK_SIZE))

    def test_a_slot_naming_unreadable_memory_is_passed_over(self) -> None:
        self.b.t.u64(REGISTRY, 0x7E0000000000)  # nothing mapped there
        obstack(self.b.t, self.h, self.current, self.next_free, slot=7)
        t = self.b.build()
        self.assertEqual(answer(t, self.current + 20)[0], OBSTACK)

    def test_a_struct_that_is_no_obstack_any_more(self) -> None:
        # its chunk field points inside a chunk, not at one's base: reused memory
        obstack(self.b.t, self.h, self.current + 16, self.next_free)
        t = self.b.build()
        self.assertEqual(answer(t, self.current + 20)[:3], (L.MALLOC, self.current, CHUNK_SIZE))

    def test_a_chain_that_loops_ends(self) -> None:
        self.b.t.u64(self.older + L.OBCHUNK_OFF_PREV, self.current)  # older -> current -> older ...
        other = obstack_chunk(self.b, 0)
        obstack(self.b.t, self.h, self.current, self.next_free)
        t = self.b.build()
        self.assertEqual(answer(t, other + 20)[:3], (L.MALLOC, other, CHUNK_SIZE))
        self.assertEqual(answer(t, self.older + 20)[0], OBSTACK)

    def test_a_chunk_whose_header_does_not_reach_its_size_is_not_an_obstacks(self) -> None:
        self.b.t.u64(self.current + L.OBCHUNK_OFF_LIMIT, self.current + CHUNK_SIZE - 16)
        obstack(self.b.t, self.h, self.current, self.next_free)
        t = self.b.build()
        self.assertEqual(answer(t, self.current + 20)[:3], (L.MALLOC, self.current, CHUNK_SIZE))

    def test_without_the_registry_symbol_nothing_is_an_obstack(self) -> None:
        obstack(self.b.t, self.h, self.current, self.next_free)
        del self.b.t.symbols[L.OBSTACKS_SYMBOL]
        t = self.b.build()
        self.assertEqual(answer(t, self.current + 20)[0], L.MALLOC)

    def test_a_chunk_holding_pool_objects_is_the_pools(self) -> None:
        arena = self.b.malloc(CHUNK_SIZE, pool=True)
        self.b.t.u64(arena + L.OBCHUNK_OFF_LIMIT, arena + CHUNK_SIZE)
        a = self.b.allocator("bridge_pool")
        self.b.pool_object(a, arena + 256, 64, 0x401234, 1)
        obstack(self.b.t, self.h, arena, arena + 16)
        t = self.b.build()
        self.assertEqual(answer(t, arena + 260)[0], "bridge_pool")
        self.assertEqual(answer(t, arena + 100)[0], L.MALLOC)


if __name__ == "__main__":
    unittest.main()
