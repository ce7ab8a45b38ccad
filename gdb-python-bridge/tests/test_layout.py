"""The decoder's layout tables against runtime/include/allocs_layout.h and the other headers:
every record's size and every field's offset, and every constant (macro or enumerator), checked
by compiling the headers (both sides of the contract)."""
from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import tempfile
import unittest
from typing import Any, Dict, Tuple

import sys  # noqa: E402

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from allocs_decoder import layout as L  # noqa: E402
from allocs_decoder import meta_file  # noqa: E402

HEADER_DIR = os.path.join(os.path.dirname(__file__), "..", "..", "runtime", "include")
RECORDS = {
    "allocs_site": L.SiteRec, "allocs_large_chunk": L.LargeChunkRec, "allocs_big": L.BigRec,
    "allocs_symbol": L.SymbolRec, "allocs_object": L.ObjectRec, "allocs_thread": L.ThreadRec,
    "allocs_suballoc": L.SuballocRec, "allocs_allocator_record": L.AllocatorRec, "allocs_root": L.RootRec,
    "uniqtype": L.UniqtypeRec, "uniqtype_member": L.UniqtypeMemberRec,
    "uniqtype_enumerator": L.UniqtypeEnumeratorRec, "allocs_loaded_meta": L.LoadedMetaRec,
    "allocs_meta_static": L.MetaStaticRec, "allocs_meta_frame": L.MetaFrameRec,
    "allocs_meta_frame_var": L.MetaFrameVarRec, "allocs_meta_site": L.MetaSiteRec,
}
SCRIPTS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "scripts")
# The headers whose every constant the decoder must know, and the API header's constants it does:
# the built-in allocators' names and the first custom allocator's id (a pool's default name).
LAYOUT_HEADERS = ["allocs_layout.h", "allocs_uniqtype.h", "allocs_meta_format.h", "allocs.h"]
API_CONSTANTS = re.compile(r"^ALLOCS_(ALLOCATOR_NAME_\w+|FIRST_CUSTOM_ALLOCATOR)$")
API_HEADER = "allocs.h"
# The metadata file's own constants are meta_file.py's (it reads the files typegen writes).
META_FILE_CONSTANTS = {
    "ALLOCS_META_MAGIC": "MAGIC", "ALLOCS_META_VERSION": "VERSION", "ALLOCS_META_SUFFIX": "SUFFIX",
    "ALLOCS_META_STRINGS": "STRINGS", "ALLOCS_META_TYPES": "TYPES", "ALLOCS_META_MEMBERS": "MEMBERS",
    "ALLOCS_META_ENUMERATORS": "ENUMERATORS", "ALLOCS_META_PARAMS": "PARAMS",
    "ALLOCS_META_STATICS": "STATICS", "ALLOCS_META_FRAMES": "FRAMES",
    "ALLOCS_META_FRAME_VARS": "FRAME_VARS", "ALLOCS_META_SITES": "SITES",
}


def python_twin(c_name: str) -> Tuple[str, Any]:
    """The decoder's name and value for the header's constant C_NAME (AttributeError: none)."""
    if c_name in META_FILE_CONSTANTS:
        return f"meta_file.{META_FILE_CONSTANTS[c_name]}", getattr(meta_file, META_FILE_CONSTANTS[c_name])
    if c_name == "ALLOCS_META_NSECTIONS":
        return "len(meta_file.RECORD_SIZE)", len(meta_file.RECORD_SIZE)
    name = c_name[len("ALLOCS_"):]
    if name.startswith("ALLOCATOR_NAME_"):
        name = name[len("ALLOCATOR_NAME_"):]
    return f"layout.{name}", getattr(L, name)


def header_constants() -> Dict[str, Any]:
    out = subprocess.run([sys.executable, os.path.join(SCRIPTS, "header-constants.py")] + LAYOUT_HEADERS,
                         check=True, capture_output=True, text=True).stdout
    api = subprocess.run([sys.executable, os.path.join(SCRIPTS, "header-constants.py"), API_HEADER],
                         check=True, capture_output=True, text=True).stdout
    api_names = set(json.loads(api))
    return {k: v for k, v in json.loads(out).items() if k not in api_names or API_CONSTANTS.match(k)}


