// The checks of test-programs/cxx_shapes.cpp's answers, shared by the gdb (cxx.test.ts) and LLDB
// (lldb-cxx.test.ts) tests: every heap object field by field against the program's own ground
// truth (sizeof, the array cookie's size_t, capacity(), typeid demangled, __LINE__), the dynamic
// type of an object only its vtable names, and a static's demangled name.
import { strict as assert } from "node:assert";
import { parseProbes } from "../lib/programs";
import { type Json, type Probes, hex } from "./gdb";

export const PROBES = [
  "circle",
  "rect",
  "tracked",
  "points",
  "one",
  "vector",
  "string",
  "map_node",
  "shared",
  "placed",
  "thrown",
  "derived",
  "list_node",
  "nested",
];

/** The class name typeid gives (`geo::Circle`) as the metadata spells the class. */
function classSpelling(typeidName: string): string {
  return `struct ${typeidName}`;
}

export function queries(probes: Probes): Array<[string, string]> {
  return [
    ...PROBES.map((name): [string, string] => {
      const p = probes.get(name);
      assert.ok(p, `the program printed no probe ${name}`);
      return [name, `alloc info --json probe_addr[${p.index}]`];
    }),
    ["registry", "alloc info --json &registry"],
  ];
}

export function check(where: string, variant: string, stdout: string, got: Map<string, unknown>): void {
  const probes = parseProbes(stdout);
  const sizes = /^sizes circle=\d+ rect=\d+ tracked=\d+ point=(\d+)$/m.exec(stdout);
  assert.ok(sizes, `no sizes line in:\n${stdout}`);
  const pointSize = Number(sizes[1]);
  for (const name of PROBES) {
    const p = probes.get(name)!;
    const d = got.get(name) as Json;
    const what = `${where} ${variant} ${name}`;
    assert.ok(d, `${what}: no answer`);
    assert.equal(d.allocator, "__default_lib_malloc", `${what}: allocator`);
    assert.equal(d.state, "live", `${what}: state`);
    assert.equal(d.base, hex(p.base), `${what}: base`);
    assert.equal(d.size, Number(p.size), `${what}: size`);
    assert.equal(d.offset, Number(BigInt(p.addr) - BigInt(p.base)), `${what}: offset`);
  }
  const get = (n: string): Json => got.get(n) as Json;
  const probe = (n: string): Record<string, string> => probes.get(n)!;
  // new T: the class, and the site is the new-expression's line in main (never libstdc++).
  for (const [name, pathTo] of [
    ["circle", ".radius"],
    ["rect", ""],
  ]) {
    const d = get(name);
    assert.equal(d.type, classSpelling(probe(name).type), `${where} ${variant} ${name}: type`);
    assert.equal(d.path, pathTo, `${where} ${variant} ${name}: path`);
  }
  for (const name of ["circle", "rect", "tracked", "points", "one", "thrown", "derived"]) {
    const d = get(name);
    assert.match(String(d.site?.function), /^main\b/, `${where} ${variant} ${name}: site function`);
    assert.ok(String(d.site?.file).endsWith("cxx_shapes.cpp"), `${where} ${variant} ${name}: site file`);
    assert.equal(d.site?.line, Number(probe(name).line), `${where} ${variant} ${name}: site line`);
  }
  // new Tracked[3]: the cookie (a size_t count) then the elements, which run to the chunk's end:
  // a trailing array, spelled with the count the chunk holds (docs/type-names.md, __FLEX). clang++
  // -O2 initialises the block with vector stores and describes no variable for it: that site
  // stays unknown.
  if (variant !== "clang++ -O2") {
    assert.equal(
      get("tracked").type,
      `new ${classSpelling(probe("tracked").type)}[] (__elements[3])`,
      `${variant} tracked: type`,
    );
    assert.equal(get("tracked").path, ".__elements[2].tag[1]", `${where} ${variant} tracked: path`);
  }
  assert.equal(get("points").type, `${classSpelling(probe("points").type)}[5]`, `${variant} points: type`);
  assert.equal(get("points").path, "[3].y", `${where} ${variant} points: path`);
  assert.equal(get("one").type, classSpelling(probe("one").type), `${where} ${variant} one: type`);
  assert.equal(get("one").path, ".y", `${where} ${variant} one: path`);
  // Containers and make_shared: the site is the user's call into the library (push_back,
  // operator[], make_shared), never the library's allocate; the library frame is its detail.
  for (const [name, via] of [
    // out of line: the function the user's line calls; inlined there: the innermost library code
    [
      "vector",
      /^std::(vector<geo::Point, .*>::(push_back|emplace_back)|__new_allocator<geo::Point>::allocate)/,
    ],
    ["map_node", /^std::(map<int, .*>::operator\[\]|_Rb_tree<|__new_allocator<std::_Rb_tree_node<)/],
    [
      "shared",
      /^std::(make_shared<geo::Circle|allocate_shared<|__new_allocator<std::_Sp_counted_ptr_inplace)/,
    ],
  ] as const) {
    const site = get(name).site;
    const what = `${where} ${variant} ${name}`;
    assert.match(String(site?.function), /^main\b/, `${what}: site function ${JSON.stringify(site)}`);
    assert.ok(String(site?.file).endsWith("cxx_shapes.cpp"), `${what}: site file`);
    assert.equal(site?.line, Number(probe(name).line), `${what}: site line`);
    assert.match(String(site?.via?.function), via, `${what}: site.via ${JSON.stringify(site?.via)}`);
    assert.match(String(site?.via?.file), /\/c\+\+\/[^/]+\//, `${what}: site.via file`);
  }
  // A list's node: sited at push_back, its value typed inside the node's storage.
  const listNode = get("list_node");
  assert.match(listNode.type, /^struct std::_List_node<long( int)?>\[1\]$/, `${where} ${variant} list node`);
  assert.equal(listNode.path, "[0]._M_storage._M_storage", `${where} ${variant} list node: path`);
  assert.match(String(listNode.site?.function), /^main\b/, `${where} ${variant} list node: site`);
  assert.equal(listNode.site?.line, Number(probe("list_node").line), `${where} ${variant} list node: line`);
  // Library code allocating two types (vector<vector<int>>'s push_back copies the row): typed,
  // its site left inside the library (docs: not stepped over).
  assert.match(
    get("nested").type,
    /^struct std::vector<int, std::allocator<int> ?>\[1\]$/,
    `${where} ${variant} nested`,
  );
  // Containers: std::allocator<T>::allocate's T (the buffer holds capacity() elements).
  const vec = get("vector");
  assert.equal(
    vec.type,
    `${classSpelling(probe("vector").type)}[${vec.size / pointSize}]`,
    `${variant} vector: type`,
  );
  assert.equal(vec.path, "[4].y", `${where} ${variant} vector: path`);
  assert.match(
    get("map_node").type,
    /^struct std::_Rb_tree_node<std::pair<.*>\[1\]$/,
    `${variant} map node: type`,
  );
  assert.match(get("map_node").path, /^\[0\]\._M_storage/, `${variant} map node: path`);
  // The node's value and make_shared's object are typed inside their raw storage (cxx-storage.ts).
  assert.match(
    get("map_node").path,
    /^\[0\]\._M_storage\._M_storage\.second\b/,
    `${variant} map node: value`,
  );
  assert.match(
    get("shared").type,
    /^struct std::_Sp_counted_ptr_inplace<geo::Circle, .*>\[1\]$/,
    `${variant} shared`,
  );
  // shared.get(): the Circle inside the control block's storage (at its first member, the vptr)
  assert.match(get("shared").path, /^\[0\]\._M_impl\._M_storage\._M_storage\b/, `${variant} shared: path`);
  // A std::string's buffer: allocated inside libstdc++ (no debug information), typed by the
  // bridge from the site's function, std::basic_string<char>'s code; in C++20 by the program's
  // own basic_string<char> instances, typed by the metadata and sited at the user's line.
  const str = get("string");
  assert.equal(str.type, `char[${probe("string").size}]`, `${where} ${variant} string: type`);
  assert.equal(str.path, `[${Number(BigInt(probe("string").addr) - BigInt(probe("string").base))}]`);
  if (variant.includes("c++20")) {
    assert.match(String(str.site?.function), /^main\b/, `${where} ${variant} string: site`);
    assert.equal(str.site?.line, Number(probe("string").line), `${where} ${variant} string: site line`);
    assert.match(String(str.site?.via?.function), /^std::(__cxx11::basic_string<char|__new_allocator<char>)/);
  } else
    assert.match(
      String(str.site?.function),
      /^std::__cxx11::basic_string<char/,
      `${where} ${variant} string: site`,
    );
  // An object in raw memory: only its vtable pointer names its class.
  const placed = get("placed");
  assert.equal(placed.type, classSpelling(probe("placed").type), `${where} ${variant} placed: type`);
  assert.equal(placed.path, ".centre.y", `${where} ${variant} placed: path`);
  assert.ok(
    placed.notes.some((n: string) => /^dynamic type struct geo::Circle, from its vtable pointer/.test(n)),
    `${where} ${variant} placed: notes ${JSON.stringify(placed.notes)}`,
  );
  // A non-polymorphic derived class received as its base: the one derived class of that size.
  assert.equal(get("derived").type, classSpelling(probe("derived").type), `${where} ${variant} derived`);
  assert.equal(get("derived").path, ".extra[1]", `${where} ${variant} derived: path`);
  // An exception in flight: libstdc++'s header, then the thrown object; the site is the throw.
  assert.equal(
    get("thrown").type,
    `thrown ${classSpelling(probe("thrown").type)}`,
    `${where} ${variant} thrown`,
  );
  assert.equal(get("thrown").path, ".__thrown.what[3]", `${where} ${variant} thrown: path`);
  // A file-scope static: `registry`, not `_ZL8registry` (clang adds the ABI tag of its type,
  // `_ZL8registryB5cxx11`, which demangles to `registry[abi:cxx11]`).
  const reg = get("registry");
  assert.equal(reg.allocator, "static", `${where} ${variant} registry: allocator`);
  assert.match(
    reg.chain[reg.chain.length - 1].name,
    /^registry(\[abi:cxx11\])?$/,
    `${where} ${variant} registry`,
  );
}
