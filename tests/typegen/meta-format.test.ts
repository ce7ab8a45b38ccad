// The metadata file: typegen/src/meta/format.ts against the normative C header (sizeof and
// offsetof of every record and field, from a compiled C program), writer -> reader round trip
// on a real binary, the reader's refusals, and the source route for allocation-site types.
import { strict as assert } from "node:assert";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { readTypes, TypegenFormatError } from "../../typegen/src/index";
import * as format from "../../typegen/src/meta/format";
import { HEADER, Kind, RECORDS, SITE_ARRAY, TYPE } from "../../typegen/src/meta/format";
import { readMeta } from "../../typegen/src/meta/reader";
import { writeMeta } from "../../typegen/src/meta/writer";
import { inferSourceSites } from "../../typegen/src/sites/index";
import { findAllocCallsInBinary } from "../../typegen/src/sites/calls";
import { ElfFile } from "../../typegen/src/elf/elf-file";
import { FIXTURES, REPO, tmpDir } from "./helpers";

const INCLUDE = path.join(REPO, "runtime", "include");

function build(name: string, out: string, flags: string[] = ["-g", "-O0"]): string {
  const exe = path.join(tmpDir(), out);
  const stub = path.join(REPO, "runtime", "build", "liballocs_stub.so");
  const r = spawnSync("gcc", [...flags, `-I${INCLUDE}`, "-o", exe, path.join(FIXTURES, name), stub, "-ldl"], {
    encoding: "utf8",
  });
  assert.equal(r.status, 0, r.stderr);
  return exe;
}

describe("metadata format: TS tables vs allocs_meta_format.h", () => {
  it("agrees on sizeof and offsetof of every record and field", () => {
    const lines: string[] = [];
    for (const r of RECORDS) {
      lines.push(`printf("%s size %zu\\n", "${r.cName}", sizeof(struct ${r.cName}));`);
      for (const f of r.fields)
        lines.push(
          `printf("%s %s %zu\\n", "${r.cName}", "${f.name}", offsetof(struct ${r.cName}, ${f.name}));`,
        );
    }
    const src = path.join(tmpDir(), "meta_layout.c");
    fs.writeFileSync(
      src,
      `#include <stddef.h>\n#include <stdio.h>\n#include "allocs_meta_format.h"\nint main(void) {\n${lines.join("\n")}\nreturn 0;\n}\n`,
    );
    const exe = path.join(tmpDir(), "meta_layout");
    const cc = spawnSync("gcc", [`-I${INCLUDE}`, "-o", exe, src], { encoding: "utf8" });
    assert.equal(cc.status, 0, cc.stderr);
    const out = spawnSync(exe, { encoding: "utf8" }).stdout.trim().split("\n");
    const expected: string[] = [];
    for (const r of RECORDS) {
      expected.push(`${r.cName} size ${r.size}`);
      for (const f of r.fields) expected.push(`${r.cName} ${f.name} ${f.offset}`);
    }
    assert.deepEqual(out, expected);
  });

  it("agrees on every constant of the header: magic, version, suffix, sections, kinds and flags", () => {
    // scripts/header-constants.py compiles the header and prints each macro and enumerator.
    const r = spawnSync(
      "/usr/bin/python3",
      [path.join(REPO, "scripts", "header-constants.py"), "allocs_meta_format.h"],
      {
        encoding: "utf8",
      },
    );
    assert.equal(r.status, 0, r.stderr);
    const constants = JSON.parse(r.stdout) as Record<string, number | string>;
    assert.equal(constants.ALLOCS_KIND_FRAME, Kind.FRAME); // enumerators are there too
    const exported = format as unknown as Record<string, unknown>;
    for (const [cName, value] of Object.entries(constants)) {
      const name = cName.replace(/^ALLOCS_/, "");
      const section = name.replace(/^META_/, "");
      const twin =
        name === "META_NSECTIONS"
          ? format.NSECTIONS
          : name.startsWith("KIND_")
            ? (Kind as unknown as Record<string, number>)[name.slice("KIND_".length)]
            : section in format.Section && name !== "META_NONE"
              ? (format.Section as unknown as Record<string, number>)[section]
              : exported[name];
      assert.equal(twin, value, `format.ts's twin of ${cName}`);
    }
    assert.deepEqual(
      format.SECTION_NAMES,
      Object.keys(constants)
        .filter((c) => /^ALLOCS_META_/.test(c) && typeof constants[c] === "number")
        .filter(
          (c) =>
            (format.Section as unknown as Record<string, unknown>)[c.slice("ALLOCS_META_".length)] !==
            undefined,
        )
        .map((c) => c.slice("ALLOCS_META_".length)),
    );
  });
});

