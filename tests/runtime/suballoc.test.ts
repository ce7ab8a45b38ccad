// Nested allocators declared in liballocs's syntax (test-programs/suballoc_pools.c): a bump
// allocator and a free list carve typed structs out of malloc'd chunks, with no call of the
// runtime's API in them. With LIBALLOCS_SUBALLOC_FNS / LIBALLOCS_SUBFREE_FNS set (for
// `allocs typegen` and at run time), each object is an allocation of its own one level below its
// chunk: allocator (the suballocator's name), base, size, type and site line, checked against the
// program's own sizeof/__LINE__ (addr2line for the site) through the C API in the program, and
// against gdb's ptype/sizeof through the bridge, live and on a kernel core. Plain `gcc -g` and
// `clang -g` builds (the stub library only for the program's probes), -O0 and -O2. A bad
// declaration is one warning and changes nothing else.
import { strict as assert } from "node:assert";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { callSiteLine, nmAddress } from "../lib/binutils";
import {
  type BuildOptions,
  ROOT,
  buildProgram,
  compilerVariants,
  parseProbes,
  runPreloaded,
  typegen,
} from "../lib/programs";
import {
  Json,
  allocsGdb,
  makeKernelCore,
  queryCommands,
  answers,
  skipWithoutKernelCores,
} from "../bridge/gdb";
import { readMeta } from "../../typegen/src/meta/reader";
import { SITE_SUBALLOC } from "../../typegen/src/meta/format";
import { validate } from "../lib/json-schema";
import { cacheDir } from "../../typegen/src/meta/generate";
import { ElfFile } from "../../typegen/src/elf/elf-file";
import { buildId } from "../../typegen/src/elf/notes";

const ALLOCS = path.join(ROOT, "bin", "allocs.js");
const DECLS = {
  LIBALLOCS_SUBALLOC_FNS: "bump_alloc(pZ)p fl_alloc(pZ)p",
  LIBALLOCS_SUBFREE_FNS: "fl_free(pP)->fl_alloc",
};

/** test-programs/suballoc_pools.c with its pools in a second unit, the stub library for its
 * probes, and OPTS (compiler, flags, variant). */
function buildPools(opts: BuildOptions): string {
  return buildProgram("suballoc_pools", { api: true, extraSources: ["suballoc_pools_impl.c"], ...opts });
}

/** The objects the program makes: probe name, expected uniqtype, allocator, a gdb expression
 * inside it and the field path that expression is at. */
const OBJECTS: [string, string, string, string, string][] = [
  ["point", "point", "bump_alloc", "&g_point->y", ".y"],
  ["bumped", "node", "bump_alloc", "g_bumped->name + 3", ".name[3]"],
  ["points", "__ARR5_point", "bump_alloc", "&g_points[3].y", "[3].y"],
  ["listed", "node", "fl_alloc", "&g_listed->where.y", ".where.y"],
  ["again", "node", "fl_alloc", "&g_freed_then_reused->next", ".next"],
];

const variants = compilerVariants();

