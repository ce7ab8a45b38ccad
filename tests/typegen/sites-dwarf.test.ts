// Allocation-site types from DWARF alone: `allocs typegen PROG` on plain `gcc -g` / `clang -g`
// builds of test-programs/sites_receiver.c, checked through the runtime (UNIQTYPE_NAME and
// sizes) and in the metadata (GUESSED flags), with the unknown-site report on stderr (function
// and file:line; silent with --quiet). The x86 decoding never throws on hostile bytes.
import { strict as assert } from "node:assert";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import {
  BUILD_DIR,
  PROGRAMS_DIR,
  ROOT,
  RUNTIME_INCLUDE,
  hasCommand,
  parseProbes,
  runPreloaded,
  stubLib,
} from "../lib/programs";
import { readMeta } from "../../typegen/src/meta/reader";
import { SITE_ARRAY, SITE_GUESSED } from "../../typegen/src/meta/format";
import { constantArg, followResult } from "../../typegen/src/sites/x86";

const ALLOCS = path.join(ROOT, "bin", "allocs.js");
const SRC = path.join(PROGRAMS_DIR, "sites_receiver.c");
const dir = path.join(BUILD_DIR, "sites");

function plainBuild(cc: string, opt: string): string {
  fs.mkdirSync(dir, { recursive: true });
  const exe = path.join(dir, `sites_receiver_${cc}_${opt.slice(1)}`);
  const r = spawnSync(
    cc,
    [
      opt,
      "-g",
      `-I${RUNTIME_INCLUDE}`,
      `-I${PROGRAMS_DIR}`,
      "-o",
      exe,
      SRC,
      stubLib(),
      `-Wl,-rpath,${path.dirname(stubLib())}`,
    ],
    { encoding: "utf8" },
  );
  assert.equal(r.status, 0, r.stderr);
  fs.rmSync(exe + ".allocsmeta", { force: true });
  return exe;
}

function typegen(args: string[]) {
  return spawnSync(process.execPath, [ALLOCS, "typegen", ...args], { encoding: "utf8" });
}

const variants = [
  { cc: "gcc", opt: "-O0" },
  { cc: "gcc", opt: "-O2" },
  ...(hasCommand("clang")
    ? [
        { cc: "clang", opt: "-O0" },
        { cc: "clang", opt: "-O2" },
      ]
    : []),
];

for (const v of variants) {
  describe(`allocation-site types from DWARF alone (${v.cc} ${v.opt} -g)`, function () {
    this.timeout(300_000);
    let exe: string;
    let stderr: string;
    let probes: Map<string, Record<string, string>>;
    before(() => {
      exe = plainBuild(v.cc, v.opt);
      const r = typegen([exe]);
      assert.equal(r.status, 0, r.stderr);
      assert.equal(r.stdout, "");
      stderr = r.stderr;
      const run = runPreloaded(exe, [], { timeoutMs: 120_000 });
      assert.equal(run.status, 0, run.stderr);
      probes = parseProbes(run.stdout);
    });

    const at0 = v.opt === "-O0";
    it("a local receiver `struct point *p = malloc(sizeof(struct point))` gives struct point", () => {
      const p = probes.get("local");
      // Optimised, the constant size may not sit right before the call: an array of point.
      if (at0 || v.cc === "clang") assert.deepEqual(p, { type: "point", tsize: "8", chunk: "8" });
      else assert.match(p?.type ?? "", /^(point|__ARR1_point)$/);
    });
    it("a computed size gives an array of the pointee, sized by the chunk", () =>
      assert.deepEqual(probes.get("array"), { type: "__ARR4_point", tsize: "32", chunk: "32" }));
    it("a global receiver (rip-relative store) gives its pointee", () =>
      assert.deepEqual(probes.get("global"), { type: "point", tsize: "8", chunk: "8" }));
    if (at0)
      it("`return malloc(...)` takes the function's return type", () =>
        assert.deepEqual(probes.get("returned"), { type: "node", tsize: "16", chunk: "16" }));
    it("a void * receiver and a store through a pointer stay unknown", () => {
      assert.equal(probes.get("void")?.type, "none");
      assert.equal(probes.get("through_pointer")?.type, "none");
    });
    it("marks every inferred site GUESSED", () => {
      const m = readMeta(fs.readFileSync(exe + ".allocsmeta"));
      assert.ok(m.sites.length >= 3);
      for (const s of m.sites) assert.ok(s.flags & SITE_GUESSED, `site ${s.vaddr.toString(16)} not GUESSED`);
      assert.ok(m.sites.some((s) => m.types[s.type].name === "point" && s.flags & SITE_ARRAY));
    });
    it("reports how many sites were typed and lists the unknown ones with function and file:line", () => {
      assert.match(stderr, /: \d+ of \d+ allocation sites typed \(\d+ guessed from DWARF\), \d+ unknown/);
      const lines = stderr.split("\n").filter((l) => /type unknown/.test(l));
      assert.ok(lines.length >= 2, stderr);
      assert.ok(
        lines.some((l) =>
          /sites_receiver\.c:26: in main: malloc: type unknown \(opaque is void \*\)/.test(l),
        ),
        stderr,
      );
      assert.ok(
        lines.some((l) => /sites_receiver\.c:28: in main: malloc: type unknown/.test(l)),
        stderr,
      );
      const q = typegen([exe, "--quiet"]);
      assert.equal(q.status, 0);
      assert.equal(q.stdout + q.stderr, "");
    });
  });
}

