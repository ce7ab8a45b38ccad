// The pieces of the DWARF-only site route, each against an independent reader of the same file:
// the x86 decoder's instruction lengths against objdump's disassembly, the call site DIEs
// (return addresses, tail calls, constant and entry-value parameters) against readelf's dump,
// the CFA rules from .eh_frame against readelf's interpreted frames, and the line index (which
// reads a unit's line table when an address in it is first asked about) against addr2line. Neither the decoder nor
// the CFA reader throws on hostile bytes.
import { strict as assert } from "node:assert";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { buildProgram, runtimeLib } from "../lib/programs";
import { openDebugElf, openDwarf } from "../../typegen/src/index";
import { ElfFile } from "../../typegen/src/elf/elf-file";
import { readCodeFacts } from "../../typegen/src/sites/callsites";
import { CfaRules } from "../../typegen/src/sites/cfi";
import { decode } from "../../typegen/src/sites/x86-decode";
import { LineIndex } from "../../typegen/src/sites/line-index";
import { stableOrderBy } from "../../typegen/src/sites/sort-order";
import { AllocCall, AllocTargets, execSections, scanBranches } from "../../typegen/src/sites/calls";

function tool(cmd: string, args: string[]): string {
  const r = spawnSync(cmd, args, { encoding: "utf8", maxBuffer: 256 << 20 });
  assert.equal(r.status, 0, r.stderr);
  return r.stdout;
}

const gccO2 = (): string =>
  buildProgram("sites_dwarf_more", { cc: "gcc", api: true, cflags: ["-O2"], variant: "dwarf_O2" });
const gccO2d4 = (): string =>
  buildProgram("sites_dwarf_more", {
    cc: "gcc",
    api: true,
    cflags: ["-O2", "-gdwarf-4"],
    variant: "dwarf_O2_gdwarf4",
  });
const gccO0 = (): string =>
  buildProgram("sites_dwarf_more", { cc: "gcc", api: true, cflags: ["-O0"], variant: "dwarf_O0" });

describe("x86 decoder: instruction lengths agree with objdump", function () {
  this.timeout(300_000);
  for (const [label, file] of [
    ["the test program, gcc -O0", gccO0],
    ["the test program, gcc -O2", gccO2],
    ["the runtime library (-O2, varied code)", runtimeLib],
  ] as const)
    it(label, () => {
      const exe = file();
      const elf = ElfFile.open(exe);
      const text = elf.section(".text")!;
      const code = elf.data(text);
      const starts: number[] = [];
      const bad = new Set<number>();
      for (const l of tool("objdump", ["-d", "--no-show-raw-insn", "-j", ".text", exe]).split("\n")) {
        const m = /^\s+([0-9a-f]+):\t(.*)$/.exec(l);
        if (!m) continue;
        const a = parseInt(m[1], 16);
        starts.push(a);
        if (/\(bad\)|\.byte/.test(m[2])) bad.add(a);
      }
      let known = 0;
      let total = 0;
      for (let i = 0; i + 1 < starts.length; i++) {
        const a = starts[i];
        if (bad.has(a) || bad.has(starts[i + 1])) continue;
        total++;
        const d = decode(code, a - text.addr, a);
        if (!d) continue;
        known++;
        assert.equal(d.len, starts[i + 1] - a, `length at 0x${a.toString(16)}`);
      }
      // What it does not know (x87, AVX, 3-byte opcodes) ends a walk; that must stay rare.
      assert.ok(known / total > 0.97, `${known} of ${total} decoded`);
    });
});

