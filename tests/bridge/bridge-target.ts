// What test-programs/bridge_target.c's probes say the bridge must answer: the queries to ask at
// its stop (live or in a core) and the checks of the answers, field by field, against the probes,
// its stats line (the runtime's counters) and its heap line (the kernel's [heap] and the break).
import { strict as assert } from "node:assert";
import { type Json, type Probes, hex } from "./gdb";

const PROBES = [
  "heap_interior",
  "nested",
  "union_member",
  "global",
  "static_local",
  "literal",
  "argv0",
  "mmap",
  "pool",
  "pool_gap",
  "freed",
  "thread_local",
];

export function infoQueries(probes: Probes): Array<[string, string]> {
  const q: Array<[string, string]> = [];
  for (const name of PROBES) {
    const p = probes.get(name);
    assert.ok(p, `the program printed no probe ${name}`);
    q.push([name, `alloc info --json probe_addr[${p.index}]`]);
  }
  q.push(["census", "alloc census --json"], ["maps", "alloc maps --json"]);
  return q;
}

function stats(stdout: string): Record<string, number> {
  const m = /^stats present=1 live_chunks=(\d+) live_bytes=(\d+) total_allocs=(\d+) total_frees=(\d+)$/m.exec(
    stdout,
  );
  assert.ok(m, `no stats line in:\n${stdout}`);
  return { liveChunks: +m[1], liveBytes: +m[2], totalAllocs: +m[3], totalFrees: +m[4] };
}

function checkHeapLike(name: string, p: Record<string, string>, d: Json, allocator: string): void {
  assert.equal(d.allocator, allocator, `${name}: allocator`);
  assert.equal(d.base, hex(p.base), `${name}: base`);
  assert.equal(d.size, Number(p.size), `${name}: size`);
  assert.equal(d.offset, Number(p.offset), `${name}: offset`);
  assert.equal(d.state, "live", `${name}: state`);
  assert.equal(d.address, hex(p.addr), `${name}: address`);
}

function checkSite(name: string, p: Record<string, string>, d: Json, lineKey = "line"): void {
  assert.equal(d.site.function, p.func, `${name}: site function`);
  assert.ok(String(d.site.file).endsWith("bridge_target.c"), `${name}: site file ${d.site.file}`);
  assert.equal(d.site.line, Number(p[lineKey]), `${name}: site line`);
  assert.match(d.site.pc, /^0x[0-9a-f]+$/, `${name}: site pc`);
}

/** The program's `heap` line: the kernel's [heap] mapping and the break. */
function heapLine(stdout: string): { lo: bigint; hi: bigint; brk: bigint } {
  const m = /^heap lo=(0x[0-9a-f]+) hi=(0x[0-9a-f]+) break=(0x[0-9a-f]+)$/m.exec(stdout);
  assert.ok(m, `no heap line in:\n${stdout}`);
  return { lo: BigInt(m[1]), hi: BigInt(m[2]), brk: BigInt(m[3]) };
}

/** The brk heap in `alloc maps` and in a heap chunk's chain: the [heap] mapping as the kernel
 * has it, the brk level inside from its start to the break (or, when the runtime's record of the
 * break is stale, to the mapping's end: all a core can tell). */
function checkBrkHeap(where: string, stdout: string, maps: Json, chain: Json[]): void {
  const { lo, hi, brk } = heapLine(stdout);
  assert.ok(lo > 0n, `${where}: the program has a brk heap`);
  const mapping = maps.maps.find((n: Json) => n.name === "[heap]");
  assert.ok(
    mapping,
    `${where}: no [heap] in alloc maps: ${JSON.stringify(maps.maps.map((n: Json) => n.name))}`,
  );
  assert.deepEqual(
    [mapping.allocator, mapping.base, mapping.size],
    ["mmap", hex(String(lo)), Number(hi - lo)],
  );
  const level = mapping.children.find((n: Json) => n.allocator === "brk");
  assert.ok(level, `${where}: no brk level in the [heap] mapping`);
  assert.equal(level.base, hex(String(lo)), `${where}: brk base`);
  const end = BigInt(level.base) + BigInt(level.size);
  assert.ok(end === brk || end === hi, `${where}: brk ends at ${end.toString(16)}, not the break`);
  assert.deepEqual(
    chain.slice(0, 2).map((l: Json) => [l.allocator, l.base, l.size]),
    [
      ["mmap", mapping.base, mapping.size],
      ["brk", level.base, level.size],
    ],
    `${where}: the chain agrees with alloc maps`,
  );
}

