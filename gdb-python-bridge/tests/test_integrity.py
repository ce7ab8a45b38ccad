"""The integrity checks' pure parts: return-address recognition and the type-record rules
(the checks against a real damaged core are tests/bridge/core-corruption.test.ts)."""
from __future__ import annotations

import os
import sys
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from allocs_decoder import layout as L  # noqa: E402
from allocs_decoder.integrity import damage_note, is_call_return  # noqa: E402
from allocs_decoder.uniqtype import UType  # noqa: E402
from allocs_decoder.uniqtype_records import derived_problem, record_problem  # noqa: E402


def rec(kind: int, size: int) -> object:
    return L.UniqtypeRec.unpack(L.UniqtypeRec.pack(kind=kind, size=size))


class ReturnAddresses(unittest.TestCase):
    def test_direct_and_indirect_calls(self) -> None:
        self.assertTrue(is_call_return(b"\x90\x90\xe8\x10\x20\x30\x40"))  # call rel32
        self.assertTrue(is_call_return(b"\x90\x90\x90\x90\x90\xff\xd0"))  # call *%rax
        self.assertTrue(is_call_return(b"\xff\x15\x01\x02\x03\x04"))  # call *x(%rip)
        self.assertFalse(is_call_return(b"\x48\x89\xe5\x48\x83\xec\x10"))  # mov, sub: no call
        self.assertFalse(is_call_return(b"\x90\x90\x90\x90\x90\xff\xe0"))  # jmp *%rax


class TypeRecordRules(unittest.TestCase):
    def test_a_healthy_record_passes(self) -> None:
        self.assertIsNone(record_problem(rec(L.KIND_BASE, 4), "int$32", "int"))
        self.assertIsNone(record_problem(rec(L.KIND_STRUCT, 12), "point", "struct point"))
        self.assertIsNone(record_problem(rec(L.KIND_POINTER, 8), "__PTR_int$32", "int *"))
        self.assertIsNone(record_problem(rec(L.KIND_UNION, 8), "__anon_union_1ffafa29", "union {...}"))
        # a name made unique in its file: C spells it without the suffix
        self.assertIsNone(record_problem(rec(L.KIND_STRUCT, 216), "_IO_FILE$9706ee6f", "struct _IO_FILE"))

    def test_kind_name_and_size_must_agree(self) -> None:
        self.assertIn("size", record_problem(rec(L.KIND_BASE, 8), "int$32", "int") or "")
        self.assertIn("named", record_problem(rec(L.KIND_POINTER, 8), "point", "struct point") or "")
        self.assertIn("void", record_problem(rec(L.KIND_VOID, 0), "outer", "struct outer") or "")
        self.assertIn("disagree", record_problem(rec(L.KIND_STRUCT, 8), "outer", "struct flags") or "")
        unique = record_problem(rec(L.KIND_STRUCT, 8), "outer$1a2b3c4d", "struct flags")
        self.assertIn("disagree", unique or "")
        self.assertIn("kind", record_problem(rec(0x7F, 8), "outer", "struct outer") or "")

    def test_derived_types_spell_their_related_type(self) -> None:
        point = UType(0x1000, "point", "struct point", 12, L.KIND_STRUCT)
        ok = UType(0x2000, "__ARR3_point", "struct point[3]", 36, L.KIND_ARRAY, count=3)
        self.assertIsNone(derived_problem(ok, point))
        short = UType(0x2000, "__ARR3_point", "struct point[3]", 24, L.KIND_ARRAY, count=3)
        self.assertIn("size", derived_problem(short, point) or "")
        other = UType(0x3000, "__PTR_flags", "struct flags *", 8, L.KIND_POINTER)
        self.assertIn("points to", derived_problem(other, point) or "")

    def test_the_note_names_address_and_check(self) -> None:
        self.assertEqual(damage_note(0x10, "x"), "the runtime's tables are damaged at 0x10: x")
        self.assertTrue(damage_note(0x10, "the debugger's mappings: y").startswith("the core's mapping list"))


if __name__ == "__main__":
    unittest.main()
