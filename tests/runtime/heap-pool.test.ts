// Pool objects: a custom allocator registers objects carved out of a malloc chunk; addresses
// in them resolve to the pool object (its allocator, base, size, site), with the chunk as the
// parent level. Bad registrations are refused; freeing the chunk drops its objects.
import { strict as assert } from "node:assert";
import { buildProgram, parseProbes, runPreloaded } from "../lib/programs";

const heapRuntime = process.env.ALLOCS_HEAP_TEST_RUNTIME || undefined; // see heap.test.ts

describe("runtime heap: pool objects of custom allocators", function () {
  let probes: Map<string, Record<string, string>>;
  const get = (name: string) => {
    const p = probes.get(name);
    assert.ok(p, `probe ${name} missing`);
    return p;
  };

  before(function () {
    const exe = buildProgram("heap_pool", { api: true });
    const r = runPreloaded(exe, [], { runtime: heapRuntime });
    assert.equal(r.status, 0, `heap_pool failed (${r.signal}):\n${r.stderr}`);
    assert.match(r.stdout, /^done$/m);
    probes = parseProbes(r.stdout);
  });

  it("registers a named custom allocator once", () => {
    assert.deepEqual(get("registered"), { name: "mypool", custom: "1", same: "1" });
  });

  it("resolves addresses in pool objects to the object, with the chunk as parent", () => {
    const cases: [string, number, number][] = [
      ["obj1", 100, 16],
      ["obj2", 8, 196],
      ["obj3", 8, 204],
      ["obj4", 3000, 1000],
    ];
    for (const [name, size, offset] of cases) {
      const p = get(name);
      assert.equal(p.err, "0", name);
      assert.equal(p.alloc, "mypool", `${name}: allocator`);
      assert.equal(p.base, "0", `${name}: base`);
      assert.equal(Number(p.size), size, `${name}: size`);
      const site = Number(p.site);
      assert.ok(site > 0 && site < 200, `${name}: site ${site} in the pool's caller`);
      assert.equal(p.parent, "__default_lib_malloc", `${name}: parent level`);
      assert.equal(Number(p.parent_base), -offset, `${name}: parent base = the chunk`);
      assert.equal(p.parent_size, "4096", `${name}: parent size`);
    }
    assert.deepEqual(get("obj1_oneliners"), { alloc: "mypool", base: "0", size: "100" });
  });

  it("an address between objects is the chunk itself", () => {
    const gap = get("gap");
    assert.equal(gap.alloc, "__default_lib_malloc");
    assert.equal(gap.base, "0");
    assert.equal(gap.size, "4096");
    assert.equal(get("gap_chunk_size").value, "4096");
  });

  it("refuses objects outside a chunk, overlapping, past the chunk, empty, or of a built-in allocator", () => {
    for (const n of ["bad_outside", "bad_overlap", "bad_past_chunk", "bad_zero", "bad_allocator"]) {
      assert.equal(get(n).err, "4", `${n}: ALLOCS_ERR_INVALID`);
    }
  });

  it("alloc_walk_live visits the pool objects and the chunk", () => {
    assert.deepEqual(get("walk"), { pool: "4", arena: "1" });
  });

  it("unregistering an object reverts its addresses to the chunk, and twice is UNKNOWN", () => {
    assert.deepEqual(get("unregister"), { err: "0", again: "2" });
    const p = get("after_unregister");
    assert.equal(p.alloc, "__default_lib_malloc");
    assert.equal(p.base, "0");
    assert.equal(get("neighbour_kept").alloc, "mypool", "the other object in the granule stays");
  });

  it("freeing the chunk drops its objects", () => {
    assert.equal(get("after_free").pool_objects, "0");
    const p = get("reused_chunk");
    assert.equal(p.alloc, "__default_lib_malloc");
    assert.equal(p.base, "0");
  });
});