/** Every probe's answer, field by field, from a run whose program printed `stdout`. */
export function checkAll(where: string, probes: Probes, got: Map<string, unknown>, stdout: string) {
  const programStats = stats(stdout);
  const a = (name: string): Json => {
    const d = got.get(name) as Json;
    assert.ok(d, `${where}: no answer for ${name}`);
    for (const key of [
      "address",
      "allocator",
      "base",
      "size",
      "offset",
      "type",
      "uniqtype",
      "path",
      "pathType",
    ]) {
      assert.ok(key in d, `${where}: ${name} lacks ${key}`);
    }
    return d;
  };
  const p = (name: string) => probes.get(name) as Record<string, string>;

  for (const name of ["heap_interior", "nested", "union_member"]) {
    const d = a(name);
    checkHeapLike(`${where} ${name}`, p(name), d, "__default_lib_malloc");
    checkSite(`${where} ${name}`, p(name), d);
    assert.equal(typeof d.site.seq, "number");
    const leaf = d.chain[d.chain.length - 1];
    assert.deepEqual(leaf, { allocator: "__default_lib_malloc", base: d.base, size: d.size, name: null });
  }
  assert.ok(a("heap_interior").site.seq < a("nested").site.seq, "sequence numbers grow");

  const g = a("global");
  checkHeapLike(`${where} global`, p("global"), g, "static");
  assert.equal(g.site.symbol, "global_counts");
  assert.deepEqual(
    g.chain.map((l: Json) => l.allocator).filter((x: string) => x.startsWith("elf")),
    ["elf_file", "elf_segment"],
  );

  const s = a("static_local");
  checkHeapLike(`${where} static_local`, p("static_local"), s, "static");
  assert.match(s.site.symbol, /^hits(\.\d+)?$/);

  const lit = a("literal");
  checkHeapLike(`${where} literal`, p("literal"), lit, "static");
  assert.equal(lit.site.symbol, null);
  assert.equal(lit.site.section, ".rodata");

  const av = a("argv0");
  checkHeapLike(`${where} argv0`, p("argv0"), av, "auxv");
  assert.equal(av.site.symbol, "argv[0]");
  assert.deepEqual(av.chain.map((l: Json) => l.allocator).slice(-3), ["stack", "auxv", "auxv"]);

  const m = a("mmap");
  checkHeapLike(`${where} mmap`, p("mmap"), m, "mmap");
  checkSite(`${where} mmap`, p("mmap"), m);

  const pool = a("pool");
  checkHeapLike(`${where} pool`, p("pool"), pool, "bridge_pool");
  checkSite(`${where} pool`, p("pool"), pool);
  const [chunk, obj] = pool.chain.slice(-2);
  assert.deepEqual(chunk, {
    allocator: "__default_lib_malloc",
    base: hex(p("pool").chunk),
    size: 4096,
    name: null,
  });
  assert.equal(obj.allocator, "bridge_pool");

  const gap = a("pool_gap");
  checkHeapLike(`${where} pool_gap`, p("pool_gap"), gap, "__default_lib_malloc");
  assert.equal(gap.site.line, Number(p("pool").chunkline));

  const f = a("freed");
  assert.equal(f.state, "freed", `${where}: freed state`);
  assert.equal(f.base, hex(p("freed").base));
  assert.equal(f.allocator, "__default_lib_malloc");

  const t = a("thread_local");
  assert.equal(t.allocator, "stackframe", `${where}: thread_local allocator`);
  assert.equal(t.state, "live");
  assert.equal(t.site.function, "worker_outer");
  assert.equal(t.site.variable, "outer_local");
  assert.ok(t.site.frame > 0, "a caller's frame, not the innermost");
  assert.ok(BigInt(t.base) <= BigInt(t.address) && BigInt(t.address) < BigInt(t.base) + BigInt(t.size));
  assert.equal(t.chain[t.chain.length - 2].allocator, "stack");

  const c = got.get("census") as Json;
  assert.ok(c, `${where}: no census`);
  assert.equal(c.total.chunks, programStats.liveChunks, `${where}: census chunks = alloc_get_stats`);
  assert.equal(c.total.bytes, programStats.liveBytes, `${where}: census bytes = alloc_get_stats`);
  assert.equal(c.runtimeStats.liveChunks, programStats.liveChunks);
  assert.equal(c.runtimeStats.totalAllocs, programStats.totalAllocs);
  assert.equal(c.total.poolObjects, 1);
  const top = c.rows.find((r: Json) => r.site.line === Number(p("pool").chunkline));
  assert.deepEqual([top.count, top.bytes], [1, 4096]);
  checkBrkHeap(where, stdout, got.get("maps"), a("heap_interior").chain);
}
