"""The decoder's layout tables against runtime/include/allocs_layout.h: every record's size and
every field's offset, checked by compiling the header (both sides of the contract)."""
from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import unittest

import sys  # noqa: E402

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from allocs_decoder import layout as L  # noqa: E402

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
# The header's constants the decoder relies on, with the decoder's values.
CONSTANTS = {
    "ALLOCS_LAYOUT_VERSION": L.LAYOUT_VERSION, "ALLOCS_GRANULE_SHIFT": L.GRANULE_SHIFT,
    "ALLOCS_CHUNK_REGION_SHIFT": L.CHUNK_REGION_SHIFT, "ALLOCS_CHUNK_L1_ENTRIES": L.CHUNK_L1_ENTRIES,
    "ALLOCS_CHUNK_MAP_BYTES": L.CHUNK_MAP_BYTES, "ALLOCS_CHUNK_MARK_PLAIN": L.CHUNK_MARK_PLAIN,
    "ALLOCS_CHUNK_MARK_SIZED_MAX": L.CHUNK_MARK_SIZED_MAX,
    "ALLOCS_CHUNK_MARK_SLOW": L.CHUNK_MARK_SLOW, "ALLOCS_LARGE_CHUNK_BYTES": L.LARGE_CHUNK_BYTES,
    "ALLOCS_SUB_REGION_SHIFT": L.SUB_REGION_SHIFT, "ALLOCS_SUB_L1_ENTRIES": L.SUB_L1_ENTRIES,
    "ALLOCS_SUB_BITMAP_BYTES": L.SUB_BITMAP_BYTES, "ALLOCS_TRAILER_BYTES": L.TRAILER_BYTES,
    "ALLOCS_TRAILER_SEQ_MASK": L.TRAILER_SEQ_MASK, "ALLOCS_TRAILER_POOL_BIT": L.TRAILER_POOL_BIT,
    "ALLOCS_TRAILER_SITE_SHIFT": L.TRAILER_SITE_SHIFT, "ALLOCS_TRAILER_SITE_MASK": L.TRAILER_SITE_MASK,
    "ALLOCS_TRAILER_SLACK_SHIFT": L.TRAILER_SLACK_SHIFT, "ALLOCS_TRAILER_SLACK_MASK": L.TRAILER_SLACK_MASK,
    "ALLOCS_META_NONE": L.META_NONE, "ALLOCS_SITE_ARRAY": L.SITE_ARRAY, "ALLOCS_KIND_FRAME": L.KIND_FRAME,
    "ALLOCS_TYPE_F_INCOMPLETE": L.TYPE_F_INCOMPLETE,
}


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
        for const in CONSTANTS:
            lines.append(f'printf("const {const} %llu\\n", (unsigned long long)({const}));')
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
        for const, value in CONSTANTS.items():
            self.assertEqual(got[("const", const)], value, const)


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