for (const [cc, opt] of variants) {
  describe(`declared suballocators: objects carved out of malloc chunks (${cc} ${opt})`, function () {
    let exe: string;
    let probes: Map<string, Record<string, string>>;
    let stderr: string;
    const probe = (name: string): Record<string, string> => {
      const p = probes.get(name);
      assert.ok(p, `probe ${name} missing`);
      return p;
    };

    before(function () {
      exe = buildPools({
        cc,
        cflags: [opt],
        variant: `o${opt.slice(2)}`,
      });
      fs.rmSync(exe + ".allocsmeta", { force: true });
      typegen(exe, { env: DECLS });
      const r = runPreloaded(exe, [], { env: DECLS });
      assert.equal(r.status, 0, r.stderr);
      assert.match(r.stdout, /^done$/m);
      probes = parseProbes(r.stdout);
      stderr = r.stderr;
    });

    it("typegen records each direct call of the suballocators and the free function", () => {
      const m = readMeta(fs.readFileSync(exe + ".allocsmeta"));
      const subs = m.sites.filter((s) => s.flags & SITE_SUBALLOC);
      // bump_alloc x3, fl_alloc x3, fl_free x1 in main (and none elsewhere)
      assert.equal(subs.length, 7, subs.map((s) => s.vaddr.toString(16)).join(" "));
    });

    it("the runtime redirects them silently", () => assert.equal(stderr, ""));

    it("the C API: each object is its own allocation below the chunk, typed and sited", () => {
      const bias = Number(probe("main").addr) - nmAddress(exe, "main");
      for (const [name, type, allocator] of OBJECTS) {
        const p = probe(name);
        assert.equal(p.err, "0", name);
        assert.equal(p.alloc, allocator, `${name}: allocator`);
        assert.equal(p.base, "0", `${name}: base`);
        assert.equal(p.size, p.sizeof, `${name}: size is the program's sizeof`);
        assert.equal(p.type, type, `${name}: type`);
        assert.equal(p.parent, "__default_lib_malloc", `${name}: one level below the malloc chunk`);
        assert.equal(p.parent_size, name === "listed" || name === "again" ? "320" : "4096", name);
        assert.equal(callSiteLine(exe, Number(p.site) - bias), Number(p.line), `${name}: site line`);
      }
    });

    it("a declared free drops the object: the slot handed out again is the new object", () => {
      assert.equal(probe("dead").reused, "1");
      // the object at that address is the second allocation's, not the freed one's
      assert.ok(Number(probe("again").line) > Number(probe("dead").line));
      assert.equal(probe("again").alloc, "fl_alloc");
    });

    it("between objects, the address is the chunk's", () => {
      const g = probe("gap");
      assert.equal(g.alloc, "__default_lib_malloc");
      assert.equal(g.size, "4096");
    });

    /** The bridge's answers for every object, from a live process or a core, against the probes
     * printed by the same run and gdb's own sizeof and ptype. */
    function checkBridge(
      answered: Map<string, unknown>,
      runProbes: Map<string, Record<string, string>>,
    ): void {
      for (const [name, type, allocator, , fieldPath] of OBJECTS) {
        const j = answered.get(name) as Json;
        const p = runProbes.get(name)!;
        assert.ok(j, `no answer for ${name}`);
        assert.deepEqual(
          validate("description.schema.json", j),
          [],
          `${name}: docs/schema/description.schema.json`,
        );
        assert.equal(j.allocator, allocator, `${name}: allocator`);
        assert.equal(j.base, "0x" + BigInt(p.obj).toString(16), `${name}: base`);
        assert.equal(j.size, Number(p.sizeof), `${name}: size`);
        assert.equal(j.uniqtype, type, `${name}: type`);
        assert.equal(j.path, fieldPath, `${name}: field path`);
        assert.equal(j.site.function, "main", `${name}: site function`);
        assert.equal(j.site.line, Number(p.line), `${name}: site line`);
        const chain = j.chain as { allocator: string; size: number }[];
        assert.equal(chain[chain.length - 1].allocator, allocator);
        assert.equal(chain[chain.length - 2].allocator, "__default_lib_malloc", `${name}: parent level`);
      }
    }

    const queries = (): Array<[string, string]> =>
      OBJECTS.map(([name, , , expr]) => [name, `alloc info --json ${expr}`] as [string, string]);

    it("gdb, live: allocator, base, size, type, field path and site line", () => {
      const r = allocsGdb(
        [
          "-ex",
          "break stop_here",
          "-ex",
          "run",
          ...queryCommands([...queries(), ["ls", "alloc ls --json --type 'struct node'"]]),
          "-ex",
          "print sizeof(struct node)",
          "-ex",
          "ptype struct node",
          exe,
        ],
        { env: DECLS },
      );
      assert.equal(r.status, 0, r.stderr);
      assert.doesNotMatch(r.stderr, /Traceback/);
      const runProbes = parseProbes(r.stdout);
      const found = answers(r.stdout);
      checkBridge(found, runProbes);
      // alloc ls finds them by type: the bumped node, the listed one and the one reused
      const ls = found.get("ls") as Json;
      assert.deepEqual(validate("ls.schema.json", ls), []);
      const nodes = (ls.entries as { allocator: string; base: string }[]).map(
        (e) => `${e.allocator} ${e.base}`,
      );
      const expected = ["bumped", "listed", "again"].map((n) => {
        const p = runProbes.get(n)!;
        return `${p.alloc} 0x${BigInt(p.obj).toString(16)}`;
      });
      assert.deepEqual(nodes.sort(), expected.sort());
      assert.match(r.stdout, new RegExp(`^\\$1 = ${runProbes.get("bumped")!.sizeof}$`, "m"), "gdb's sizeof");
      assert.match(r.stdout, /type = struct node \{\n\s+long key;\n\s+struct point where;/, "gdb's ptype");
    });

    it("gdb, kernel core: the same answers", function () {
      skipWithoutKernelCores(this);
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), "allocs-suballoc-"));
      try {
        const { stdout, core } = makeKernelCore(exe, ["abort"], dir, DECLS);
        const r = allocsGdb([...queryCommands(queries()), exe, core]);
        assert.doesNotMatch(r.stderr, /Traceback/);
        checkBridge(answers(r.stdout), parseProbes(stdout));
      } finally {
        fs.rmSync(dir, { recursive: true, force: true });
      }
    });
  });
}

