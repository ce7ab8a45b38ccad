// Allocation-site types from DWARF alone: `allocs typegen PROG` on plain `gcc -g` / `clang -g`
// builds of test-programs/sites_receiver.c, checked through the runtime (UNIQTYPE_NAME and
// sizes) and in the metadata (GUESSED flags), with the unknown-site report on stderr (function
// and file:line; silent with --quiet). The x86 decoding never throws on hostile bytes. More
// patterns (stores through pointers, tail calls, call site DIEs) are in sites-dwarf-more.test.ts.
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
import { argsAt, constantArg, followResult } from "../../typegen/src/sites/x86";

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

    it("a local receiver `struct point *p = malloc(sizeof(struct point))` gives struct point", () =>
      // Optimised by gcc, the constant size is not right before the call (the call site DIE has it).
      assert.deepEqual(probes.get("local"), { type: "point", tsize: "8", chunk: "8" }));
    it("a computed size gives an array of the pointee, sized by the chunk", () =>
      assert.deepEqual(probes.get("array"), { type: "__ARR4_point", tsize: "32", chunk: "32" }));
    it("a global receiver (rip-relative store) gives its pointee", () =>
      assert.deepEqual(probes.get("global"), { type: "point", tsize: "8", chunk: "8" }));
    it("`return malloc(...)` takes the function's return type (optimised: a tail call, its caller's site)", () =>
      assert.deepEqual(probes.get("returned"), { type: "node", tsize: "16", chunk: "16" }));
    it("a store through a pointer gives the member's pointee; a void * receiver stays unknown", () => {
      assert.equal(probes.get("void")?.type, "none");
      assert.deepEqual(probes.get("through_pointer"), { type: "node", tsize: "16", chunk: "16" });
    });
    it("marks every inferred site GUESSED", () => {
      const m = readMeta(fs.readFileSync(exe + ".allocsmeta"));
      assert.ok(m.sites.length >= 3);
      for (const s of m.sites) assert.ok(s.flags & SITE_GUESSED, `site ${s.vaddr.toString(16)} not GUESSED`);
      assert.ok(m.sites.some((s) => m.types[s.type]?.name === "point" && s.flags & SITE_ARRAY));
    });
    it("reports how many sites were typed and lists the unknown ones with function and file:line", () => {
      assert.match(stderr, /: \d+ of \d+ allocation sites typed \(\d+ guessed from DWARF\), \d+ unknown/);
      const lines = stderr.split("\n").filter((l) => /type unknown/.test(l));
      assert.deepEqual(
        lines.map((l) => l.replace(/^.*\/test-programs\//, "")),
        ["sites_receiver.c:26: in main: malloc: type unknown (opaque is void *)"],
      );
      const q = typegen([exe, "--quiet"]);
      assert.equal(q.status, 0);
      assert.equal(q.stdout + q.stderr, "");
    });
  });
}

