"""The heap graph, leaks, retainers and snapshot diffs on a synthetic image: a static root points
to an untyped chunk A that points to B; C and D point to each other with no root (a cycle); E, lost,
points to F. (The typed cases run against real programs in tests/bridge/leaks.test.ts.)"""
from __future__ import annotations

import os
import sys
import unittest
from typing import Dict

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from allocs_decoder import Session  # noqa: E402
from allocs_decoder import heap_graph, layout as L, leaks, retainers, snapshot  # noqa: E402
from fixtures import ImageBuilder  # noqa: E402

STATIC = 0x600000
PC = 0x401234


class Graph(unittest.TestCase):
    def setUp(self) -> None:
        b = ImageBuilder()
        site = b.site(PC, "make", "m.c", 7)
        self.c: Dict[str, int] = {n: b.malloc(32, site) for n in "ABCDEF"}
        b.top()
        c = self.c
        b.t.u64(c["A"] + 8, c["B"] + 4)  # an interior pointer counts
        b.t.u64(c["C"], c["D"])
        b.t.u64(c["D"], c["C"])
        b.t.u64(c["E"] + 16, c["F"])
        b.t.map(STATIC, 4096)
        b.t.u64(STATIC + 64, c["A"])
        b.big(STATIC, STATIC + 4096, L.BIG_ELF_SEGMENT, flags=L.BIG_F_WRITE | L.BIG_F_READ)
        self.s = Session(b.build(), use_types=False)
        self.g = heap_graph.build(self.s)

    def test_edges_and_roots(self) -> None:
        g, c = self.g, self.c
        self.assertEqual(len(g), 6)
        a = g.index_of(c["A"])
        assert a is not None
        self.assertEqual(list(g.out_edges(a)), [(8, g.index_of(c["B"]))])
        self.assertEqual([(e.where, g.bases[e.dst]) for e in g.root_edges], [(STATIC + 64, c["A"])])
        self.assertEqual(g.precise, bytearray(6), "no types: every chunk is scanned conservatively")

    def test_leaks(self) -> None:
        r = leaks.leak_report(self.s, self.g)
        self.assertEqual(r.totals["definite"], (2, 64), "C (the cycle's lowest address) and E")
        self.assertEqual(r.totals["indirect"], (2, 64), "D and F")
        self.assertEqual(r.totals["conservative"], (1, 32), "B: reached only through untyped A")
        js, text = leaks.leaks(self.s, g=self.g)
        self.assertEqual([(x["kind"], x["count"], x["example"]) for x in js["groups"]],
                         [("definite", 2, hex(self.c["C"])), ("indirect", 2, hex(self.c["D"])),
                          ("conservative", 1, hex(self.c["B"]))])
        self.assertIn("definitely lost: 64 bytes in 2 chunks", text)

    def test_retainers(self) -> None:
        js, _text = retainers.retainers(self.s, self.c["B"] + 3, g=self.g)
        self.assertTrue(js["reachable"])
        steps = js["chains"][0]["steps"]
        self.assertEqual([(st["kind"], st["address"]) for st in steps],
                         [("static", hex(STATIC + 64)), ("heap", hex(self.c["A"] + 8))])
        js, text = retainers.retainers(self.s, self.c["F"], g=self.g)
        self.assertFalse(js["reachable"])
        self.assertIn("leaked", text)
        with self.assertRaises(ValueError):
            retainers.retainers(self.s, STATIC, g=self.g)

    def test_diff(self) -> None:
        a = snapshot.take(self.s, self.g)
        b = {**a, "chunks": {k: v[2:] for k, v in a["chunks"].items()}}  # A and B freed
        js, _ = snapshot.diff(a, b)
        self.assertEqual(js["total"], {"added": 0, "addedBytes": 0, "freed": 2, "freedBytes": 64, "net": -2,
                                       "netBytes": -64})
        self.assertEqual(js["bySite"][0]["site"], "make at m.c:7")
        js, _ = snapshot.diff(b, a)
        self.assertEqual((js["total"]["added"], js["total"]["net"]), (2, 2))


if __name__ == "__main__":
    unittest.main()