describe("declared suballocators: bad declarations", function () {
  it("a missing function or one taking stack arguments: one warning each, the same output", () => {
    const exe = buildPools({
      variant: "o0",
    });
    // metadata made with the good declarations: the program is prepared for suballocators
    typegen(exe, { env: DECLS });
    const bad = runPreloaded(exe, [], {
      env: {
        LIBALLOCS_SUBALLOC_FNS: "no_such_pool_fn(pZ)p bump_alloc(pppppppZ)p",
        LIBALLOCS_SUBFREE_FNS: "",
      },
    });
    const none = runPreloaded(exe, [], { env: { LIBALLOCS_SUBALLOC_FNS: "", LIBALLOCS_SUBFREE_FNS: "" } });
    assert.equal(bad.status, 0, bad.stderr);
    const warnings = bad.stderr.trim().split("\n");
    assert.equal(warnings.length, 2, bad.stderr);
    assert.ok(
      warnings.some((w) => /no function no_such_pool_fn/.test(w)),
      bad.stderr,
    );
    assert.ok(
      warnings.some((w) => /bump_alloc\(pppppppZ\)p.*more than 6 arguments/.test(w)),
      bad.stderr,
    );
    const masked = (s: string) => s.replace(/0x[0-9a-f]+/g, "ADDR");
    assert.equal(masked(bad.stdout), masked(none.stdout));
    assert.equal(none.stderr, "");
  });
});

describe("declared suballocators: inlined copies", function () {
  it("typegen lists each inlined call with its line; the program runs unchanged, its objects the chunk's", () => {
    const exe = buildPools({
      cflags: ["-O2", "-flto", "-Wno-stringop-overflow"],
      ldflags: ["-flto"],
      variant: "lto",
    });
    const t = typegen(exe, { env: DECLS });
    const r = runPreloaded(exe, [], { env: DECLS });
    assert.equal(r.status, 0, r.stderr);
    const probes = parseProbes(r.stdout);
    for (const [name, fn] of [
      ["point", "bump_alloc"],
      ["bumped", "bump_alloc"],
      ["listed", "fl_alloc"],
    ]) {
      const line = probes.get(name)!.line;
      assert.match(t.stderr + t.stdout, new RegExp(`suballocator ${fn} inlined at line ${line}:`), name);
      // not redirected: the chunk answers
      assert.equal(probes.get(name)!.alloc, "__default_lib_malloc", name);
    }
  });
});