@unittest.skipUnless(shutil.which("gcc"), "gcc is needed to compile the layout header")
class LayoutAgainstHeader(unittest.TestCase):
    def test_sizes_and_offsets_match_the_c_header(self) -> None:
        lines = ['#include <stdio.h>', '#include <stddef.h>', '#include "allocs_layout.h"',
                 '#include "allocs_uniqtype.h"',
                 "int main(void) {"]
        for struct_name, rec in RECORDS.items():
            lines.append(f'printf("{struct_name} sizeof %zu\\n", sizeof(struct {struct_name}));')
            for fname, _off, _code in rec.table:
                lines.append(f'printf("{struct_name} {fname} %zu\\n", '
                             f'offsetof(struct {struct_name}, {fname}));')
        lines.append("return 0; }")
        with tempfile.TemporaryDirectory() as d:
            src, exe = os.path.join(d, "l.c"), os.path.join(d, "l")
            with open(src, "w") as f:
                f.write("\n".join(lines))
            subprocess.run(["gcc", "-I", HEADER_DIR, "-o", exe, src], check=True, capture_output=True)
            out = subprocess.run([exe], check=True, capture_output=True, text=True).stdout
        got = {tuple(line.split()[:2]): int(line.split()[2]) for line in out.splitlines()}
        for struct_name, rec in RECORDS.items():
            self.assertEqual(got[(struct_name, "sizeof")], rec.size, struct_name)
            for fname, off, _code in rec.table:
                self.assertEqual(got[(struct_name, fname)], off, f"{struct_name}.{fname}")

    def test_every_constant_of_the_headers_has_its_twin_in_the_decoder(self) -> None:
        constants = header_constants()
        self.assertIn("ALLOCS_BIG_AUXV", constants)  # the enumerators are there too
        self.assertIn("ALLOCS_ALLOCATOR_NAME_MALLOC", constants)
        for c_name, value in constants.items():
            with self.subTest(c_name):
                try:
                    where, twin = python_twin(c_name)
                except AttributeError:
                    self.fail(f"{c_name} = {value!r} has no twin in the decoder")
                if isinstance(twin, bytes):
                    twin = twin.decode("latin-1")
                self.assertEqual(twin, value, f"{where} differs from {c_name}")

    def test_the_metadata_files_record_sizes_match_the_header(self) -> None:
        structs = ["", "allocs_meta_type", "allocs_meta_member", "allocs_meta_enumerator", "",
                   "allocs_meta_static", "allocs_meta_frame", "allocs_meta_frame_var", "allocs_meta_site"]
        lines = ['#include <stdio.h>', '#include "allocs_meta_format.h"', "int main(void) {",
                 'printf("%zu\\n", sizeof(struct allocs_meta_header));']
        lines += [f'printf("%zu\\n", sizeof(struct {st}));' if st else 'printf("0\\n");' for st in structs]
        lines.append("return 0; }")
        with tempfile.TemporaryDirectory() as d:
            src, exe = os.path.join(d, "m.c"), os.path.join(d, "m")
            with open(src, "w") as f:
                f.write("\n".join(lines))
            subprocess.run(["gcc", "-I", HEADER_DIR, "-o", exe, src], check=True, capture_output=True)
            out = subprocess.run([exe], check=True, capture_output=True, text=True).stdout
        sizes = [int(x) for x in out.split()]
        self.assertEqual(sizes[0], meta_file.HEADER_SIZE)
        for i, st in enumerate(structs):
            if st:
                self.assertEqual(sizes[1 + i], meta_file.RECORD_SIZE[i], st)


class RecordTables(unittest.TestCase):
    def test_round_trip(self) -> None:
        blob = L.BigRec.pack(begin=0x1000, end=0x2000, parent=-1, kind=L.BIG_BRK, flags=3, name=0x99)
        rec = L.BigRec.unpack(blob)
        self.assertEqual((rec.begin, rec.end, rec.parent, rec.kind, rec.flags, rec.name),
                         (0x1000, 0x2000, -1, L.BIG_BRK, 3, 0x99))

    def test_overlapping_fields_are_refused(self) -> None:
        with self.assertRaises(AssertionError):
            L.RecordType("Bad", (("a", 0, "Q"), ("b", 4, "I")), 16)


if __name__ == "__main__":
    unittest.main()
