// A declared suballocator's call is rewritten by the runtime, so typegen records one only where
// it is proved to be an instruction (insn-bounds.ts). Real gcc/clang builds hide E8 + rel32
// reaching the suballocator inside other instructions (a movabs immediate, an imul's disp32, a
// SIB byte): those must come out as unknown (not redirected), never as SUBALLOC sites, while the
// real calls beside them are recorded. The length-only sweep is checked against objdump over
// libc (AVX2/EVEX string functions, x87 in libm) and on synthetic buffers.
import { strict as assert } from "node:assert";
import { execFileSync, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { readTypes } from "../../typegen/src/index";
import { ElfFile } from "../../typegen/src/elf/elf-file";
import { readSymbols } from "../../typegen/src/elf/symbols";
import { SITE_SUBALLOC } from "../../typegen/src/meta/format";
import { suballocFunctions } from "../../typegen/src/sites/decls";
import { inferDwarfSites } from "../../typegen/src/sites/dwarf-route";
import { insnLength, sweepReaches } from "../../typegen/src/sites/insn-bounds";
import { ROOT, runPlain, runPreloaded } from "../lib/programs";
import { have, tmpDir } from "./helpers";

const ALLOCS = path.join(ROOT, "bin", "allocs.js");

/** E8 + rel32 to `pool_alloc` inside instructions (three the program never runs, one it runs in
 * decoy_value), and a real call.
 * `.byte 0x48, 0xb8` + call + three zeros: movabs $imm64 whose immediate starts with the E8;
 * `.byte 0x48, 0x69, 0x80` + call + three zeros: imul $imm32, disp32(%rax) whose disp32 starts
 * with it; `.byte 0x8b, 0x84` + call: mov disp32(%rax,%rbp,8) whose SIB byte is the E8. */
const SOURCE = `
#include <stdio.h>
#include <stdlib.h>
struct item { long a, b; };
__attribute__((noinline)) void *pool_alloc(void *pool, size_t n) { (void)pool; return malloc(n); }
__attribute__((used, noinline)) void decoys(void) {
  __asm__ volatile(".byte 0x48, 0xb8\\n\\tcall pool_alloc\\n\\t.byte 0, 0, 0\\n\\t"
                   ".byte 0x48, 0x69, 0x80\\n\\tcall pool_alloc\\n\\t.byte 0, 0, 0\\n\\t"
                   ".byte 0x8b, 0x84\\n\\tcall pool_alloc" ::: "memory");
}
/* Runs: its movabs immediate is what a patch of the E8 inside it would change. */
__attribute__((noinline)) unsigned long decoy_value(void) {
  unsigned long v;
  __asm__ volatile(".byte 0x48, 0xb8\\n\\tcall pool_alloc\\n\\t.byte 0, 0, 0" : "=a"(v));
  return v;
}
struct item *g_item;
int main(int argc, char **argv) {
  (void)argv;
  g_item = pool_alloc(0, sizeof(struct item));
  if (argc > 5) decoys();
  printf("value %lx item %d\\n", decoy_value(), g_item != 0);
  return 0;
}
`;

const DECL = { LIBALLOCS_SUBALLOC_FNS: "pool_alloc(pZ)p" };

/** The E8 bytes reaching pool_alloc, found the way calls.ts scans (every byte). */
function e8To(exe: string, target: string): number[] {
  const elf = ElfFile.open(exe);
  const fn = readSymbols(elf).symtab.find((s) => s.name === target)!;
  const text = elf.section(".text")!;
  const d = elf.data(text);
  const out: number[] = [];
  for (let o = 0; o + 5 <= d.length; o++)
    if (d[o] === 0xe8 && text.addr + o + 5 + d.readInt32LE(o + 1) === fn.value) out.push(text.addr + o);
  return out;
}

/** Builds the decoy program with cc and opt; returns the executable. */
function buildDecoys(cc: string, opt: string): string {
  const dir = tmpDir();
  const src = path.join(dir, "decoy_calls.c");
  fs.writeFileSync(src, SOURCE);
  const exe = path.join(dir, `decoy_calls_${cc}${opt}`);
  execFileSync(cc, ["-g", opt, "-o", exe, src], { stdio: ["ignore", "ignore", "pipe"] });
  return exe;
}

describe("suballocator calls: only real instructions are recorded for patching", function () {
  this.timeout(300_000);
  for (const [cc, opt] of [
    ["gcc", "-O0"],
    ["gcc", "-O2"],
    ["clang", "-O0"],
    ["clang", "-O2"],
  ] as const)
    describe(`${cc} ${opt}`, function () {
      let exe = "";
      before(function () {
        if (!have(cc)) this.skip();
        exe = buildDecoys(cc, opt);
      });

      it("E8 bytes inside a movabs immediate, a disp32 and a SIB byte are not sites; the call is", () => {
        const hits = e8To(exe, "pool_alloc");
        // Four decoys and main's real call (pool_alloc is noinline).
        assert.equal(hits.length, 5, `E8 bytes to pool_alloc: ${hits.map((h) => h.toString(16))}`);
        const r = inferDwarfSites(readTypes(exe), exe, { subs: suballocFunctions(DECL) });
        const subSites = r.sites.filter((s) => s.flags & SITE_SUBALLOC).map((s) => s.vaddr - 5);
        const syms = readSymbols(ElfFile.open(exe)).symtab;
        const decoyFns = syms.filter((s) => s.name === "decoys" || s.name === "decoy_value");
        const inDecoys = (a: number): boolean => decoyFns.some((f) => a >= f.value && a < f.value + f.size);
        assert.deepEqual(
          subSites,
          hits.filter((h) => !inDecoys(h)),
          "main's real call, and only it, is a SUBALLOC site",
        );
        const refused = r.unknown.filter((u) => u.callee === "pool_alloc" && /^decoy/.test(u.function ?? ""));
        assert.equal(refused.length, 4, JSON.stringify(r.unknown));
        for (const u of refused) assert.match(u.why, /inside another instruction: not redirected/);
        for (const h of hits.filter(inDecoys))
          assert.ok(
            refused.some((u) => new RegExp(`0x${h.toString(16)} in decoy`).test(u.why)),
            `0x${h.toString(16)} named`,
          );
      });

      it("preloaded with the declaration, the program prints what it prints without the runtime", () => {
        fs.rmSync(exe + ".allocsmeta", { force: true });
        const t = spawnSync(process.execPath, [ALLOCS, "typegen", exe], {
          encoding: "utf8",
          env: { ...process.env, ...DECL },
        });
        assert.equal(t.status, 0, t.stderr);
        const plain = runPlain(exe);
        assert.equal(plain.status, 0, plain.stderr);
        assert.match(plain.stdout, /^value [0-9a-f]+ item 1$/m);
        const pre = runPreloaded(exe, [], { env: DECL });
        assert.equal(pre.status, 0, pre.stderr);
        assert.equal(pre.stdout, plain.stdout);
      });
    });
});

describe("length-only sweep (insn-bounds.ts)", function () {
  this.timeout(300_000);
  it("stops short of an E8 inside mov r32, imm32 and inside a disp32; lands on a real call", () => {
    // mov $0x11223344e8.., %eax = b8 e8 00 00 00; then a real call e8 00 00 00 00.
    const movImm = Buffer.from([0xb8, 0xe8, 0x10, 0x00, 0x00, 0xe8, 0x00, 0x00, 0x00, 0x00, 0xc3]);
    assert.equal(sweepReaches(movImm, 0, 1), false);
    assert.equal(sweepReaches(movImm, 0, 5), true);
    // mov 0x1000e8(%rax), %ecx = 8b 88 e8 00 10 00; nop; call.
    const disp = Buffer.from([0x8b, 0x88, 0xe8, 0x00, 0x10, 0x00, 0x90, 0xe8, 0, 0, 0, 0]);
    assert.equal(sweepReaches(disp, 0, 2), false);
    assert.equal(sweepReaches(disp, 0, 7), true);
  });

  it("knows VEX, EVEX, 0F 38/3A, x87 and long nop prefixes; an unknown byte proves nothing", () => {
    const cases: [number[], number][] = [
      [[0xc5, 0xf9, 0x6f, 0x06], 4], // vmovdqa (%rsi), %xmm0
      [[0xc5, 0xf8, 0x77], 3], // vzeroupper
      [[0xc4, 0xe2, 0x7d, 0x58, 0x44, 0x24, 0x08], 7], // vpbroadcastd 8(%rsp), %ymm0
      [[0xc4, 0xe3, 0x7d, 0x39, 0xc1, 0x01], 6], // vextracti128 $1, %ymm0, %xmm1
      [[0xc5, 0xfd, 0x70, 0xc0, 0x1b], 5], // vpshufd $0x1b, %ymm0, %ymm0
      [[0x62, 0xe1, 0xfe, 0x28, 0x6f, 0x4e, 0x01], 7], // vmovdqu64 0x20(%rsi), %ymm17
      [[0x66, 0x0f, 0x38, 0x00, 0xc1], 5], // pshufb %xmm1, %xmm0
      [[0x66, 0x0f, 0x3a, 0x0f, 0xc1, 0x08], 6], // palignr $8, %xmm1, %xmm0
      [[0xdd, 0x44, 0x24, 0x08], 4], // fldl 8(%rsp)
      [[0x66, 0x66, 0x66, 0x66, 0x66, 0x2e, 0x0f, 0x1f, 0x84, 0, 0, 0, 0, 0], 14], // long nop
      [[0x0f, 0x77], 2], // emms
      [[0xf2, 0x0f, 0x5e, 0xc1], 4], // divsd %xmm1, %xmm0
      [[0xf2, 0x48, 0x0f, 0x2a, 0xc0], 5], // cvtsi2sd %rax, %xmm0
    ];
    for (const [bytes, len] of cases)
      assert.equal(insnLength(Buffer.from(bytes), 0), len, Buffer.from(bytes).toString("hex"));
    assert.equal(sweepReaches(Buffer.from([0x0f, 0x0f, 0xc1, 0xb4, 0xe8, 0, 0, 0, 0]), 0, 4), undefined);
  });

  it("never throws or loops on random bytes", () => {
    let seed = 12345;
    const rnd = (): number => (seed = (seed * 1103515245 + 12345) & 0x7fffffff) & 0xff;
    for (let k = 0; k < 2000; k++) {
      const b = Buffer.from(Array.from({ length: 1 + (k % 40) }, rnd));
      for (let o = 0; o < b.length; o++) {
        const n = insnLength(b, o);
        assert.ok(n === undefined || (n > 0 && n <= 15 && o + n <= b.length));
      }
      const r = sweepReaches(b, 0, b.length - 1);
      assert.ok(r === undefined || typeof r === "boolean");
    }
  });

  it("every instruction start objdump shows in libc's functions, and no other", function () {
    const libc = "/usr/lib/x86_64-linux-gnu/libc.so.6";
    if (!fs.existsSync(libc) || !have("objdump")) this.skip();
    const r = spawnSync("objdump", ["-d", "--no-show-raw-insn", "-j", ".text", libc], {
      encoding: "utf8",
      maxBuffer: 1 << 29,
    });
    assert.equal(r.status, 0, r.stderr);
    const starts = new Set<number>();
    for (const m of r.stdout.matchAll(/^\s+([0-9a-f]+):/gm)) starts.add(parseInt(m[1], 16));
    const elf = ElfFile.open(libc);
    const text = elf.section(".text")!;
    const code = elf.data(text);
    let fns = 0;
    for (const s of readSymbols(elf).dynsym) {
      if (s.type !== 2 || s.size === 0 || s.value < text.addr || s.value + s.size > text.addr + text.size)
        continue;
      fns++;
      let o = s.value - text.addr;
      const end = o + s.size;
      while (o < end) {
        assert.ok(starts.has(text.addr + o), `${s.name}: 0x${(text.addr + o).toString(16)} is no start`);
        const n = insnLength(code, o);
        assert.ok(n !== undefined, `${s.name}: unknown at 0x${(text.addr + o).toString(16)}`);
        o += n;
      }
      assert.equal(o, end, s.name);
    }
    assert.ok(fns > 500, `${fns} functions`);
  });
});
