"""Every machine-readable output of the `alloc` commands, run through the command model on a
synthetic image, against its JSON Schema in docs/schema (and the validator against bad input)."""
from __future__ import annotations

import json
import os
import sys
import unittest
from typing import Dict, List

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from allocs_decoder import Session, commands  # noqa: E402
from allocs_decoder import layout as L  # noqa: E402
from fixtures import HEAP, FakeTarget, ImageBuilder  # noqa: E402
from schema_subset import SCHEMA_DIR, Schemas  # noqa: E402

PC = 0x401234


def image() -> FakeTarget:
    b = ImageBuilder()
    b.big(HEAP - 0x1000, HEAP + (1 << 20), L.BIG_MAPPING, flags=L.BIG_F_READ | L.BIG_F_WRITE, name="[heap]")
    b.big(HEAP, HEAP + (1 << 20), L.BIG_BRK, parent=0)
    site = b.site(PC, "make_points", "prog.c", 42)
    first = b.malloc(36, site)
    second = b.malloc(64, site)
    gone = b.malloc(100, site)
    b.top()
    b.free_chunk(gone)
    b.thread(0x7FFD0000, 0x7FFE0000, 100, allocs=3, frees=1, b_in=200, b_out=100)
    t = b.build()
    t.u64(second, first + 8)  # a pointer into the first chunk, for who-points-to
    t.first, t.gone = first, gone  # type: ignore[attr-defined]
    return t


class Outputs(unittest.TestCase):
    def setUp(self) -> None:
        self.schemas = Schemas()
        self.t = image()

    def run_json(self, name: str, arg: str) -> object:
        reply, as_json = commands.run_command(name, Session(self.t), arg)
        self.assertTrue(as_json)
        return json.loads(json.dumps(reply.json))  # what a front prints, read back

    def check(self, schema: str, value: object) -> None:
        self.assertEqual(self.schemas.validate(schema, value), [], json.dumps(value)[:400])

    def test_every_command_output_matches_its_schema(self) -> None:
        first, gone = self.t.first, self.t.gone  # type: ignore[attr-defined]
        for name, schema, arg in (
            ("info", "description", f"--json {first + 4:#x}"),
            ("info", "description", f"--json {gone + 4:#x}"),
            ("info", "description", "--json 0x10"),
            ("whatis", "whatis", f"--json {first:#x}"),
            ("whereis", "whereis", f"--json {first:#x}"),
            ("whyis", "whyis", f"--json {first:#x}"),
            ("print", "print", f"--json {first:#x}"),
            ("ls", "ls", "--json"),
            ("census", "census", "--json"),
            ("census", "census", "--json --by type"),
            ("maps", "maps", "--json"),
            ("who-points-to", "who-points-to", f"--json {first:#x}"),
        ):
            with self.subTest(command=name, arg=arg):
                self.check(f"{schema}.schema.json", self.run_json(name, arg))

    def test_errors_are_one_line_and_match_the_error_schema(self) -> None:
        for name, arg in (("census", "--by nothing"), ("info", ""), ("ls", "--limit x"),
                          ("info", "--bogus 1"), ("info", "not_a_number")):
            with self.subTest(command=name, arg=arg):
                with self.assertRaises(Exception) as cm:
                    commands.run_command(name, Session(self.t), arg)
                err = commands.error_json(cm.exception)
                self.assertNotIn("\n", err["error"])
                self.check("error.schema.json", err)

    def test_the_validator_rejects_what_the_schemas_forbid(self) -> None:
        good = self.run_json("info", f"--json {self.t.first:#x}")  # type: ignore[attr-defined]
        assert isinstance(good, dict)
        changes: List[Dict[str, object]] = [{"state": "gone"}, {"base": "0X12"}, {"size": -1}, {"extra": 1},
                                            {"chain": [{}]}, {"site": {"pc": 3}}]
        for change in changes:
            bad = dict(good)
            bad.update(change)
            with self.subTest(change=change):
                self.assertNotEqual(self.schemas.validate("description.schema.json", bad), [])
        lacking = dict(good)
        del lacking["notes"]
        self.assertEqual(self.schemas.validate("description.schema.json", lacking), ["$: lacks notes"])

    def test_every_schema_file_is_used_and_well_formed(self) -> None:
        names = sorted(f for f in os.listdir(SCHEMA_DIR) if f.endswith(".schema.json"))
        self.assertEqual(names, sorted(f"{n}.schema.json" for n in (
            "description", "whatis", "whereis", "whyis", "print", "ls", "census", "maps", "who-points-to",
            "type", "error", "leaks", "retainers", "snapshot", "diff")))
        for n in names:
            doc = self.schemas.doc(n)
            self.assertEqual(doc["$id"].rsplit("/", 1)[1], n)
            self.assertIn("description", doc)


if __name__ == "__main__":
    unittest.main()
