// Inputs the fuzz test (fuzz.test.ts) found to end in something other than a model or a
// TypegenFormatError, remade by hand so each stays a fast, readable case: one attribute of one
// DIE of a fixture patched in place (found with readelf), then the model read the way
// `allocs typegen` reads it: every lazy location decoded and the metadata file written.

import * as assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { Cursor } from "../../typegen/src/bytes";
import { ElfFile } from "../../typegen/src/elf/elf-file";
import { TypeModel, TypegenFormatError, readTypesFromElf } from "../../typegen/src/index";
import { readMeta } from "../../typegen/src/meta/reader";
import { writeMeta } from "../../typegen/src/meta/writer";
import { VARIANTS, build, run } from "./helpers";
import { refString } from "./readelf";

interface AttrAt {
  /** Section offsets of the DIE and of the attribute's value. */
  die: number;
  value: number;
  form: string;
}

/**
 * Where attribute `attr` of a DIE is in .debug_info: the DIE is named by the path of DW_AT_name
 * values from a top-level DIE down ("bits", "b": member b of struct bits).
 */
function findAttr(exe: string, names: string[], attr: string): AttrAt {
  const text = run("readelf", ["--debug-dump=info", "-W", exe]);
  const path: (string | undefined)[] = [];
  let depth = -1;
  let die = -1;
  const attrs = new Map<string, { value: number; form: string }>();
  const match = (): AttrAt | undefined => {
    const a = attrs.get(attr);
    const p = path.slice(1, depth + 1);
    return a && p.length === names.length && p.every((n, i) => n === names[i]) ? { die, ...a } : undefined;
  };
  for (const line of text.split("\n")) {
    const d = /^\s*<(\d+)><([0-9a-f]+)>: Abbrev Number: (\d+)/.exec(line);
    if (d) {
      const hit = match();
      if (hit) return hit;
      attrs.clear();
      depth = +d[1];
      die = parseInt(d[2], 16);
      path.length = depth + 1;
      path[depth] = undefined;
      continue;
    }
    const a = /^\s*<([0-9a-f]+)>\s+(DW_AT_\w+)\s*:\s*\((\w+)\) ?(.*)$/.exec(line);
    if (!a || die < 0) continue;
    attrs.set(a[2], { value: parseInt(a[1], 16), form: a[3] });
    if (a[2] === "DW_AT_name") path[depth] = refString(a[4]).trim();
  }
  const hit = match();
  if (!hit) assert.fail(`${names.join("/")} ${attr} not found in ${exe}`);
  return hit;
}

/** A copy of `exe` with `bytes` written over the value of one attribute. */
function patched(exe: string, at: AttrAt, form: string, bytes: number[]): Buffer {
  assert.equal(at.form, form, "the fixture's attribute form changed: update the case");
  const buf = readFileSync(exe);
  const info = ElfFile.open(exe).sections.find((s) => s.name === ".debug_info")!;
  Buffer.from(bytes).copy(buf, info.offset + at.value);
  return buf;
}

/** Reads as `allocs typegen` does: the model, every lazy part of it, the metadata file. */
function readAll(buf: Buffer, name: string): TypeModel {
  const model = readTypesFromElf(new ElfFile(buf, name), { noSeparateDebug: true, debugDirs: [] });
  for (const f of model.functions) {
    assert.ok(Array.isArray(f.frameBase));
    for (const v of [...f.params, ...f.locals]) assert.ok(Array.isArray(v.locations));
  }
  readMeta(writeMeta(model), `${name}.allocsmeta`);
  return model;
}

/** Asserts `f` throws a TypegenFormatError in .debug_info at `offset` whose detail matches `re`. */
function throwsAt(f: () => unknown, offset: number, re: RegExp): void {
  assert.throws(f, (e: unknown) => {
    assert.ok(e instanceof TypegenFormatError, String(e));
    assert.equal(e.section, ".debug_info");
    assert.equal(e.offset, offset, e.message);
    assert.match(e.detail, re);
    return true;
  });
}

describe("typegen fuzz findings, as unit cases", function () {
  this.timeout(60000);

  it("refuses a LEB128 wider than 64 bits (it was Infinity or NaN in the model)", () => {
    const at3 = (bytes: number[]): Cursor =>
      new Cursor(Buffer.from([0, 0, 0, ...bytes]), "f", ".debug_info", 3);
    const ones = (n: number): number[] => new Array<number>(n).fill(0xff);
    assert.equal(at3([...ones(9), 0x01]).uleb(), 2 ** 64); // 2^64 - 1, as near as a double gets
    assert.equal(at3([...new Array<number>(9).fill(0x80), 0x7f]).sleb(), -(2 ** 63));
    assert.equal(at3([...new Array<number>(20).fill(0x80), 0x00]).uleb(), 0); // padded, still 0
    for (const bytes of [
      [...ones(10), 0x01], // 2^71 - 1
      [...ones(200), 0x00], // Infinity times a zero byte: NaN
    ]) {
      assert.throws(
        () => at3(bytes).uleb(),
        (e: unknown) =>
          e instanceof TypegenFormatError && e.offset === 3 && /wider than 64 bits/.test(e.detail),
      );
      assert.throws(() => at3(bytes).sleb(), TypegenFormatError);
    }
  });

  it("refuses a DWARF 4 bit-field whose bit offset puts it before its struct", () => {
    const exe = build(["typegen_types.c"], VARIANTS[2]);
    const at = findAttr(exe, ["bits", "b"], "DW_AT_bit_offset");
    throwsAt(() => readAll(patched(exe, at, "data1", [0xff]), "bitfield"), at.die, /bit-field at bit -\d+/);
  });

  it("refuses a function whose high_pc length runs past 2^64", () => {
    const exe = build(["typegen_types.c"], VARIANTS[0]);
    const at = findAttr(exe, ["main"], "DW_AT_high_pc");
    const buf = patched(exe, at, "data8", new Array<number>(8).fill(0xff));
    throwsAt(() => readAll(buf, "highpc"), at.die, /function range .* beyond 2\^64/);
  });

  it("drops a function whose low_pc is lld's tombstone (-1: code the linker discarded)", () => {
    const exe = build(["typegen_types.c"], VARIANTS[0]);
    const at = findAttr(exe, ["main"], "DW_AT_low_pc");
    const model = readAll(patched(exe, at, "addr", new Array<number>(8).fill(0xff)), "tombstone");
    assert.ok(!model.functions.some((f) => f.name === "main"));
    assert.ok(model.functions.length > 0);
  });

  it("keeps an unsigned enum's enumerators finite when its byte size is corrupt", () => {
    const exe = build(["typegen_types.c"], VARIANTS[0]);
    const at = findAttr(exe, ["big"], "DW_AT_byte_size");
    const model = readAll(patched(exe, at, "data1", [0xff]), "enumsize");
    const big = model.types.find((t) => t.kind === "enum" && t.tag === "big")!;
    assert.ok(big.enumerators!.every((e) => Number.isFinite(e.value)));
  });
});