describe("declared suballocators: in a library loaded with dlopen", function () {
  it("its calls are redirected inside dlopen: the object is typed and sited in the library", () => {
    const dso = buildProgram("suballoc_dso", { shared: true, cflags: ["-O2"], variant: "o2" });
    const exe = buildProgram("suballoc_dlopen", { api: true });
    const env = { LIBALLOCS_SUBALLOC_FNS: "dso_pool_alloc(Z)p", LIBALLOCS_SUBFREE_FNS: "" };
    fs.rmSync(dso + ".allocsmeta", { force: true });
    typegen(dso, { env });
    const r = runPreloaded(exe, [dso], { env });
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stderr, "");
    const p = parseProbes(r.stdout).get("dso")!;
    assert.ok(p, r.stdout);
    assert.equal(p.err, "0");
    assert.equal(p.alloc, "dso_pool_alloc");
    assert.equal(p.base, "0");
    assert.equal(p.size, "12"); // sizeof(struct dpoint): three ints
    assert.equal(p.type, "dpoint");
    assert.equal(p.parent, "__default_lib_malloc");
    assert.equal(callSiteLine(dso, Number(p.site_off)), Number(p.line));
  });
});

describe("declared suballocators: in another object, called through the PLT", function () {
  const env = { LIBALLOCS_SUBALLOC_FNS: "lib_pool_alloc(Z)p", LIBALLOCS_SUBFREE_FNS: "" };
  let exe: string;
  let lazy: string;
  before(function () {
    const lib = buildProgram("suballoc_plt_lib", { shared: true, cflags: ["-O2"], variant: "o2" });
    const link = (variant: string, flag: string): string =>
      buildProgram("suballoc_plt", {
        api: true,
        variant,
        ldflags: [lib, `-Wl,-rpath,${path.dirname(lib)}`, flag],
      });
    exe = link("now", "-Wl,-z,now");
    lazy = link("lazy", "-Wl,-z,lazy");
    for (const e of [exe, lazy]) {
      fs.rmSync(e + ".allocsmeta", { force: true });
      typegen(e, { env });
    }
  });
  const check = (stdout: string): void => {
    const p = parseProbes(stdout).get("plt")!;
    assert.ok(p, stdout);
    assert.equal(p.alloc, "lib_pool_alloc");
    assert.equal(p.size, p.sizeof);
    assert.equal(p.type, "trio");
  };
  it("bound at load (-z now): redirected", () => {
    const r = runPreloaded(exe, [], { env });
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stderr, "");
    check(r.stdout);
  });
  it("lazily bound: one warning naming LD_BIND_NOW, and with it set, redirected", () => {
    const r = runPreloaded(lazy, [], { env });
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stderr, /no call of lib_pool_alloc redirected .*LD_BIND_NOW=1/);
    assert.equal(r.stderr.trim().split("\n").length, 1, r.stderr);
    const bound = runPreloaded(lazy, [], { env: { ...env, LD_BIND_NOW: "1" } });
    assert.equal(bound.stderr, "");
    check(bound.stdout);
  });
});

describe("declared suballocators: zero setup", function () {
  it("allocs run makes the metadata with the declarations, and again when they change", () => {
    const built = buildPools({
      variant: "o0",
    });
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "allocs-suballoc-zero-"));
    try {
      const exe = path.join(dir, "prog"); // no metadata beside it: zero setup's cache by build-id
      fs.copyFileSync(built, exe);
      fs.chmodSync(exe, 0o755);
      const id = buildId(ElfFile.open(exe))!;
      const subfns = path.join(cacheDir(), `${id}.allocsmeta.subfns`);
      const run = (env: NodeJS.ProcessEnv) =>
        spawnSync(process.execPath, [ALLOCS, "run", exe], {
          encoding: "utf8",
          env: { ...process.env, ...env },
        });
      const full = run(DECLS);
      assert.equal(full.status, 0, full.stderr);
      assert.equal(parseProbes(full.stdout).get("bumped")!.alloc, "bump_alloc");
      assert.equal(parseProbes(full.stdout).get("bumped")!.type, "node");
      assert.equal(fs.readFileSync(subfns, "utf8").trim(), "bump_alloc fl_alloc fl_free");
      const fewer = { ...DECLS, LIBALLOCS_SUBFREE_FNS: "" };
      const changed = run(fewer);
      assert.match(changed.stderr, /making type metadata/);
      assert.equal(fs.readFileSync(subfns, "utf8").trim(), "bump_alloc fl_alloc");
      assert.equal(parseProbes(changed.stdout).get("listed")!.type, "node");
      const again = run(fewer);
      assert.doesNotMatch(again.stderr, /making type metadata/);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
