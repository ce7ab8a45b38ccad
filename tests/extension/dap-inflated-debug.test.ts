// The adapter's inflated copies of compressed separate debug files (inflated-debug.ts), on the
// real thing: libc6-dbg's libc debug file (zlib-compressed DWARF, found by build-id). The copy is
// made once, has the same build-id, the same DWARF sections and none compressed, and gdb takes it
// from the directory put in front of its debug-file-directory (every DAP test's launch uses it too).
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";

import { ensureInflatedDebug, hasCompressedDwarf } from "../../extension/src/adapter/inflated-debug";
import { buildIdPaths } from "../../typegen/src/elf/debuglink";
import { ElfFile } from "../../typegen/src/elf/elf-file";
import { buildId } from "../../typegen/src/elf/notes";
import { hasCommand } from "../lib/programs";

const LIBC = "/lib/x86_64-linux-gnu/libc.so.6";

describe("debug adapter: inflated copies of compressed debug files", function () {
  this.timeout(120000);
  let dir: string;
  let id: string | undefined;
  let original: string | undefined;

  before(function () {
    if (!fs.existsSync(LIBC) || !hasCommand("objcopy") || !hasCommand("gdb")) this.skip();
    id = buildId(ElfFile.open(LIBC));
    original = id === undefined ? undefined : buildIdPaths(id).find((p) => fs.existsSync(p));
    if (original === undefined || !hasCompressedDwarf(original)) {
      console.log("      (skipped: libc6-dbg with compressed DWARF is not installed)");
      this.skip();
    }
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "allocs-inflated-"));
  });

  after(() => {
    if (dir !== undefined) fs.rmSync(dir, { recursive: true, force: true });
  });

  it("makes libc's copy once: same build-id, nothing compressed, and gdb reads it", () => {
    assert.equal(ensureInflatedDebug([LIBC], dir), true);
    const [copy] = buildIdPaths(id as string, { debugDirs: [dir] });
    assert.ok(fs.existsSync(copy), copy);
    assert.equal(buildId(ElfFile.open(copy)), id);
    assert.equal(hasCompressedDwarf(copy), false);
    // the same DWARF sections as the original, inflated
    const names = (f: string): string[] =>
      ElfFile.open(f)
        .sections.map((s) => s.name)
        .filter((n) => n.startsWith(".debug_"))
        .sort();
    assert.deepEqual(names(copy), names(original as string));
    const made = fs.statSync(copy).mtimeMs;
    assert.equal(ensureInflatedDebug([LIBC], dir), true);
    assert.equal(fs.statSync(copy).mtimeMs, made, "made once");
    const r = spawnSync(
      "gdb",
      [
        "-nx",
        "-q",
        "-batch",
        "-ex",
        `set debug-file-directory ${dir}:/usr/lib/debug`,
        "-ex",
        `file ${LIBC}`,
        "-ex",
        "python print('\\n'.join(o.filename for o in gdb.objfiles()))",
      ],
      { encoding: "utf8", timeout: 60000 },
    );
    assert.ok(r.stdout.split("\n").includes(copy), r.stdout + r.stderr);
  });

  it("leaves an object without a compressed debug file alone", () => {
    const empty = fs.mkdtempSync(path.join(os.tmpdir(), "allocs-inflated-none-"));
    try {
      assert.equal(ensureInflatedDebug([process.execPath, "/nonexistent"], empty), false);
      assert.deepEqual(fs.readdirSync(empty), []);
    } finally {
      fs.rmSync(empty, { recursive: true, force: true });
    }
  });
});
