// typegen's C++ pieces that need no program: vtable and typeinfo symbol names (cxx.ts), and the
// scan after operator new (cxx-scan.ts) on hand-assembled x86-64 code: the constructor called
// on the new memory, a vtable stored into its first word, and a `new T[n]`'s array cookie; which
// functions are the standard library's (cxx-chains.ts).
import { strict as assert } from "node:assert";
import { vtableClass } from "../../typegen/src/sites/cxx";
import { scanNew } from "../../typegen/src/sites/cxx-scan";
import { isLibraryFunction } from "../../typegen/src/sites/cxx-chains";

describe("typegen: C++ sites (unit)", () => {
  it("reads the class a vtable or typeinfo symbol names", () => {
    assert.deepEqual(vtableClass("_ZTV6Circle"), ["Circle"]);
    assert.deepEqual(vtableClass("_ZTVN3geo6CircleE"), ["geo", "Circle"]);
    assert.deepEqual(vtableClass("_ZTVNSt3foo3BarE"), ["std", "foo", "Bar"]);
    assert.deepEqual(vtableClass("_ZTI4Oops", "_ZTI"), ["Oops"]);
    for (const bad of ["_ZTVN3geo6CircleIiEE", "_ZTV", "_ZTVN3geoE6Circle", "_ZTI4Oops", "_ZTV99x"])
      assert.equal(vtableClass(bad), undefined, bad);
  });

  it("tells the standard library's functions by their mangled names, else their headers", () => {
    const none = (): string | undefined => undefined;
    for (const lib of [
      "_ZNSt6vectorIN3geo5PointESaIS1_EE9push_backEOS1_", // std::vector<...>::push_back
      "_ZNKSt6vectorIiSaIiEE4sizeEv", // const member
      "_ZSt11make_sharedIN3geo6CircleEJidEESt10shared_ptrIT_EDpOT0_", // free function template
      "_ZNSaIcE8allocateEm", // std::allocator<char> (Sa)
      "_ZNSt7__cxx1112basic_stringIcSt11char_traitsIcESaIcEE9_M_createERmm",
      "_ZN9__gnu_cxx13new_allocatorIiE8allocateEmPKv",
    ])
      assert.ok(isLibraryFunction(lib, none), lib);
    for (const user of ["_ZN3geo6Circle4areaEv", "_Z9raw_blockm", "_ZN3geo5StackIiE4pushEi"])
      assert.ok(!isLibraryFunction(user, () => "/usr/include/c++/12/bits/stl_vector.h"), user);
    assert.ok(isLibraryFunction("allocate", () => "/usr/include/c++/12/bits/new_allocator.h"));
    assert.ok(isLibraryFunction(undefined, () => "/usr/lib/llvm-16/include/c++/v1/vector"));
    assert.ok(!isLibraryFunction("main", () => "/src/prog.cpp"));
  });

  it("follows the new memory to a constructor call, a vtable store and an array cookie", () => {
    // mov %rax,%rbx; mov %rbx,%rdi; call +0x100 (a constructor on the new memory)
    const ctor = Buffer.from([0x48, 0x89, 0xc3, 0x48, 0x89, 0xdf, 0xe8, 0x00, 0x01, 0x00, 0x00]);
    const a = scanNew(ctor, 0, 0x1000);
    assert.deepEqual(a.thisCalls, [{ target: 0x1000 + 11 + 0x100, disp: 0, indexed: false }]);
    assert.equal(a.cookie, false);
    // lea 0x2000(%rip),%rdx; mov %rdx,(%rax) (an inlined constructor storing its vtable)
    const vt = Buffer.from([0x48, 0x8d, 0x15, 0x00, 0x20, 0x00, 0x00, 0x48, 0x89, 0x10]);
    assert.deepEqual(scanNew(vt, 0, 0x1000).firstWordAddrs, [0x1000 + 7 + 0x2000]);
    // movq $3,(%rax); lea 0x8(%rax),%rdi; call +0 (new T[3] with a cookie, then T's constructor)
    const cookie = Buffer.from([
      0x48, 0xc7, 0x00, 0x03, 0x00, 0x00, 0x00, 0x48, 0x8d, 0x78, 0x08, 0xe8, 0x00, 0x00, 0x00, 0x00,
    ]);
    const c = scanNew(cookie, 0, 0x1000);
    assert.equal(c.cookie, true);
    assert.equal(c.cookieCount, 3);
    assert.deepEqual(c.thisCalls, [{ target: 0x1000 + 16, disp: 8, indexed: false }]);
  });
});