describe("call site DIEs (DW_TAG_call_site, DW_TAG_GNU_call_site)", function () {
  this.timeout(300_000);
  for (const [label, file, tag, pcAttr] of [
    ["DWARF 5", gccO2, "DW_TAG_call_site", "DW_AT_call_return_pc"],
    ["DWARF 4 GNU extension", gccO2d4, "DW_TAG_GNU_call_site", "DW_AT_low_pc"],
  ] as const)
    it(`reads every return address readelf shows, tail calls and constant parameters (${label})`, () => {
      const exe = file();
      const facts = readCodeFacts(openDwarf(openDebugElf(ElfFile.open(exe))));
      const want: number[] = [];
      let inSite = false;
      for (const l of tool("readelf", ["--debug-dump=info", exe]).split("\n")) {
        if (/Abbrev Number/.test(l)) inSite = l.includes(`(${tag})`);
        const m = new RegExp(`${pcAttr}\\s*: (0x[0-9a-f]+)`).exec(l);
        if (inSite && m) want.push(parseInt(m[1], 16));
      }
      assert.ok(want.length > 20);
      assert.deepEqual(
        [...facts.callSites.keys()].sort((a, b) => a - b),
        want.sort((a, b) => a - b),
      );
      const tails = [...facts.callSites.values()].filter((s) => s.tail);
      // tail_node: `return malloc(sizeof(struct node))`, my_alloc: `return malloc(n)`,
      // my_alloc2: `return my_alloc(n)`.
      const toMalloc = tails.filter((s) => s.callee === "malloc").map((s) => [...facts.params(s)]);
      assert.deepEqual(
        toMalloc.sort((a, b) => a[0][1].k.localeCompare(b[0][1].k)),
        [[[5, { k: "const", v: 16 }]], [[5, { k: "entry", reg: 5 }]]],
      );
      assert.deepEqual(
        tails.filter((s) => s.callee === "my_alloc").map((s) => [...facts.params(s)]),
        [[[5, { k: "entry", reg: 5 }]]],
      );
      // main's first call, `malloc(sizeof(struct list))`: 32 in rdi.
      const consts = [...facts.callSites.values()]
        .filter((s) => s.callee === "malloc" && !s.tail)
        .map((s) => facts.params(s).get(5));
      assert.ok(consts.some((c) => c?.k === "const" && c.v === 32));
      // The split function's hot and cold parts.
      assert.ok([...facts.ranges.values()].some((rs) => rs.length === 2));
    });
});

describe("CFA rules from .eh_frame agree with readelf's interpreted frames", function () {
  this.timeout(300_000);
  const regs: Record<string, number> = { rax: 0, rdx: 1, rcx: 2, rbx: 3, rsi: 4, rdi: 5, rbp: 6, rsp: 7 };
  for (let r = 8; r < 16; r++) regs[`r${r}`] = r;
  for (const [label, file] of [
    ["the test program, gcc -O2", gccO2],
    ["the runtime library", runtimeLib],
  ] as const)
    it(label, () => {
      const exe = file();
      const cfa = new CfaRules(ElfFile.open(exe));
      let hi = 0;
      let rows: { loc: number; rule?: { reg: number; offset: number } }[] = [];
      let checked = 0;
      const flush = (): void => {
        rows.forEach((r, i) => {
          const end = i + 1 < rows.length ? rows[i + 1].loc : hi;
          for (const pc of [r.loc, end - 1]) {
            assert.deepEqual(cfa.at(pc), r.rule, `CFA at 0x${pc.toString(16)}`);
            checked++;
          }
        });
        rows = [];
      };
      for (const l of tool("readelf", ["--debug-dump=frames-interp", exe]).split("\n")) {
        const fde = /FDE cie=\S+ pc=([0-9a-f]+)\.\.([0-9a-f]+)/.exec(l);
        if (fde || /CIE/.test(l)) flush();
        if (fde || /CIE/.test(l)) hi = fde ? parseInt(fde[2], 16) : 0;
        const row = /^([0-9a-f]{16}) (\S+)/.exec(l);
        if (!row || !hi) continue;
        const m = /^(\w+)\+(\d+)$/.exec(row[2]);
        rows.push({
          loc: parseInt(row[1], 16),
          rule: m && regs[m[1]] !== undefined ? { reg: regs[m[1]], offset: Number(m[2]) } : undefined,
        });
      }
      flush();
      assert.ok(checked > 20, `${checked} rows`);
    });
});

