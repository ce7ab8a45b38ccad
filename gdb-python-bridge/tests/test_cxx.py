"""The decoder's C++ names (allocs_decoder/cxx.py): the small demangler and the Target's own."""
from __future__ import annotations

import os
import sys
import unittest
from typing import Optional

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

from allocs_decoder import layout as L  # noqa: E402
from allocs_decoder.cxx import (  # noqa: E402
    cxa_demangle, dynamic_type, nested_name, readable_name, simple_demangle,
)
from allocs_decoder.uniqtype import UType, make_array, same_type  # noqa: E402


class DemanglingTarget:
    def __init__(self, answer: Optional[str], fail: bool = False) -> None:
        self.answer, self.fail = answer, fail

    def demangle(self, name: str) -> Optional[str]:
        if self.fail:
            raise RuntimeError("debugger gone")
        return self.answer


class CxxNamesTest(unittest.TestCase):
    def test_nested_names(self) -> None:
        self.assertEqual(nested_name("6Circle"), ["Circle"])
        self.assertEqual(nested_name("N3geo6CircleE"), ["geo", "Circle"])
        self.assertEqual(nested_name("NSt3foo3barE"), ["std", "foo", "bar"])
        for bad in ("", "N3geoE6Circle", "N3geo6Circle", "N3geo6CircleIiEE", "99x", "N0E"):
            self.assertIsNone(nested_name(bad), bad)

    def test_simple_demangle(self) -> None:
        self.assertEqual(simple_demangle("_ZL8registry"), "registry")
        self.assertEqual(simple_demangle("_ZN3geo5countE"), "geo::count")
        self.assertEqual(simple_demangle("_ZTVN3geo6CircleE"), "vtable for geo::Circle")
        self.assertEqual(simple_demangle("_ZTI4Oops"), "typeinfo for Oops")
        self.assertIsNone(simple_demangle("_Z3fooi"))  # a function: parameters are not read
        self.assertIsNone(simple_demangle("registry"))

    def test_readable_name_prefers_the_target(self) -> None:
        self.assertEqual(readable_name(DemanglingTarget("registry[abi:cxx11]"), "_ZL8registryB5cxx11"),
                         "registry[abi:cxx11]")
        self.assertEqual(readable_name(DemanglingTarget(None), "_ZL8registry"), "registry")
        self.assertEqual(readable_name(DemanglingTarget(None, fail=True), "_ZL8registry"), "registry")
        self.assertEqual(readable_name(object(), "_Z3fooi"), "_Z3fooi")
        self.assertEqual(readable_name(object(), "plain_c_name"), "plain_c_name")
        self.assertIsNone(readable_name(object(), None))

    def test_cxa_demangle_spells_functions_as_gdb_does(self) -> None:
        # what LLDB 16 leaves mangled: the C++ runtime's demangling, without the return type
        mangled = ("_ZSt11make_sharedIN3geo6CircleEJidEESt10shared_ptrINSt9enable_ifIXntsrSt8is_array"
                   "IT_E5valueES5_E4typeEEDpOT0_")
        got = cxa_demangle(mangled)
        if got is None:
            self.skipTest("no libstdc++.so.6 to demangle with")
        self.assertEqual(got, "std::make_shared<geo::Circle, int, double>(int&&, double&&)")
        self.assertEqual(cxa_demangle("_ZNSaIcE8allocateEm"), "std::allocator<char>::allocate(unsigned long)")
        self.assertIsNone(cxa_demangle("_Znot_a_name"))
        self.assertIsNone(cxa_demangle("main"))


if __name__ == "__main__":
    unittest.main()


class _Symbol:
    def __init__(self, name: str, addr: int) -> None:
        self.name, self.addr = name, addr


class _Levels:
    def object_for(self, addr: int) -> object:
        return self

    def runtime_symbol(self, obj: object, addr: int) -> _Symbol:
        return _Symbol("_ZTVN3geo6CircleE", 0x1000)  # the vtable symbol; the object points 16 in


class _Reader:
    def try_u64(self, addr: int) -> int:
        return 0x1010


class _Types:
    def __init__(self, *known: UType) -> None:
        self.known = {t.name: t for t in known}

    def lookup(self, name: str) -> Optional[UType]:
        return self.known.get(name)

    def related(self, t: UType) -> Optional[UType]:
        return t.related_obj


class _Session:
    levels, reader, target = _Levels(), _Reader(), None


class DynamicTypeTest(unittest.TestCase):
    """Types read from a metadata file on disk (the runtime had not loaded them) have no address:
    they are told apart by name, kind and size, never found equal because None == None."""

    def test_types_without_addresses_are_told_apart(self) -> None:
        shape = UType(None, "geo::Shape", "struct geo::Shape", 16, L.KIND_STRUCT)
        circle = UType(None, "geo::Circle", "struct geo::Circle", 32, L.KIND_STRUCT)
        self.assertFalse(same_type(shape, circle))
        again = UType(None, "geo::Circle", "struct geo::Circle", 32, L.KIND_STRUCT)  # another file's
        self.assertTrue(same_type(circle, again))
        self.assertFalse(same_type(UType(1, "a", "struct a", 8, L.KIND_STRUCT),
                                   UType(2, "a", "struct a", 8, L.KIND_STRUCT)))

    def test_dynamic_type_of_types_read_from_disk(self) -> None:
        shape = UType(None, "geo::Shape", "struct geo::Shape", 16, L.KIND_STRUCT)
        circle = UType(None, "geo::Circle", "struct geo::Circle", 32, L.KIND_STRUCT)
        types = _Types(shape, circle)
        # a Shape * site whose chunk holds a Circle reads as Shape[2]: the vtable says Circle
        hit = dynamic_type(_Session(), types, 0x5000, make_array(shape, 2), 32)
        self.assertIsNotNone(hit)
        assert hit is not None
        self.assertIs(hit[0], circle)
        self.assertEqual(hit[1], "_ZTVN3geo6CircleE")
        # the static type already the dynamic one, and an array of the class itself: no change
        self.assertIsNone(dynamic_type(_Session(), types, 0x5000, circle, 32))
        self.assertIsNone(dynamic_type(_Session(), types, 0x5000, make_array(circle, 2), 64))
