// Fuzz driver, run in a child process by fuzz.test.ts (so a hang or an out-of-memory crash is
// caught by the parent's timeout instead of wedging mocha). Mutates a fixture deterministically
// and checks each outcome is a model or a TypegenFormatError naming the file and an offset.
// A model is then read the way its consumers read it: locations, frame bases and locals are
// decoded lazily (model/lazy-locations.ts), so a malformed location list only fails when
// someone asks for it; the worker asks for all of it, then writes the metadata file from the
// model (`allocs typegen`'s writer) and reads it back with the validating reader.
// Usage: node fuzz-worker.js FILE SEED COUNT BUDGET_MS [SECTION,...]
// With sections named, mutations land only in those (the model reads a mutated location list
// only lazily, and most mutants of the whole DWARF fail before any list is reached).

import { readFileSync } from "node:fs";
import { ElfFile } from "../../typegen/src/elf/elf-file";
import { TypegenFormatError } from "../../typegen/src/errors";
import { TypeModel, readTypesFromElf } from "../../typegen/src/index";
import { readMeta } from "../../typegen/src/meta/reader";
import { writeMeta } from "../../typegen/src/meta/writer";
import { prng } from "./prng";

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

/**
 * Reads every lazily decoded part of the model, as frame metadata, site analysis and dumps do:
 * each function's frame base, parameters and locals, and each variable's locations. Returns how
 * many location ranges it saw (used, so nothing is optimised away).
 */
function touchLazy(model: TypeModel): number {
  let n = 0;
  for (const f of model.functions) {
    n += f.frameBase.length;
    for (const v of f.params) n += v.locations.length;
    for (const v of f.locals) n += v.locations.length;
  }
  return n;
}

function main(): void {
  const [file, seedS, countS, budgetS, focusS] = process.argv.slice(2);
  const orig = readFileSync(file);
  const elf = ElfFile.open(file);
  const focus = focusS ? new Set(focusS.split(",")) : undefined;
  const ranges: [number, number][] = elf.sections
    .filter((s) =>
      focus
        ? focus.has(s.name)
        : s.name.startsWith(".debug_") || s.name === ".symtab" || s.name === ".note.gnu.build-id",
    )
    .map((s) => [s.offset, s.offset + s.size]);
  const rnd = prng(Number(seedS));
  const count = Number(countS);
  const deadline = Date.now() + Number(budgetS);
  const stats = {
    runs: 0,
    models: 0,
    errors: 0,
    /** Typed errors raised only when the lazy parts were read (after readTypesFromElf returned). */
    lazyErrors: 0,
    /** Location ranges decoded from the models, and metadata files written and read back. */
    ranges: 0,
    metas: 0,
    bugs: [] as string[],
    slowest: 0,
  };
  for (let i = 0; i < count && Date.now() < deadline; i++) {
    const buf = mutate(orig, ranges, rnd);
    const name = `fuzz#${i}`;
    const t0 = Date.now();
    process.stdout.write(`run ${i}\n`);
    let model: TypeModel | undefined;
    let complete = false;
    try {
      model = readTypesFromElf(new ElfFile(buf, name), { noSeparateDebug: true, debugDirs: [] });
      stats.ranges += touchLazy(model);
      complete = true;
      stats.models++;
    } catch (e) {
      if (!(e instanceof TypegenFormatError)) stats.bugs.push(`${name}: non-typed ${(e as Error).stack}`);
      else if (e.section === "(whole file)") stats.bugs.push(`${name}: ${e.message}`);
      // A wrapper turned another exception into this (lazy-locations.ts does): still a bug.
      else if (e.detail.startsWith("unexpected failure")) stats.bugs.push(`${name}: ${e.stack}`);
      else if (!e.message.startsWith(name + ": ") || !/at offset 0x[0-9a-f]+/.test(e.message))
        stats.bugs.push(`${name}: message lacks file/offset: ${e.message}`);
      else {
        stats.errors++;
        if (model) stats.lazyErrors++;
      }
    }
    // Every model that reads in full must make a metadata file the validating reader accepts:
    // whatever the DWARF said, the writer has no file offset left to blame, so any error is a bug.
    if (model && complete) {
      try {
        readMeta(writeMeta(model), `${name}.allocsmeta`);
        stats.metas++;
      } catch (e) {
        stats.bugs.push(`${name}: metadata writer: ${(e as Error).stack}`);
      }
    }
    stats.slowest = Math.max(stats.slowest, Date.now() - t0);
    stats.runs++;
  }
  process.stdout.write("RESULT " + JSON.stringify(stats) + "\n");
}

main();
