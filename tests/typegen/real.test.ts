// typegen on the machine's real large inputs, when installed: libc's detached debug file from
// libc6-dbg (DWARF 5, SHF_COMPRESSED, found by build-id), read through /lib's libc.so.6 exactly
// as a user would. Reports the time; asserts a few types and statics every glibc has.

import * as assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { ElfFile } from "../../typegen/src/elf/elf-file";
import { STT_FUNC } from "../../typegen/src/elf/constants";
import { findDebugFile } from "../../typegen/src/elf/debuglink";
import { readSymbols } from "../../typegen/src/elf/symbols";
import { readTypes } from "../../typegen/src/index";

const LIBC = "/lib/x86_64-linux-gnu/libc.so.6";

describe("typegen on real inputs", function () {
  this.timeout(120000);

  it("reads libc's types from libc6-dbg's build-id debug file", function () {
    if (!existsSync(LIBC) || !findDebugFile(ElfFile.open(LIBC))) {
      console.log("      (skipped: libc6-dbg is not installed; apt-get install libc6-dbg)");
      this.skip();
    }
    const t0 = process.hrtime.bigint();
    const c0 = process.cpuUsage();
    const m = readTypes(LIBC);
    const ms = Number(process.hrtime.bigint() - t0) / 1e6;
    const cpu = process.cpuUsage(c0);
    console.log(
      `      ${m.debugFile}: ${m.units} units -> ${m.types.length} types, ${m.statics.length} statics, ` +
        `${m.functions.length} functions in ${ms.toFixed(0)} ms wall, ${((cpu.user + cpu.system) / 1000).toFixed(0)} ms CPU`,
    );
    assert.match(m.debugFile, /\/usr\/lib\/debug\/\.build-id\/..\/.+\.debug$/);
    const file = m.types.find((t) => t.tag === "_IO_FILE" && t.complete);
    assert.ok(file, "struct _IO_FILE");
    assert.ok(file.members!.some((x) => x.name === "_flags" && x.offset === 0));
    assert.ok(
      m.typedefs.some((t) => t.name === "FILE" && t.type === file.id),
      "FILE is struct _IO_FILE",
    );
    // Hundreds of units describe struct _IO_FILE; uniquing leaves one type per distinct layout.
    // glibc really has two: `_lock` is `_IO_lock_t *` where _IO_lock_t is void in the public
    // header and a struct inside libio.
    const files = m.types.filter((t) => t.name === "_IO_FILE");
    assert.ok(files.length <= 2, `${files.length} struct _IO_FILE types`);
    assert.ok(files.every((t) => t.byteSize === 216));
    assert.ok(m.functions.some((f) => f.name === "malloc" || f.name === "__libc_malloc"));
    assert.ok(
      m.statics.some((s) => s.name === "main_arena"),
      "static main_arena",
    );
    // Every function's entry (low_pc, or the lowest of its DW_AT_ranges) is a FUNC symbol.
    const funcs = new Set(
      readSymbols(ElfFile.open(m.debugFile))
        .symtab.filter((s) => s.type === STT_FUNC)
        .map((s) => s.value),
    );
    const strays = m.functions.filter((f) => !funcs.has(f.lowPc)).map((f) => f.name);
    assert.ok(strays.length <= m.functions.length / 100, `functions not at a symbol: ${strays.slice(0, 10)}`);
  });

  it("reads python3.11d (python3.11-dbg: 10 MB of DWARF 5, _Atomic members)", function () {
    const PY = "/usr/bin/python3.11d";
    if (!existsSync(PY)) {
      console.log("      (skipped: python3.11-dbg is not installed; apt-get install python3.11-dbg)");
      this.skip();
    }
    const t0 = process.hrtime.bigint();
    const m = readTypes(PY);
    const ms = Number(process.hrtime.bigint() - t0) / 1e6;
    console.log(
      `      ${PY}: ${m.units} units -> ${m.types.length} types, ${m.statics.length} statics, ` +
        `${m.functions.length} functions in ${ms.toFixed(0)} ms`,
    );
    const obj = m.types.find((t) => t.tag === "_object" && t.complete);
    assert.ok(obj, "struct _object (PyObject)");
    const refcnt = obj.members!.find((x) => x.name === "ob_refcnt");
    assert.ok(refcnt && m.types[refcnt.type].name === "long$64", "ob_refcnt is Py_ssize_t (long)");
    assert.equal(refcnt.typedefName, "Py_ssize_t");
    assert.equal(m.types[obj.members!.find((x) => x.name === "ob_type")!.type].cName, "struct _typeobject *");
    assert.ok(m.typedefs.some((t) => t.name === "PyObject" && t.type === obj.id));
    assert.equal(m.types.filter((t) => t.name === "_object").length, 1);
  });
});
