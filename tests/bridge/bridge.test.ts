// The gdb bridge against real gdb, real programs and real cores: the decoder's unit tests, then
// `alloc info --json` field by field for every kind of address in test-programs/bridge_target.c,
// live, on a kernel core and on a gcore; census against the runtime's counters; the brk heap in
// alloc maps and in the chain where the kernel has it; bad inputs.
import { strict as assert } from "node:assert";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { ROOT, buildProgram, hasCommand, parseProbes } from "../lib/programs";
import {
  BIN,
  GDB_TIMEOUT_MS,
  type Json,
  type Probes,
  allocErrors,
  allocsGdb,
  answers,
  hex,
  makeGcore,
  makeKernelCore,
  plainGdb,
  queryCommands,
  queryCore,
  runToStop,
  skipWithoutKernelCores,
} from "./gdb";

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

function infoQueries(probes: Probes): Array<[string, string]> {
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
function checkAll(where: string, probes: Probes, got: Map<string, unknown>, stdout: string) {
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

describe("gdb bridge", function () {
  this.timeout(10 * GDB_TIMEOUT_MS);
  let exe: string;
  let dir: string;

  before(function () {
    if (!hasCommand("gdb")) this.skip();
    exe = buildProgram("bridge_target", { api: true });
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "allocs-bridge-"));
  });
  after(() => dir && fs.rmSync(dir, { recursive: true, force: true }));

  it("passes the decoder's unit tests (synthetic memory images, under gdb's python3.11)", () => {
    const r = spawnSync("/usr/bin/python3", ["-m", "unittest", "discover", "-s", "tests"], {
      cwd: path.join(ROOT, "gdb-python-bridge"),
      encoding: "utf8",
      timeout: 120_000,
    });
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stderr, /\nOK/);
  });

  it("lists the alloc commands in `help alloc`", () => {
    const r = plainGdb(["-batch", "-ex", "help alloc"]);
    for (const c of [
      "info",
      "whatis",
      "whereis",
      "whyis",
      "print",
      "ls",
      "census",
      "maps",
      "type",
      "who-points-to",
    ]) {
      assert.match(r.stdout, new RegExp(`^alloc ${c} --`, "m"), `help alloc lists ${c}`);
    }
  });

  it("caches its compiled modules in the user's cache directory and leaves Python's settings as they were", () => {
    const show = ["-ex", 'python import sys; print("bytecode", sys.pycache_prefix, sys.dont_write_bytecode)'];
    const plain = spawnSync("gdb", ["-nx", "-q", "-batch", ...show], {
      encoding: "utf8",
      timeout: GDB_TIMEOUT_MS,
    });
    const cache = path.join(dir, "xdg-cache");
    const r = allocsGdb(show, { env: { XDG_CACHE_HOME: cache } });
    assert.match(plain.stdout, /^bytecode /m);
    assert.equal(/^bytecode .*$/m.exec(r.stdout)?.[0], /^bytecode .*$/m.exec(plain.stdout)?.[0]);
    const pyc = spawnSync("find", [cache, "-name", "session.*.pyc", "-path", "*allocs_decoder*"], {
      encoding: "utf8",
    });
    assert.match(pyc.stdout, /allocs\/pycache\/.*allocs_decoder\/session\.cpython-\d+\.pyc/);
  });

  describe("live process", () => {
    let run: ReturnType<typeof allocsGdb>;
    let probes: Probes;
    before(() => {
      // Probe addresses are read from the program's own probe_addr[] at the breakpoint.
      probes = parseProbes(runToStop(exe, "bridge_stop").stdout);
      const cmds = queryCommands([
        ...infoQueries(probes),
        ["whatis", "alloc whatis --json probe_addr[0]"],
        ["whereis", "alloc whereis --json probe_addr[0]"],
        ["whyis", "alloc whyis --json probe_addr[0]"],
        ["print", "alloc print --json (void *)probe_addr[1]"],
        ["ls", "alloc ls --json --site make_points"],
        ["who", "alloc who-points-to --json probe_addr[0]"],
        ["garbage", "alloc info --json 0x10"],
      ]);
      run = runToStop(exe, "bridge_stop", cmds);
    });

    it("describes every kind of address field by field", () => {
      assert.doesNotMatch(run.stderr, /Traceback/);
      checkAll("live", parseProbes(run.stdout), answers(run.stdout), run.stdout);
    });

    it("answers whatis / whereis / whyis / print / ls / who-points-to / maps", () => {
      const got = answers(run.stdout);
      const p = parseProbes(run.stdout);
      const what = got.get("whatis") as Json;
      assert.equal(what.type, null);
      assert.equal(what.offset, Number(p.get("heap_interior")?.offset));
      const where = got.get("whereis") as Json;
      assert.deepEqual(
        where.chain.map((l: Json) => l.allocator),
        ["mmap", "brk", "__default_lib_malloc"],
      );
      const why = got.get("whyis") as Json;
      assert.equal(why.site.function, "make_points");
      const pr = got.get("print") as Json;
      assert.equal(pr.description.base, hex(p.get("nested")?.base));
      assert.equal(pr.bytes.length, 2 * Number(p.get("nested")?.size));
      const ls = got.get("ls") as Json;
      assert.deepEqual(
        ls.entries.map((e: Json) => e.base),
        [hex(p.get("heap_interior")?.base)],
      );
      const who = got.get("who") as Json;
      assert.equal(who.typed, false);
      assert.ok(
        who.referrers.some((r: Json) => r.region === "stack" && r.description?.site?.variable === "pts"),
        "main's local `pts` points to the array",
      );
      assert.ok(
        who.referrers.some(
          (r: Json) => r.region === "static" && r.description?.site?.symbol === "probe_addr",
        ),
      );
      const maps = got.get("maps") as Json;
      assert.ok(maps.maps.some((m: Json) => m.children.some((c: Json) => c.allocator === "stack")));
      const garbage = got.get("garbage") as Json;
      assert.equal(garbage.state, "unknown");
      assert.equal(garbage.allocator, null);
    });
  });

  describe("kernel core", () => {
    let core: string;
    let stdout: string;
    before(function () {
      skipWithoutKernelCores(this);
      const kdir = fs.mkdtempSync(path.join(dir, "kernel-"));
      ({ stdout, core } = makeKernelCore(exe, ["abort"], kdir));
    });

    it("describes every kind of address field by field", () => {
      const probes = parseProbes(stdout);
      checkAll("kernel core", probes, queryCore(exe, core, infoQueries(probes)), stdout);
    });

    it("answers through `allocs core --json` and the -alloc-describe MI command", () => {
      const probes = parseProbes(stdout);
      const idx = probes.get("heap_interior")?.index;
      const r = spawnSync(
        process.execPath,
        [BIN, "core", exe, core, "--json", `probe_addr[${idx}]`, "nosuch"],
        {
          encoding: "utf8",
          timeout: GDB_TIMEOUT_MS,
        },
      );
      assert.equal(r.status, 1, "an expression that fails makes the status 1");
      const [ok, bad] = JSON.parse(r.stdout) as Json[];
      assert.equal(ok.description.base, hex(probes.get("heap_interior")?.base));
      assert.match(bad.error, /^alloc: No symbol "nosuch"/);
      const mi = spawnSync(
        "gdb",
        [
          "-nx",
          "-q",
          "--interpreter=mi2",
          "-iex",
          `source ${path.join(ROOT, "gdb-python-bridge", "allocs_gdb.py")}`,
          exe,
          core,
        ],
        {
          encoding: "utf8",
          timeout: GDB_TIMEOUT_MS,
          input: `-alloc-describe probe_addr[${idx}]\n-alloc-describe --json probe_addr[${idx}]\n-alloc-describe\n-gdb-exit\n`,
        },
      );
      // The first result may also carry the frame gdb selected when it loaded the core.
      const done = mi.stdout.split("\n").filter((l) => l.startsWith("^"));
      assert.match(
        done[0],
        /^\^done,(frame=\{.*\},)?description=\{address="0x[0-9a-f]+",allocator="__default_lib_malloc",/,
      );
      assert.match(done[0], /site=\{pc="0x[0-9a-f]+",function="make_points"/);
      const j = /^\^done,json="(.*)"$/.exec(done[1]);
      assert.ok(j, done[1]);
      assert.equal(JSON.parse(JSON.parse(`"${j[1]}"`)).base, hex(probes.get("heap_interior")?.base));
      assert.match(done[2], /^\^error,msg="usage: -alloc-describe/);
    });

    it("gives one-line errors for a truncated core, a corrupted runtime header, another program's core", () => {
      const probes = parseProbes(stdout);
      const idx = probes.get("heap_interior")?.index;
      const bytes = fs.readFileSync(core);
      const truncated = path.join(dir, "truncated.core");
      fs.writeFileSync(truncated, bytes.subarray(0, Math.floor(bytes.length / 3)));
      const corrupted = path.join(dir, "corrupted.core");
      const copy = Buffer.from(bytes);
      const magic = Buffer.from("ALLOCS\x01\x00", "latin1");
      let n = 0;
      for (let at = copy.indexOf(magic); at >= 0; at = copy.indexOf(magic, at + 1), n++)
        copy.write("BADMAG", at, "latin1");
      assert.ok(n > 0, "the runtime's header is in the core");
      fs.writeFileSync(corrupted, copy);
      const cases: Array<[string, string, string[], RegExp]> = [
        ["truncated", exe, [truncated], /^alloc: /],
        ["corrupted", exe, [corrupted], /^alloc: __allocs_root at 0x[0-9a-f]+ has magic b'BADMAG/],
        ["other program", "/bin/true", [core], /^alloc: /],
      ];
      for (const [label, prog, files, expected] of cases) {
        const r = allocsGdb([
          "-ex",
          `alloc info --json probe_addr[${idx}]`,
          "-ex",
          "alloc info 0xdeadbeef",
          "-ex",
          "alloc census",
          "-ex",
          "print 6*7",
          prog,
          ...files,
        ]);
        assert.doesNotMatch(r.stderr + r.stdout, /Traceback/, label);
        const errs = allocErrors(r.stderr);
        if (label !== "other program") assert.match(errs[0] ?? "", expected, `${label}: ${r.stderr}`);
        for (const e of errs) assert.ok(!e.includes("\n"));
        assert.match(r.stdout, /^\$1 = 42$/m, `${label}: gdb still answers after the error`);
      }
    });
  });

  describe("gcore", () => {
    it("describes every kind of address field by field", () => {
      const gcore = path.join(dir, "gcore.core");
      const first = makeGcore(exe, "bridge_stop", gcore);
      const probes = parseProbes(first.stdout);
      checkAll("gcore", probes, queryCore(exe, gcore, infoQueries(probes)), first.stdout);
    });
  });

  describe("a process without the runtime", () => {
    it("says so in one note and still gives mapping, section and symbol", () => {
      const r = plainGdb([
        "-batch",
        "-ex",
        "break bridge_stop",
        "-ex",
        "run",
        "-ex",
        "echo @@g\\n",
        "-ex",
        "alloc info --json &global_counts[2]",
        "-ex",
        "echo @@h\\n",
        "-ex",
        "alloc info --json probe_addr[0]",
        "--args",
        exe,
        "stop",
      ]);
      assert.doesNotMatch(r.stderr, /Traceback/);
      const got = answers(r.stdout);
      const g = got.get("g") as Json;
      assert.equal(g.runtime, false);
      assert.equal(g.notes.length, 1);
      assert.match(g.notes[0], /runtime is not loaded/);
      assert.equal(g.allocator, "static");
      assert.equal(g.site.symbol, "global_counts");
      assert.equal(g.offset, 8);
      assert.equal(g.chain[0].allocator, "mmap");
      const h = got.get("h") as Json;
      assert.equal(h.runtime, false);
      assert.equal(h.chain[0]?.name, "[heap]");
    });
  });
});
