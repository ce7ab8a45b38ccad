// A string literal in .rodata has no symbol and no entry in any metadata: the runtime sizes it
// by its NUL and types it as char[n] all the same, with or without type metadata.
import { strict as assert } from "node:assert";
import { buildProgram, parseProbes, runPreloaded } from "../lib/programs";

describe("runtime types: string literals", () => {
  for (const cc of ["gcc", "clang"] as const) {
    it(`types an interior pointer into a literal as char[strlen + 1] (${cc})`, () => {
      const exe = buildProgram("types_literal", { cc, api: true });
      const r = runPreloaded(exe);
      assert.equal(r.status, 0, r.stderr);
      const p = parseProbes(r.stdout).get("literal");
      assert.ok(p, r.stdout);
      assert.equal(p.allocator, "static");
      assert.equal(p.base_delta, "0");
      assert.equal(p.size, String(Number(p.strlen) + 1));
      assert.equal(p.type, `__ARR${p.size}_signed_char$8`);
      assert.equal(p.length, p.size);
    });
  }
});