describe("stable order of numeric keys (sort-order.ts) agrees with Array.prototype.sort", function () {
  let seed = 4242;
  const rnd = (): number => (seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x80000000;
  const spans: [string, (i: number) => number][] = [
    ["equal keys", () => 7],
    ["below 2^16", () => Math.floor(rnd() * 5000)],
    ["addresses below 2^32, many ties", (i) => 0x400000 + 16 * Math.floor(rnd() * (i >> 2))],
    ["negative and positive, span above 2^32", () => Math.floor((rnd() - 0.5) * 2 ** 40)],
    ["span above 2^48", () => Math.floor(rnd() * 2 ** 52) * (rnd() < 0.1 ? -1 : 1)],
    ["a branch scan's targets (rel32 either way)", () => 0x1000 + Math.floor((rnd() - 0.5) * 2 ** 33)],
    ["fractions", () => Math.floor(rnd() * 100) / 4],
  ];
  for (const [label, key] of spans)
    for (const n of [0, 1, 5, 2047, 2048, 30000])
      it(`${label}, ${n} keys`, () => {
        const keys = Float64Array.from({ length: n }, (_, i) => key(i));
        const want = Array.from({ length: n }, (_, i) => i).sort((a, b) => keys[a] - keys[b]);
        assert.deepEqual(Array.from(stableOrderBy(keys)), want);
      });
});

describe("the branch scan (calls.ts) agrees with a byte-by-byte reading of the code", function () {
  this.timeout(300_000);
  interface Branch {
    call: number;
    ret: number;
    to: number;
    got: boolean;
    tail: boolean;
  }
  /** Every call and jump the scan looks for, in address order, read one offset at a time. */
  function naive(file: string): Branch[] {
    const elf = ElfFile.open(file);
    const out: Branch[] = [];
    for (const sec of execSections(elf)) {
      const d = elf.data(sec);
      for (let o = 0; o + 5 <= d.length; o++) {
        const b = d[o];
        const n = d[o + 1];
        const rel32 =
          b === 0xe8 || b === 0xe9
            ? 1
            : (b === 0x0f && n >= 0x80 && n <= 0x8f) || (b === 0xff && (n === 0x15 || n === 0x25))
              ? 2
              : 0;
        if (rel32 === 0 || o + rel32 + 4 > d.length) continue;
        const call = sec.addr + o;
        const ret = call + rel32 + 4;
        const to = ret + d.readInt32LE(o + rel32);
        const got = b === 0xff;
        out.push({ call, ret, to, got, tail: b === 0xe9 || b === 0x0f || (got && n === 0x25) });
      }
    }
    return out;
  }
  it("on code rewritten to dense and random call, jump and GOT bytes", () => {
    // A binary with more code than the test programs (coreutils is essential on Debian).
    const exe = "/usr/bin/ls";
    const elf = ElfFile.open(exe);
    const buf = fs.readFileSync(exe);
    let seed = 31337;
    const rnd = (): number => (seed = (seed * 1103515245 + 12345) & 0x7fffffff) >> 8;
    // Calls and jumps to a few targets packed end to end, then random bytes biased to opcode
    // bytes: far more candidates than the scan first makes room for.
    const targets = [0x1000, 0x2000, 0x2010, elf.sections[1].addr, 0x7fff0000];
    const ops = [[0xe8], [0xe9], [0x0f, 0x84], [0x0f, 0x8f], [0xff, 0x15], [0xff, 0x25]];
    for (const sec of execSections(elf))
      for (let k = 0; k < sec.size;) {
        const r = rnd() % 10;
        if (r < 6 && k + 6 <= sec.size) {
          const op = ops[rnd() % ops.length];
          const at = sec.offset + k;
          op.forEach((x, j) => (buf[at + j] = x));
          const ret = sec.addr + k + op.length + 4;
          buf.writeInt32LE(targets[rnd() % targets.length] - ret, at + op.length);
          k += op.length + 4;
        } else buf[sec.offset + k++] = r < 8 ? [0xe8, 0xe9, 0x0f, 0xff][rnd() % 4] : rnd() & 0xff;
      }
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "allocs-scan-"));
    try {
      const file = path.join(tmp, "dense");
      fs.writeFileSync(file, buf);
      const all = naive(file);
      const bytes = execSections(elf).reduce((n, sec) => n + sec.size, 0);
      assert.ok(all.length > bytes / 8, `${all.length} candidates in ${bytes} bytes`);
      // Some targets as code addresses, some as GOT slots.
      const t: AllocTargets = { code: new Map(), got: new Map() };
      targets.forEach((to, i) => (i % 2 ? t.got : t.code).set(to, `f${i}`));
      t.code.set(targets[1], "g");
      for (const jumps of [false, true]) {
        const want: AllocCall[] = [];
        for (const b of all) {
          const callee = (b.got ? t.got : t.code).get(b.to);
          if (!callee || (b.tail && !jumps)) continue;
          const { call, ret, tail } = b;
          want.push(b.got ? { call, ret, callee, tail } : { call, ret, callee, target: b.to, tail });
        }
        assert.ok(want.length > 2000 && want.some((w) => w.target === undefined), `${want.length} branches`);
        assert.deepEqual(scanBranches(ElfFile.open(file), t, jumps), want);
      }
    } finally {
      fs.rmSync(tmp, { recursive: true, force: true });
    }
  });
});

