// dwz-compressed DWARF (what Debian's -dbg packages ship): partial units, DW_TAG_imported_unit,
// and with `dwz -m` a common alt file named by .gnu_debugaltlink, reached through
// DW_FORM_GNU_ref_alt / DW_FORM_GNU_strp_alt. The model must equal the one from the original.

import * as assert from "node:assert/strict";
import { copyFileSync, mkdirSync } from "node:fs";
import { execFileSync } from "node:child_process";
import * as path from "node:path";
import { readDebugAltLink } from "../../typegen/src/elf/debuglink";
import { ElfFile } from "../../typegen/src/elf/elf-file";
import { readTypes } from "../../typegen/src/index";
import { TypeModel } from "../../typegen/src/model/types";
import { VARIANTS, build, have, tmpDir } from "./helpers";
import { readelfDies } from "./readelf";

function summary(m: TypeModel): string[] {
  const types = m.types
    .map((t) => `${t.kind} ${t.name} ${t.cName} ${t.byteSize} ${t.summaryCode ?? ""}`)
    .sort();
  const statics = m.statics.map((s) => `${s.name} ${s.addr} ${m.types[s.type].cName} ${s.size}`).sort();
  const fns = m.functions
    .map((f) => `${f.name} ${f.lowPc} ${m.types[f.type].cName} ${f.locals.length}`)
    .sort();
  return [...types, ...statics, ...fns];
}

describe("typegen on dwz-processed DWARF", function () {
  before(function () {
    if (!have("dwz")) {
      console.log("      (skipped: dwz is not installed; apt-get install dwz)");
      this.skip();
    }
  });

  it("reads partial units and imported units within one file (dwz PROG)", function () {
    const orig = build(["typegen_dwz_a.c", "typegen_dwz_b.c"], VARIANTS[0]);
    const dir = path.join(tmpDir(), "dwz1");
    mkdirSync(dir, { recursive: true });
    const prog = path.join(dir, "prog");
    copyFileSync(orig, prog);
    execFileSync("dwz", [prog]);
    const tags = readelfDies(prog).map((d) => d.tag);
    assert.ok(
      tags.includes("DW_TAG_partial_unit") && tags.includes("DW_TAG_imported_unit"),
      "dwz made partial units",
    );
    assert.deepEqual(summary(readTypes(prog)), summary(readTypes(orig)));
  });

  it("follows .gnu_debugaltlink into the common file (dwz -m), GNU_ref_alt and GNU_strp_alt", function () {
    const o0 = build(["typegen_types.c"], VARIANTS[0]);
    const o1 = build(["typegen_types.c"], { label: "gcc -O1", cc: "gcc", flags: ["-g", "-O1"] });
    const dir = path.join(tmpDir(), "dwzm");
    mkdirSync(dir, { recursive: true });
    const p0 = path.join(dir, "p0");
    const p1 = path.join(dir, "p1");
    copyFileSync(o0, p0);
    copyFileSync(o1, p1);
    const common = path.join(dir, "common.debug");
    execFileSync("dwz", ["-m", common, "-M", common, p0, p1]);
    const alt = readDebugAltLink(ElfFile.open(p0));
    assert.equal(alt?.file, common);
    const text = execFileSync("readelf", ["--debug-dump=info", p0], { encoding: "utf8" });
    assert.match(text, /alt indirect string/);
    assert.deepEqual(summary(readTypes(p0)), summary(readTypes(o0)));
    assert.deepEqual(summary(readTypes(p1)), summary(readTypes(o1)));
  });
});
