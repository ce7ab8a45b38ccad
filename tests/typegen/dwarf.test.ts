// The DWARF reader against `readelf --debug-dump` on the same binaries, for every compiler /
// optimisation / DWARF version variant: DIE counts per tag, attribute values of every DIE for
// the attributes the model uses, and line table rows.

import * as assert from "node:assert/strict";
import { DW_AT, tagName } from "../../typegen/src/dwarf/constants";
import { Dwarf } from "../../typegen/src/dwarf/dwarf";
import { readLineTable } from "../../typegen/src/dwarf/line";
import { forEachDie } from "../../typegen/src/dwarf/walk";
import { ElfFile } from "../../typegen/src/elf/elf-file";
import { VARIANTS, build, have } from "./helpers";
import { readelfDies, readelfLines, refNumber, refRef, refString } from "./readelf";

interface MyDie {
  section: string;
  offset: number;
  depth: number;
  tag: string;
  name?: string;
  byteSize?: number;
  memberLoc?: number;
  encoding?: number;
  declLine?: number;
  type?: number;
}

function myDies(exe: string): MyDie[] {
  const dwarf = new Dwarf(ElfFile.open(exe));
  const out: MyDie[] = [];
  forEachDie(dwarf, (cur, depth) => {
    const d: MyDie = {
      section: cur.unit.src.secName,
      offset: cur.off,
      depth,
      tag: tagName(cur.tag),
      name: cur.str(DW_AT.name),
      byteSize: cur.udata(DW_AT.byte_size),
      memberLoc: cur.udata(DW_AT.data_member_location),
      encoding: cur.udata(DW_AT.encoding),
      declLine: cur.udata(DW_AT.decl_line),
    };
    const t = cur.ref(DW_AT.type);
    if (t >= 0) {
      const u = dwarf.unitFor(t);
      if (u && u.src === cur.unit.src) d.type = t - u.src.base;
    }
    out.push(d);
  });
  return out;
}

const FIXTURE_SETS = [["typegen_types.c"], ["typegen_opaque_a.c", "typegen_opaque_b.c"]];

describe("typegen DWARF reader vs readelf --debug-dump", function () {
  for (const v of VARIANTS)
    for (const srcs of FIXTURE_SETS)
      describe(`${v.label}: ${srcs.join(" + ")}`, function () {
        let exe = "";
        before(function () {
          if (!have(v.cc)) {
            console.log(`      (skipped: ${v.cc} is not installed; apt-get install ${v.cc})`);
            this.skip();
          }
          exe = build(srcs, v);
        });

        it("finds the same DIEs (offset, depth, tag) and per-tag counts", function () {
          const ref = readelfDies(exe);
          const mine = myDies(exe);
          const count = (ds: { tag: string }[]): Record<string, number> => {
            const c: Record<string, number> = {};
            for (const d of ds) c[d.tag] = (c[d.tag] ?? 0) + 1;
            return c;
          };
          assert.deepEqual(count(mine), count(ref));
          assert.deepEqual(
            mine.map((d) => `${d.section}:${d.offset.toString(16)}:${d.depth}:${d.tag}`),
            ref.map((d) => `${d.section}:${d.offset.toString(16)}:${d.depth}:${d.tag}`),
          );
        });

        it("decodes name, byte_size, data_member_location, encoding, decl_line and type like readelf", function () {
          const ref = readelfDies(exe);
          const mine = myDies(exe);
          assert.equal(mine.length, ref.length);
          let checked = 0;
          const same = (actual: unknown, expected: unknown, where: string): void => {
            assert.equal(actual, expected, where);
            checked++;
          };
          for (let i = 0; i < ref.length; i++) {
            const r = ref[i];
            const m = mine[i];
            const where = `${r.tag} at ${r.section}+0x${r.offset.toString(16)}`;
            const a = r.attrs;
            const name = a.get("DW_AT_name");
            if (name !== undefined) same(m.name, refString(name), where);
            const size = a.get("DW_AT_byte_size");
            if (size !== undefined) same(m.byteSize, refNumber(size), where);
            const enc = a.get("DW_AT_encoding");
            if (enc !== undefined) same(m.encoding, refNumber(enc), where);
            const line = a.get("DW_AT_decl_line");
            if (line !== undefined) same(m.declLine, refNumber(line), where);
            const loc = a.get("DW_AT_data_member_location");
            if (loc !== undefined && refNumber(loc) !== undefined && !/block/.test(loc))
              same(m.memberLoc, refNumber(loc), where);
            const t = a.get("DW_AT_type");
            if (t !== undefined && refRef(t) !== undefined) same(m.type, refRef(t), where);
          }
          assert.ok(checked > 50, `only ${checked} attribute values compared`);
        });

        it("decodes the line table rows like readelf --debug-dump=decodedline", function () {
          const elf = ElfFile.open(exe);
          const dwarf = new Dwarf(elf);
          const cur = dwarf.cursor();
          const rows: string[] = [];
          const seen = new Set<number>();
          for (const u of dwarf.units) {
            cur.setUnit(u);
            // Type units share their compile unit's line program: read each program once.
            if (u.stmtList < 0 || seen.has(u.stmtList)) continue;
            seen.add(u.stmtList);
            const t = readLineTable(dwarf.main, u.stmtList, u.addrSize);
            for (let i = 0; i < t.length; i++) {
              const r = t.row(i);
              rows.push(
                r.endSequence ? `end ${r.address.toString(16)}` : `${r.line} ${r.address.toString(16)}`,
              );
            }
          }
          const ref = readelfLines(exe).map((r) =>
            r.end ? `end ${r.address.toString(16)}` : `${r.line} ${r.address.toString(16)}`,
          );
          assert.ok(ref.length > 5);
          assert.deepEqual(rows, ref);
        });
      });

  it("maps a PC to file:line (main's first line)", function () {
    const exe = build(["typegen_types.c"], VARIANTS[0]);
    const dwarf = new Dwarf(ElfFile.open(exe));
    const u = dwarf.units[0];
    dwarf.cursor().setUnit(u);
    const t = readLineTable(dwarf.main, u.stmtList, u.addrSize);
    // Find main's low_pc through the DIEs, then look it up.
    let mainPc = -1;
    forEachDie(dwarf, (cur) => {
      if (cur.str(DW_AT.name) === "main" && cur.has(DW_AT.low_pc)) mainPc = cur.addr(DW_AT.low_pc)!;
    });
    const hit = t.lookup(mainPc);
    assert.ok(hit);
    assert.match(hit.file ?? "", /typegen_types\.c$/);
    assert.ok(hit.line > 90 && hit.line < 110, `line ${hit.line}`);
  });
});
