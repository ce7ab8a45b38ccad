// A loaded library's file on disk replaced before the first query (truncated, random bytes,
// corrupted section headers, a different ELF file): the runtime reads .symtab from the file
// only after validating every offset and the build-id, so queries still answer from the
// loaded image's .dynsym, and nothing crashes. Also under the UBSan build of the runtime.
import { strict as assert } from "node:assert";
import * as path from "node:path";
import { buildProgram, parseProbes, runPreloaded, runtimeLib, ubsanRuntimeLib } from "../lib/programs";

describe("runtime levels: hostile files behind loaded objects", function () {
  for (const mode of ["none", "truncated", "random", "sections", "other"]) {
    it(`answers from the loaded image when the file is ${mode === "none" ? "intact" : mode}`, function () {
      const dso = buildProgram("levels_dso", { shared: true });
      const exe = buildProgram("levels_hostile", { api: true });
      const runtimes = [runtimeLib(), ubsanRuntimeLib()];
      for (const runtime of runtimes) {
        const r = runPreloaded(exe, [dso, mode], { runtime });
        assert.equal(r.status, 0, `${path.basename(runtime)}: status ${r.status} ${r.signal}\n${r.stderr}`);
        assert.equal(r.stderr, "");
        const p = parseProbes(r.stdout);
        assert.deepEqual(p.get("global"), { err: "0", alloc: "static", off: "0", sym: "levels_dso_global" });
        assert.deepEqual(p.get("function"), {
          err: "0",
          alloc: "static",
          off: "1",
          sym: "levels_dso_function",
        });
      }
    });
  }
});
