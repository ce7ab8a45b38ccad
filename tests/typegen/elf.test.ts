// The ELF reader against readelf on the same files: section table, symbols, build-id,
// compressed sections, and separate debug file lookup (objcopy --only-keep-debug + debuglink).

import * as assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { copyFileSync, mkdirSync } from "node:fs";
import * as path from "node:path";
import { ElfFile } from "../../typegen/src/elf/elf-file";
import { SHF_COMPRESSED } from "../../typegen/src/elf/constants";
import { findDebugFile, readDebugLink } from "../../typegen/src/elf/debuglink";
import { buildId } from "../../typegen/src/elf/notes";
import { readSymbols } from "../../typegen/src/elf/symbols";
import { readTypes } from "../../typegen/src/index";
import { VARIANTS, build, tmpDir } from "./helpers";
import { readelfBuildId, readelfSections, readelfSymbols } from "./readelf";

const STT: Record<number, string> = {
  0: "NOTYPE",
  1: "OBJECT",
  2: "FUNC",
  3: "SECTION",
  4: "FILE",
  5: "COMMON",
  6: "TLS",
  10: "IFUNC",
};
const STB: Record<number, string> = { 0: "LOCAL", 1: "GLOBAL", 2: "WEAK", 10: "UNIQUE" };

describe("typegen ELF reader vs readelf", function () {
  const gcc0 = VARIANTS[0];
  const gz = VARIANTS.find((v) => v.flags.includes("-gz"))!;

  it("reads the section table (names, offsets, sizes) like readelf -S", function () {
    const exe = build(["typegen_types.c"], gcc0);
    const elf = ElfFile.open(exe);
    const ref = readelfSections(exe);
    assert.equal(elf.sections.length, ref.length);
    for (const r of ref) {
      const s = elf.sections[r.index];
      assert.equal(s.name, r.name, `section ${r.index}`);
      assert.equal(s.offset, r.offset, r.name);
      assert.equal(s.size, r.size, r.name);
    }
  });

  it("reads .symtab and .dynsym like readelf -s", function () {
    const exe = build(["typegen_types.c"], gcc0);
    const { symtab, dynsym } = readSymbols(ElfFile.open(exe));
    const ref = readelfSymbols(exe);
    const fmt = (s: { value: number; size: number; type: string; bind: string; name: string }): string =>
      // readelf decorates versioned names (".dynsym": "@GLIBC_2.2.5 (3)"); compare the bare name.
      `${s.name.replace(/@.*$/, "")}|${s.value.toString(16)}|${s.size}|${s.type}|${s.bind}`;
    const mine = [
      ...dynsym.map((s) => fmt({ ...s, type: STT[s.type], bind: STB[s.bind] })),
      ...symtab.map((s) => fmt({ ...s, type: STT[s.type], bind: STB[s.bind] })),
    ];
    assert.deepEqual(mine, ref.map(fmt));
    assert.ok(symtab.some((s) => s.name === "grid" && s.size === 48));
  });

  it("reads the GNU build-id like readelf -n", function () {
    const exe = build(["typegen_types.c"], gcc0);
    const id = buildId(ElfFile.open(exe));
    assert.ok(id && id.length === 40);
    assert.equal(id, readelfBuildId(exe));
  });

  it("inflates SHF_COMPRESSED (-gz) sections to the size in their header", function () {
    const exe = build(["typegen_types.c"], gz);
    const elf = ElfFile.open(exe);
    const info = elf.section(".debug_info")!;
    assert.ok(info.flags & SHF_COMPRESSED, "gcc -gz should compress .debug_info");
    const data = elf.sectionData(".debug_info")!;
    assert.equal(data.readUInt32LE(0) + 4, data.length, "one unit spanning the inflated section");
    assert.ok(data.length > info.size);
  });

  it("finds a separate debug file by .gnu_debuglink (next to the file and in .debug/)", function () {
    const exe = build(["typegen_types.c"], gcc0);
    const dir = path.join(tmpDir(), "split");
    mkdirSync(path.join(dir, ".debug"), { recursive: true });
    const prog = path.join(dir, "prog");
    const dbg = path.join(dir, ".debug", "prog.debug");
    execFileSync("objcopy", ["--only-keep-debug", exe, dbg]);
    execFileSync("objcopy", ["--strip-debug", "--add-gnu-debuglink=" + dbg, exe, prog]);
    const elf = ElfFile.open(prog);
    assert.equal(elf.hasDwarf(), false);
    assert.equal(elf.hasCode(), true, "the stripped program keeps its code");
    assert.equal(ElfFile.open(dbg).hasCode(), false, "the debug file's .text is a NOBITS placeholder");
    assert.equal(readDebugLink(elf)?.file, "prog.debug");
    // Build-id lookup is tried first; point it at an empty debug root so the debuglink path is used.
    const found = findDebugFile(elf, { debugDirs: [path.join(dir, "no-such-root")] });
    assert.equal(found, dbg);
    const m = readTypes(prog, { debugDirs: [path.join(dir, "no-such-root")] });
    assert.equal(m.debugFile, dbg);
    assert.ok(m.types.some((t) => t.name === "point"));
    assert.equal(m.buildId, buildId(ElfFile.open(exe)));
  });

  it("finds a separate debug file by build-id under <debug root>/.build-id/xx/yyyy.debug", function () {
    const exe = build(["typegen_types.c"], gcc0);
    const id = buildId(ElfFile.open(exe))!;
    const root = path.join(tmpDir(), "debugroot");
    const dbgDir = path.join(root, ".build-id", id.slice(0, 2));
    mkdirSync(dbgDir, { recursive: true });
    const prog = path.join(tmpDir(), "prog-stripped");
    execFileSync("objcopy", ["--only-keep-debug", exe, path.join(dbgDir, id.slice(2) + ".debug")]);
    execFileSync("objcopy", ["--strip-debug", exe, prog]);
    assert.equal(
      findDebugFile(ElfFile.open(prog), { debugDirs: [root] }),
      path.join(dbgDir, id.slice(2) + ".debug"),
    );
    // A copy elsewhere with the wrong build-id must not be taken.
    copyFileSync(build(["typegen_opaque_a.c", "typegen_opaque_b.c"], gcc0), path.join(dbgDir, "ffff.debug"));
    const m = readTypes(prog, { debugDirs: [root] });
    assert.ok(m.statics.some((s) => s.name === "grid"));
  });
});
