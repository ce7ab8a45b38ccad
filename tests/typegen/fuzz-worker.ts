// Fuzz driver, run in a child process by fuzz.test.ts (so a hang or an out-of-memory crash is
// caught by the parent's timeout instead of wedging mocha). Mutates a fixture deterministically
// and checks each outcome is a model or a TypegenFormatError naming the file and an offset.
// Usage: node fuzz-worker.js FILE SEED COUNT BUDGET_MS

import { readFileSync } from "node:fs";
import { ElfFile } from "../../typegen/src/elf/elf-file";
import { TypegenFormatError } from "../../typegen/src/errors";
import { readTypesFromElf } from "../../typegen/src/index";

/** mulberry32: small, fast, deterministic. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const INTERESTING = [0, 1, 0x7f, 0x80, 0xff, 0x7fffffff, 0x80000000, 0xffffffff, 0xfffffff0];

function mutate(orig: Buffer, ranges: [number, number][], rnd: () => number): Buffer {
  const pick = (): number => {
    if (ranges.length > 0 && rnd() < 0.8) {
      const [lo, hi] = ranges[Math.floor(rnd() * ranges.length)];
      return lo + Math.floor(rnd() * Math.max(1, hi - lo));
    }
    return Math.floor(rnd() * orig.length);
  };
  const kind = Math.floor(rnd() * 5);
  if (kind === 0) return orig.subarray(0, pick()); // truncation
  const b = Buffer.from(orig);
  const n = 1 + Math.floor(rnd() * 8);
  for (let i = 0; i < n; i++) {
    const at = pick();
    if (at >= b.length) continue;
    if (kind === 1) b[at] ^= 1 << Math.floor(rnd() * 8);
    else if (kind === 2) b[at] = Math.floor(rnd() * 256);
    else if (kind === 3 && at + 4 <= b.length)
      b.writeUInt32LE(INTERESTING[Math.floor(rnd() * INTERESTING.length)] >>> 0, at);
    else if (at + 16 <= b.length) b.copy(b, at, pick(), pick() + 16); // splice a chunk from elsewhere
  }
  return b;
}

function main(): void {
  const [file, seedS, countS, budgetS] = process.argv.slice(2);
  const orig = readFileSync(file);
  const elf = ElfFile.open(file);
  const ranges: [number, number][] = elf.sections
    .filter((s) => s.name.startsWith(".debug_") || s.name === ".symtab" || s.name === ".note.gnu.build-id")
    .map((s) => [s.offset, s.offset + s.size]);
  const rnd = prng(Number(seedS));
  const count = Number(countS);
  const deadline = Date.now() + Number(budgetS);
  const stats = { runs: 0, models: 0, errors: 0, bugs: [] as string[], slowest: 0 };
  for (let i = 0; i < count && Date.now() < deadline; i++) {
    const buf = mutate(orig, ranges, rnd);
    const name = `fuzz#${i}`;
    const t0 = Date.now();
    process.stdout.write(`run ${i}\n`);
    try {
      readTypesFromElf(new ElfFile(buf, name), { noSeparateDebug: true, debugDirs: [] });
      stats.models++;
    } catch (e) {
      if (!(e instanceof TypegenFormatError)) stats.bugs.push(`${name}: non-typed ${(e as Error).stack}`);
      else if (e.section === "(whole file)") stats.bugs.push(`${name}: ${e.message}`);
      else if (!e.message.startsWith(name + ": ") || !/at offset 0x[0-9a-f]+/.test(e.message))
        stats.bugs.push(`${name}: message lacks file/offset: ${e.message}`);
      else stats.errors++;
    }
    stats.slowest = Math.max(stats.slowest, Date.now() - t0);
    stats.runs++;
  }
  process.stdout.write("RESULT " + JSON.stringify(stats) + "\n");
}

main();
