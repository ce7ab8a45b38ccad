// The native DIE walk on corrupt input: thousands of deterministically mutated copies of small
// fixtures (mutations in .debug_info, .debug_abbrev, the string, address and list sections) must each
// end exactly as with the JS walk (ALLOCS_TYPEGEN_NATIVE=off): the same metadata file, or the
// same TypegenFormatError message. The C walker hands every unit it cannot take exactly as the
// JS does back to JS, so corruption must never change an outcome, crash or hang. Each fixture
// runs in a child process (this file, with --child) under a timeout: a crash or a hang in C is
// caught instead of taking mocha down.

import * as assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { ElfFile } from "../../typegen/src/elf/elf-file";
import { readTypesFromElf } from "../../typegen/src/index";
import { writeMeta } from "../../typegen/src/meta/writer";
import { nativeStats } from "../../typegen/src/model/collect-native";
import { VARIANTS, build } from "./helpers";
import { prng } from "./prng";

const SECTIONS = [
  ".debug_info",
  ".debug_abbrev",
  ".debug_str",
  ".debug_line_str",
  ".debug_str_offsets",
  ".debug_addr",
  ".debug_loclists",
  ".debug_loc",
  ".debug_rnglists",
  ".debug_ranges",
];

/** A copy of `orig` with 1-4 bytes changed inside the DWARF sections (`ranges`). */
function mutate(orig: Buffer, ranges: [number, number][], rnd: () => number): Buffer {
  const b = Buffer.from(orig);
  const n = 1 + Math.floor(rnd() * 4);
  for (let i = 0; i < n; i++) {
    const [lo, hi] = ranges[Math.floor(rnd() * ranges.length)];
    const at = lo + Math.floor(rnd() * (hi - lo));
    const k = rnd();
    if (k < 0.4) b[at] ^= 1 << Math.floor(rnd() * 8);
    else if (k < 0.8) b[at] = Math.floor(rnd() * 256);
    else b[at] = [0, 0x7f, 0x80, 0xff][Math.floor(rnd() * 4)];
  }
  return b;
}

/** What `allocs typegen` would end in: the metadata's hash, or the error's message. */
function outcome(buf: Buffer, name: string, mode: "on" | "off"): string {
  if (mode === "off") process.env.ALLOCS_TYPEGEN_NATIVE = "off";
  else delete process.env.ALLOCS_TYPEGEN_NATIVE;
  try {
    const model = readTypesFromElf(new ElfFile(buf, name), { noSeparateDebug: true, debugDirs: [] });
    return "meta " + createHash("sha256").update(writeMeta(model)).digest("hex");
  } catch (e) {
    return "error " + (e as Error).message;
  }
}

function child(file: string, seed: number, count: number): void {
  const orig = readFileSync(file);
  const ranges: [number, number][] = new ElfFile(orig, file).sections
    .filter((s) => SECTIONS.includes(s.name) && s.size > 0)
    .map((s) => [s.offset, s.offset + s.size]);
  const rnd = prng(seed);
  const stats = { runs: 0, nativeRuns: 0, handedBack: 0, models: 0, differ: [] as string[] };
  for (let i = 0; i < count; i++) {
    const buf = mutate(orig, ranges, rnd);
    const name = `mutant#${i}`;
    const units = nativeStats.units;
    const back = nativeStats.fallbacks;
    const a = outcome(buf, name, "on");
    if (nativeStats.units > units) stats.nativeRuns++;
    stats.handedBack += nativeStats.fallbacks - back;
    const b = outcome(buf, name, "off");
    if (a !== b) stats.differ.push(`${name}: native ${a.slice(0, 300)} / JS ${b.slice(0, 300)}`);
    if (b.startsWith("meta")) stats.models++;
    stats.runs++;
  }
  process.stdout.write("RESULT " + JSON.stringify(stats) + "\n");
}

if (process.argv[2] === "--child") child(process.argv[3], Number(process.argv[4]), Number(process.argv[5]));
else
  describe("typegen: the native DIE walk on corrupt DWARF ends as the JS walk does", function () {
    this.timeout(300000);
    const cases = [
      {
        label: "gcc -O0 two units",
        srcs: ["typegen_opaque_a.c", "typegen_opaque_b.c"],
        v: VARIANTS[0],
        seed: 11,
      },
      { label: "gcc -O2 typegen_types.c (loclists)", srcs: ["typegen_types.c"], v: VARIANTS[1], seed: 12 },
      {
        label: "gcc -O2 -gdwarf-4 typegen_types.c (.debug_loc)",
        srcs: ["typegen_types.c"],
        v: { label: "", cc: "gcc" as const, flags: ["-gdwarf-4", "-O2"] },
        seed: 13,
      },
      {
        label: "clang -O2 typegen_types.c (strx, addrx)",
        srcs: ["typegen_types.c"],
        v: VARIANTS[7],
        seed: 14,
      },
      {
        // Two units: the second's .debug_addr base is not the default (its statics' addresses).
        label: "clang -O2 two units (addrx with a unit's own base)",
        srcs: ["typegen_opaque_a.c", "typegen_opaque_b.c"],
        v: VARIANTS[7],
        seed: 15,
      },
    ];
    for (const c of cases)
      it(c.label, function () {
        const prog = build(c.srcs, c.v);
        const r = spawnSync(
          process.execPath,
          ["--stack-size=2000", __filename, "--child", prog, String(c.seed), "1500"],
          {
            encoding: "utf8",
            timeout: 240000,
            maxBuffer: 1 << 26,
          },
        );
        const last = (r.stdout ?? "").trim().split("\n").pop() ?? "";
        if (!last.startsWith("RESULT "))
          assert.fail(`child died (${r.signal ?? r.status}): ${(r.stderr ?? "").slice(0, 2000)}`);
        const s = JSON.parse(last.slice(7)) as {
          runs: number;
          nativeRuns: number;
          handedBack: number;
          models: number;
          differ: string[];
        };
        assert.deepEqual(s.differ, [], "every mutant ends as with the JS walk");
        assert.equal(s.runs, 1500);
        // The native walk took units of most mutants, and handed some back (corruption it met).
        assert.ok(s.nativeRuns > s.runs / 4, `native walk used on ${s.nativeRuns} of ${s.runs}`);
        assert.ok(s.handedBack > 0, "some units were handed back");
        console.log(
          `      ${s.runs} mutants: ${s.models} models, native on ${s.nativeRuns}, ${s.handedBack} units handed back`,
        );
      });
  });