describe("x86 result following: bounds and hostile bytes", () => {
  it("follows mov %rax,disp(%rbp), register copies, rip-relative stores and returns", () => {
    assert.deepEqual(followResult(Buffer.from([0x48, 0x89, 0x45, 0xe8]), 0, 0x100).sink, {
      kind: "stack",
      base: "rbp",
      disp: -0x18,
      pc: 0x100,
    });
    const viaRbx = followResult(Buffer.from([0x48, 0x89, 0xc3, 0x48, 0x89, 0x5c, 0x24, 0x08]), 0, 0);
    assert.deepEqual(viaRbx.sink, { kind: "stack", base: "rsp", disp: 8, pc: 3 });
    assert.deepEqual(viaRbx.held[1], { pc: 3, regs: [0, 3] });
    assert.deepEqual(followResult(Buffer.from([0x48, 0x89, 0x05, 0x10, 0, 0, 0]), 0, 0x1000).sink, {
      kind: "global",
      addr: 0x1017,
      pc: 0x1000,
    });
    assert.equal(followResult(Buffer.from([0xc9, 0xc3]), 0, 0).sink.kind, "return");
    assert.equal(constantArg(Buffer.from([0xbf, 8, 0, 0, 0, 0xe8]), 5, 0), 8);
    assert.equal(constantArg(Buffer.from([0xbe, 8, 0, 0, 0, 0xbf, 3, 0, 0, 0, 0xe8]), 10, 0), 3);
    assert.equal(constantArg(Buffer.from([0xbe, 8, 0, 0, 0, 0xbf, 3, 0, 0, 0, 0xe8]), 10, 1), 8);
    assert.equal(constantArg(Buffer.from([0x90, 0xe8]), 1, 0), undefined);
  });
  it("never throws or reads out of bounds on random and truncated code", () => {
    let seed = 12345;
    const rnd = (): number => (seed = (seed * 1103515245 + 12345) & 0x7fffffff) & 0xff;
    for (let i = 0; i < 5000; i++) {
      const len = rnd() % 24;
      const b = Buffer.alloc(len);
      for (let k = 0; k < len; k++)
        b[k] = i % 3 === 0 ? [0x48, 0x89, 0x8b, 0x8d, 0x4c, 0x24, 0x05][rnd() % 7] : rnd();
      followResult(b, rnd() % (len + 2), 0);
      constantArg(b, rnd() % (len + 2), rnd() % 5);
    }
  });
});