describe("hostile input", function () {
  this.timeout(300_000);
  it("the decoder and the CFA reader never throw on random bytes", () => {
    let seed = 987654;
    const rnd = (): number => (seed = (seed * 1103515245 + 12345) & 0x7fffffff) & 0xff;
    for (let i = 0; i < 20000; i++) {
      const len = rnd() % 32;
      const b = Buffer.alloc(len);
      for (let k = 0; k < len; k++)
        b[k] = i % 2 ? rnd() : [0x48, 0x4c, 0x0f, 0x66, 0xf3, 0x89, 0x8b, 0x8d][rnd() % 8];
      const o = rnd() % (len + 2);
      decode(b, o, 0x1000);
    }
    // A copy of a binary with its .eh_frame scrambled.
    const exe = gccO2();
    const elf = ElfFile.open(exe);
    const eh = elf.section(".eh_frame")!;
    const buf = fs.readFileSync(exe);
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "allocs-cfi-"));
    try {
      for (let n = 0; n < 20; n++) {
        const copy = Buffer.from(buf);
        for (let k = 0; k < 16; k++) copy[eh.offset + ((rnd() * 256 + rnd()) % eh.size)] = rnd();
        const f = path.join(tmp, `x${n}`);
        fs.writeFileSync(f, copy);
        const rules = new CfaRules(ElfFile.open(f));
        for (let pc = 0x1000; pc < 0x1600; pc += 7) rules.at(pc);
      }
    } finally {
      fs.rmSync(tmp, { recursive: true, force: true });
    }
  });
});

describe("line index: every call's source line agrees with addr2line", function () {
  this.timeout(300_000);
  const clangO2 = (): string =>
    buildProgram("sites_dwarf_more", { cc: "clang", api: true, cflags: ["-O2"], variant: "dwarf_O2" });
  for (const [label, file] of [
    ["gcc -O2", gccO2],
    ["gcc -O2 -gdwarf-4", gccO2d4],
    ["gcc -O0", gccO0],
    ["clang -O2", clangO2],
  ] as const) {
    it(label, () => {
      const exe = file();
      // Every call instruction objdump shows, asked in address order and in reverse (the index
      // reads tables as addresses come; the answers must not depend on the order).
      const calls = tool("objdump", ["-d", "--no-show-raw-insn", exe])
        .split("\n")
        .filter((l) => /^\s+[0-9a-f]+:\s+call/.test(l))
        .map((l) => parseInt(l.trim().split(":")[0], 16));
      assert.ok(calls.length > 20, `${calls.length} calls`);
      // addr2line, like the index, takes the last row at or before the address (gdb's `info line`
      // only is_stmt rows). Its file names are not compared: binutils names DWARF 5 file 1 after
      // file 0 (gcc -O0's calls in sites_common.h come out as sites_dwarf_more.c), where gdb
      // agrees with the index.
      const truth = tool("addr2line", ["-e", exe, ...calls.map((a) => a.toString(16))])
        .trim()
        .split("\n");
      const forward = new LineIndex(ElfFile.open(exe));
      const backward = new LineIndex(ElfFile.open(exe));
      const back = new Map([...calls].reverse().map((pc) => [pc, backward.lookup(pc)] as const));
      let compared = 0;
      calls.forEach((pc, i) => {
        const got = forward.lookup(pc);
        assert.deepEqual(back.get(pc), got, `0x${pc.toString(16)}: same answer in either order`);
        const m = /^(.*):(\d+)/.exec(truth[i]);
        if (!m || m[1] === "??" || m[2] === "0") return;
        assert.ok(got, `0x${pc.toString(16)}: addr2line says ${truth[i]}, the index nothing`);
        assert.equal(got.line, Number(m[2]), `0x${pc.toString(16)}: ${got.file} against ${truth[i]}`);
        compared++;
      });
      assert.ok(compared > 20, `${compared} compared`);
    });
  }
});
