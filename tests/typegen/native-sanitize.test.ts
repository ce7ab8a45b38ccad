// The native DIE walker's core under AddressSanitizer and UndefinedBehaviorSanitizer: the
// standalone driver (typegen/native/driver.c, `make -C typegen/native sanitize`) walks every unit
// of real builds and of 1500 mutated copies of their DWARF sections (typegen's own decompressed
// sections, dumped here). Any out-of-bounds read, overflow, undefined shift or leak ends it with
// the sanitizer's report and a non-zero status.

import * as assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { Dwarf } from "../../typegen/src/dwarf/dwarf";
import { ElfFile } from "../../typegen/src/elf/elf-file";
import { nativeInputs } from "../../typegen/src/model/collect-native";
import { REPO, VARIANTS, build, have, tmpDir } from "./helpers";

const NATIVE = path.join(REPO, "typegen", "native");
const CHECK = path.join(NATIVE, "build", "nw-check");
const SECTIONS = [
  "info",
  "types",
  "abbrev",
  "str",
  "line_str",
  "str_offsets",
  "addr",
  "loc",
  "loclists",
  "ranges",
  "rnglists",
];

/** Writes what the walker reads of `prog` (driver.c's input) into a new directory. */
function dump(prog: string, name: string): string {
  const dir = path.join(tmpDir(), `nw-check-${name}`);
  mkdirSync(dir, { recursive: true });
  const n = nativeInputs(new Dwarf(ElfFile.open(prog)));
  SECTIONS.forEach((s, i) => writeFileSync(path.join(dir, s), n.sections[i]));
  writeFileSync(
    path.join(dir, "units.f64"),
    Buffer.from(n.units.buffer, n.units.byteOffset, n.units.byteLength),
  );
  writeFileSync(path.join(dir, "meta.txt"), `${n.typesBase} ${n.altInfoBase} ${n.hasAlt ? 1 : 0}\n`);
  return dir;
}

describe("typegen: the native DIE walker under ASan and UBSan, on real and mutated DWARF", function () {
  this.timeout(300000);

  before(function () {
    execFileSync("make", ["-s", "-C", NATIVE, "sanitize"], { stdio: ["ignore", "ignore", "pipe"] });
  });

  const cases = [
    { label: "gcc -O2 typegen_types.c (loclists)", srcs: ["typegen_types.c"], v: VARIANTS[1], seed: 21 },
    {
      label: "gcc -O0 -gdwarf-4 two units",
      srcs: ["typegen_opaque_a.c", "typegen_opaque_b.c"],
      v: VARIANTS[2],
      seed: 22,
    },
    { label: "clang -O2 typegen_types.c (strx, addrx)", srcs: ["typegen_types.c"], v: VARIANTS[7], seed: 23 },
    { label: "gcc -O0 -gdwarf-4 -fdebug-types-section", srcs: ["typegen_types.c"], v: VARIANTS[4], seed: 24 },
  ];
  for (const c of cases)
    it(c.label, function () {
      if (!have(c.v.cc)) this.skip();
      const dir = dump(build(c.srcs, c.v), String(c.seed));
      const r = spawnSync(CHECK, [dir, String(c.seed), "1500"], { encoding: "utf8", timeout: 240000 });
      assert.equal(r.status, 0, `nw-check failed (${r.signal ?? r.status}): ${r.stderr.slice(0, 3000)}`);
      const lines = r.stdout.trim().split("\n");
      assert.match(lines[0], /^original: \d+ walked, 0 handed back$/);
      const m = /^ok (\d+) units, 1500 mutants: (\d+) walked, (\d+) handed back$/.exec(lines[1]);
      assert.ok(m, r.stdout);
      assert.ok(Number(m[2]) > 0 && Number(m[3]) > 0, "mutants both walked and handed back");
      console.log(`      ${lines[1]}`);
    });
});
