"""The decoder's composition order against the runtime's: composition.py's LEAF_ORDER and
LEVEL_ORDER, row by row, against runtime/src/allocators.c's leaf_order and level_order tables,
each row's allocator named by the `.name` of its definition (runtime/src/*.c) and allocs.h."""
from __future__ import annotations

import glob
import os
import re
import sys
import unittest
from typing import Dict, List

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from allocs_decoder import composition  # noqa: E402

RUNTIME = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "runtime")
SRC = os.path.join(RUNTIME, "src")


def read(path: str) -> str:
    with open(path, encoding="utf-8") as f:
        return f.read()


def api_names() -> Dict[str, str]:
    """allocs.h's ALLOCS_ALLOCATOR_NAME_* macros."""
    text = read(os.path.join(RUNTIME, "include", "allocs.h"))
    return dict(re.findall(r'#define (ALLOCS_ALLOCATOR_NAME_\w+) "([^"]*)"', text))


def allocator_names() -> Dict[str, str]:
    """Each `const struct allocs_allocator X = { .name = ... }` in the runtime: X -> its name."""
    macros = api_names()
    out: Dict[str, str] = {}
    for path in glob.glob(os.path.join(SRC, "*.c")):
        for var, name in re.findall(
                r"const struct allocs_allocator (\w+) = \{\s*\.name = (\w+|\"[^\"]*\")", read(path)):
            out[var] = name.strip('"') if name.startswith('"') else macros[name]
    return out


def table_rows(table: str) -> List[str]:
    """The rows of allocators.c's table `table`, each as its allocator's name (the program's own
    mappings' row as composition.PROGRAMS_OWN_MMAP)."""
    text = read(os.path.join(SRC, "allocators.c"))
    m = re.search(r"\b" + table + r"\[\] = \{(.*?)\n\};", text, re.S)
    assert m, f"no table {table} in allocators.c"
    names = allocator_names()
    rows = []
    for var, rest in re.findall(r"\{&(\w+), ([^}]*)\}", m.group(1)):
        own = "ALLOCS_DESCRIBE_PROGRAMS_OWN" in rest
        rows.append(composition.PROGRAMS_OWN_MMAP if own else names[var])
    return rows


class CompositionOrderTest(unittest.TestCase):
    def test_every_allocator_is_named(self) -> None:
        names = allocator_names()
        self.assertGreaterEqual(len(names), 10)
        self.assertEqual(names["malloc_allocator"], "__default_lib_malloc")

    def test_leaf_order_is_the_runtimes(self) -> None:
        decoder = [n for n in composition.LEAF_ORDER if n not in composition.DECODER_ONLY_LEAVES]
        self.assertEqual(decoder, table_rows("leaf_order"))

    def test_level_order_is_the_runtimes(self) -> None:
        self.assertEqual(list(composition.LEVEL_ORDER), table_rows("level_order"))


if __name__ == "__main__":
    unittest.main()