describe("metadata writer and reader", () => {
  let exe: string;
  before(() => {
    exe = build("types_probe.c", "types_probe_meta");
  });

  it("round-trips a real binary's types, statics, frames and sites", () => {
    const model = readTypes(exe);
    const int = model.types.findIndex((t) => t.name === "int$32");
    const buf = writeMeta(model, [{ vaddr: 0x1234, type: int, flags: SITE_ARRAY }]);
    const m = readMeta(buf, "rt");
    assert.equal(m.buildId, model.buildId);
    for (const t of model.types) assert.equal(m.types[t.id].name, t.name);
    const shape = m.types[m.byName.get("shape")!];
    assert.equal(shape.kind, Kind.STRUCT);
    assert.equal(shape.size, 48);
    const mem = m.members.slice(shape.first, shape.first + shape.count);
    assert.deepEqual(
      mem.map((x) => [x.name, x.offset, x.bitSize, x.bitOffset]),
      [
        ["name", 0, 0, 0],
        ["corners", 8, 0, 0],
        ["colour", 32, 0, 0],
        ["flag", 36, 3, 0],
        ["other", 36, 5, 3],
        ["next", 40, 0, 0],
      ],
    );
    const colour = m.types[m.byName.get("colour")!];
    assert.deepEqual(
      m.enumerators.slice(colour.first, colour.first + colour.count).map((e) => [e.name, e.value]),
      [
        ["RED", 1],
        ["GREEN", 2],
        ["BLUE", 40],
      ],
    );
    const main = m.statics.find((s) => s.name === "main")!;
    assert.equal(
      m.types[main.type].name,
      "__FUN_FROM___ARG0_int$32__ARG1___PTR___PTR_signed_char$8__FUN_TO_int$32",
    );
    for (let i = 1; i < m.statics.length; i++) assert.ok(m.statics[i - 1].vaddr <= m.statics[i].vaddr);
    const frame = m.frames.find((f) => f.function === "main")!;
    const ft = m.types[frame.type];
    assert.equal(ft.name, "__FRAME_main");
    const fm = m.members.slice(ft.first, ft.first + ft.count);
    const local = fm.find((x) => x.name === "local_pt")!;
    assert.equal(m.types[local.type].name, "point");
    const v = m.frameVars
      .slice(frame.firstVar, frame.firstVar + frame.nvars)
      .find((x) => x.name === "local_pt")!;
    assert.equal(local.offset, v.cfaOffset + ft.size, "FRAME member offsets count from CFA - size");
    assert.deepEqual(m.sites, [{ vaddr: 0x1234, type: int, flags: SITE_ARRAY }]);
    assert.equal(readMeta(writeMeta(model, [])).sites.length, 0);
  });

  it("writes an unsigned enumerator of 2^64 - 1 as all ones (as a double it is 2^64)", () => {
    const m = readMeta(writeMeta(readTypes(build("typegen_types.c", "typegen_types_meta"))));
    const big = m.types[m.byName.get("big")!];
    const es = m.enumerators.slice(big.first, big.first + big.count);
    assert.deepEqual(
      es.map((e) => [e.name, e.value]),
      [["BIG_MAX", -1]],
    );
  });

  it("writes an array longer than the 32-bit count as unbounded, keeping its 64-bit size", () => {
    const m = readMeta(writeMeta(readTypes(build("typegen_huge.c", "typegen_huge_meta"))));
    const huge = m.types.find((t) => t.kind === Kind.ARRAY && t.size === 2 ** 33);
    assert.ok(huge, m.types.map((t) => `${t.name} ${t.size}`).join("\n"));
    assert.equal(huge.count, 0);
  });

  it("names a FRAME type apart from a type already so named, and keeps each string once", () => {
    // A struct named like f's frame type: its name reaches the string table as a type's, the
    // frame's as a prefix and a function name (string-table.ts keeps both in one place).
    const src = path.join(tmpDir(), "frame_names.c");
    fs.writeFileSync(
      src,
      [
        "struct __FRAME_f { int x; } frame_name_taken;",
        "int f(int n) { volatile int a = n; return a + frame_name_taken.x; }",
        "int main(void) { return f(2); }",
        "",
      ].join("\n"),
    );
    const exe = path.join(tmpDir(), "frame_names");
    const r = spawnSync("gcc", ["-g", "-O0", "-o", exe, src], { encoding: "utf8" });
    assert.equal(r.status, 0, r.stderr);
    const buf = writeMeta(readTypes(exe));
    const m = readMeta(buf);
    const f = m.frames.find((x) => x.function === "f")!;
    assert.equal(m.types[f.type].name, `__FRAME_f$${f.lo.toString(16)}`);
    assert.equal(m.types[f.type].cName, "frame of f");
    assert.ok(m.byName.has("__FRAME_f"), "the struct keeps its name");
    assert.equal(m.types[m.frames.find((x) => x.function === "main")!.type].name, "__FRAME_main");
    // The string table: each string once.
    const off = buf.readUInt32LE(HEADER.fields.find((x) => x.name === "sections[0].offset")!.offset);
    const len = buf.readUInt32LE(HEADER.fields.find((x) => x.name === "sections[0].count")!.offset);
    const strs = buf
      .subarray(off, off + len)
      .toString("utf8")
      .split("\0")
      .slice(1, -1);
    assert.equal(new Set(strs).size, strs.length, "a string is in the table twice");
    for (const x of ["__FRAME_f", "__FRAME_main", "frame of f", "frame of main", "f", "main"])
      assert.ok(strs.includes(x), x);
  });

  it("refuses bad files with TypegenFormatError naming the file, section and offset", () => {
    const good = writeMeta(readTypes(exe));
    const bad = (mutate: (b: Buffer) => Buffer, re: RegExp): void => {
      const b = mutate(Buffer.from(good));
      assert.throws(
        () => readMeta(b, "bad.allocsmeta"),
        (e: unknown) =>
          e instanceof TypegenFormatError && /^bad\.allocsmeta: /.test(e.message) && re.test(e.message),
      );
    };
    bad((b) => b.subarray(0, 100), /shorter than the 200-byte header/);
    bad((b) => b.subarray(0, b.length - 8), /file_size/);
    bad((b) => (b.write("XXXX", 0), b), /bad magic/);
    bad((b) => (b.writeUInt32LE(2, 8), b), /version 2/);
    bad((b) => (b.writeBigUInt64LE(3n, 56 + 16), b), /not 8-byte aligned/);
    bad((b) => (b.writeBigUInt64LE(1n << 40n, 64 + 16), b), /runs past the end/);
    const types = Number(good.readBigUInt64LE(56 + 16));
    bad((b) => (b.writeUInt32LE(0xfffffff0, types + 24), b), /type index/); // related of type 0
    bad((b) => (b.writeUInt32LE(0x7fffffff, types + TYPE.size), b), /string offset/);
    assert.equal(HEADER.size, 200);
  });
});