describe("x86 result following: bounds and hostile bytes", () => {
  it("follows mov %rax,disp(%rbp), register copies, rip-relative stores and returns", () => {
    const rbp = { k: "entry", reg: 6, pc: 0x100 };
    assert.deepEqual(followResult(Buffer.from([0x48, 0x89, 0x45, 0xe8]), 0, 0x100).sink, {
      kind: "store",
      at: { base: rbp, disp: -0x18, indexed: false },
      pc: 0x100,
    });
    const viaRbx = followResult(Buffer.from([0x48, 0x89, 0xc3, 0x48, 0x89, 0x5c, 0x24, 0x08]), 0, 0);
    assert.deepEqual(viaRbx.sink, {
      kind: "store",
      at: { base: { k: "entry", reg: 7, pc: 0 }, disp: 8, indexed: false },
      pc: 3,
    });
    assert.deepEqual(viaRbx.held[1], { pc: 3, regs: [0, 3] });
    assert.deepEqual(followResult(Buffer.from([0x48, 0x89, 0x05, 0x10, 0, 0, 0]), 0, 0x1000).sink, {
      kind: "store",
      at: { base: { k: "abs", addr: 0x1017 }, disp: 0, indexed: false },
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
      const o = rnd() % (len + 2);
      followResult(b, o, 0);
      followResult(b, o, 0x1000, { from: 0, callOff: Math.min(o, len) });
      argsAt(b, 0, rnd() % (len + 1), 0);
      constantArg(b, rnd() % (len + 2), rnd() % 5);
    }
  });
});

describe("x86 symbolic walk", () => {
  it("carries an address computed before the call to the store after it (gcc -O0 `a[i] = malloc(8)`)", () => {
    // mov -0x14(%rbp),%eax; cltq; lea 0x0(,%rax,8),%rdx; mov -0x28(%rbp),%rax;
    // lea (%rdx,%rax,1),%rbx; mov $8,%edi; call; mov %rax,(%rbx)
    const code = Buffer.from(
      "8b45ec" +
        "4898" +
        "488d14c500000000" +
        "488b45d8" +
        "488d1c02" +
        "bf08000000" +
        "e800000000" +
        "488903",
      "hex",
    );
    const call = 0x1a;
    const f = followResult(code, call + 5, 0x1000 + call + 5, { from: 0, callOff: call });
    assert.deepEqual(f.sink, {
      kind: "store",
      at: {
        base: { k: "load", at: { base: { k: "entry", reg: 6, pc: 0x1000 }, disp: -0x28, indexed: false } },
        disp: 0,
        indexed: true,
      },
      pc: 0x1000 + call + 5,
    });
    assert.deepEqual(f.args?.[0], { k: "const", v: 8 });
  });
  it("adds a loaded pointer to a scaled index (`p->tokens[i] = PyMem_Calloc(...)` in python3.11d, -Og)", () => {
    // movslq %ebx,%r12; lea 0x0(,%r12,8),%rbp; add 0x8(%r13),%rbp; mov $0x30,%esi; mov $1,%edi;
    // call; mov %rax,0x0(%rbp)
    const code = Buffer.from(
      "4c63e3" + "4a8d2ce500000000" + "49036d08" + "be30000000" + "bf01000000" + "e800000000" + "48894500",
      "hex",
    );
    const f = followResult(code, 30, 30, { from: 0, callOff: 25 });
    assert.deepEqual(f.sink, {
      kind: "store",
      at: {
        base: { k: "load", at: { base: { k: "entry", reg: 13, pc: 0 }, disp: 8, indexed: false } },
        disp: 0,
        indexed: true,
      },
      pc: 30,
    });
    assert.deepEqual(f.args?.slice(0, 2), [
      { k: "const", v: 1 },
      { k: "const", v: 0x30 },
    ]);
  });
  it("follows the result across a null check and a jump, and through a callee-saved register", () => {
    // call; mov %rax,%rbx; test %rax,%rax; je +0; jmp +2; ud2(skipped); mov %rbx,0x18(%r12)
    const code = Buffer.from(
      "e800000000" + "4889c3" + "4885c0" + "7400" + "eb02" + "0f0b" + "49895c2418",
      "hex",
    );
    const f = followResult(code, 5, 5);
    assert.deepEqual(f.sink, {
      kind: "store",
      at: { base: { k: "entry", reg: 12, pc: 5 }, disp: 0x18, indexed: false },
      pc: 17,
    });
  });
  it("gives the argument registers at a jump from the function's entry (a tail-calling wrapper)", () => {
    // `mov $16,%edi; jmp`: a constant; `jmp` alone: the function's own first argument;
    // `shl $4,%rdi; jmp`: something computed from it, not followed.
    assert.deepEqual(argsAt(Buffer.from("bf10000000e900000000", "hex"), 0, 5, 0x40)?.[0], {
      k: "const",
      v: 16,
    });
    assert.deepEqual(argsAt(Buffer.from("e900000000", "hex"), 0, 0, 0x40)?.[0], {
      k: "entry",
      reg: 5,
      pc: 0x40,
    });
    assert.deepEqual(argsAt(Buffer.from("48c1e704e900000000", "hex"), 0, 4, 0x40)?.[0], { k: "unknown" });
  });
});
