"""The decoder's C++ names (allocs_decoder/cxx.py): the small demangler and the Target's own."""
from __future__ import annotations

import os
import sys
import unittest
from typing import Optional

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

from allocs_decoder.cxx import cxa_demangle, nested_name, readable_name, simple_demangle  # noqa: E402


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