describe("allocation-site types from source (allocs cc's route)", () => {
  it("finds the seed demo's malloc(42 * sizeof(int)) as an int ARRAY site at the call's return address", function () {
    if (spawnSync("sh", ["-c", "command -v clang"]).status !== 0) this.skip();
    const exe = build("seed_demo.c", "seed_demo_sites", ["-g", "-O0"]);
    const model = readTypes(exe);
    const calls = findAllocCallsInBinary(ElfFile.open(exe), new Set(["malloc"]));
    assert.equal(calls.length, 1);
    const r = inferSourceSites(model, exe, [
      { file: path.join(FIXTURES, "seed_demo.c"), flags: [`-I${INCLUDE}`] },
    ]);
    assert.deepEqual(r.unknown, []);
    assert.equal(r.sites.length, 1);
    assert.equal(r.sites[0].vaddr, calls[0].ret);
    assert.equal(model.types[r.sites[0].type].name, "int$32");
    assert.equal(r.sites[0].flags, SITE_ARRAY);
  });

  it("classifies sizeof(T), n * sizeof(T), calloc(n, sizeof(T)) and malloc(24)", function () {
    if (spawnSync("sh", ["-c", "command -v clang"]).status !== 0) this.skip();
    const exe = build("types_probe.c", "types_probe_sites", ["-g", "-O0"]);
    const model = readTypes(exe);
    const r = inferSourceSites(model, exe, [
      { file: path.join(FIXTURES, "types_probe.c"), flags: [`-I${INCLUDE}`] },
    ]);
    const got = r.sites.map((s) => `${model.types[s.type].name}:${s.flags}`).sort();
    assert.deepEqual(got, ["int$32:1", "point:0", "shape:1", "signed_char$8:1"]);
  });
});
