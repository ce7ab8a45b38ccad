"""The heap-graph commands' JSON (alloc leaks, retainers, snapshot save|ls|rm, diff), run through the
command model on test_schemas.py's synthetic image, against docs/schema/leaks, retainers, snapshot
and diff.schema.json. (Real gdb and LLDB answers are validated in tests/bridge/leaks-lldb.test.ts.)"""
from __future__ import annotations

import json
import os
import sys
import tempfile
import unittest
from typing import Any, Dict, Tuple

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from allocs_decoder import Session, commands  # noqa: E402
from schema_subset import Schemas  # noqa: E402
from test_schemas import image  # noqa: E402


class GraphOutputs(unittest.TestCase):
    def test_every_graph_command_output_matches_its_schema(self) -> None:
        schemas = Schemas()
        t = image()
        first = t.first  # type: ignore[attr-defined]
        with tempfile.TemporaryDirectory() as d:
            old = os.environ.get("XDG_CACHE_HOME")
            os.environ["XDG_CACHE_HOME"] = d  # `snapshot ls` lists the cache's snapshots
            try:
                snap = os.path.join(d, "a.snap.json.gz")
                for name, schema, arg in (
                    ("leaks", "leaks", "--json"),
                    ("retainers", "retainers", f"--json {first + 4:#x}"),
                    ("snapshot", "snapshot", f"save --json {snap}"),
                    ("snapshot", "snapshot", "save --json named"),
                    ("snapshot", "snapshot", "ls --json"),
                    ("diff", "diff", f"--json {snap} now"),
                    ("snapshot", "snapshot", f"rm --json {snap}"),
                ):
                    with self.subTest(command=name, arg=arg):
                        reply, as_json = commands.run_command(name, Session(t), arg)
                        self.assertTrue(as_json)
                        value = json.loads(json.dumps(reply.json))
                        self.assertEqual(schemas.validate(f"{schema}.schema.json", value), [],
                                         json.dumps(value)[:400])
            finally:
                if old is None:
                    del os.environ["XDG_CACHE_HOME"]
                else:
                    os.environ["XDG_CACHE_HOME"] = old

    def test_the_schemas_refuse_what_they_forbid(self) -> None:
        schemas = Schemas()
        reply, _ = commands.run_command("leaks", Session(image()), "--json")
        good = json.loads(json.dumps(reply.json))
        bad: Tuple[Dict[str, Any], ...] = (
            {"extra": 1}, {"typed": "yes"}, {"groups": [{"kind": "lost"}]}, {"roots": {"heap": 1}})
        for change in bad:
            with self.subTest(change=change):
                self.assertNotEqual(schemas.validate("leaks.schema.json", {**good, **change}), [])


if __name__ == "__main__":
    unittest.main()
