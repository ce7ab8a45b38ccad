// The `allocs` command as a user runs it: through bin/allocs.js, in a real shell environment.
import { strict as assert } from "node:assert";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { ROOT, runtimeLib, stubLib } from "../lib/programs";

const BIN = path.join(ROOT, "bin", "allocs.js");

function allocs(args: string[], env: NodeJS.ProcessEnv = {}) {
  return spawnSync(process.execPath, [BIN, ...args], { encoding: "utf8", env: { ...process.env, ...env } });
}

describe("allocs CLI", () => {
  it("prints the runtime's path", () => {
    const r = allocs(["runtime-path"]);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout.trim(), runtimeLib());
    assert.ok(fs.existsSync(r.stdout.trim()));
  });

  it("rejects an unknown command with usage and status 2", () => {
    const r = allocs(["frobnicate"]);
    assert.equal(r.status, 2);
    assert.match(r.stderr, /unknown command 'frobnicate'/);
    assert.match(r.stderr, /allocs run/);
  });

  it("runs a program preloaded, passing arguments and its exit status through, children included", () => {
    const script = 'echo "$LD_PRELOAD"; sh -c "echo child:\\$LD_PRELOAD"; exit 7';
    const r = allocs(["run", "--", "sh", "-c", script]);
    assert.equal(r.status, 7);
    const [own, child] = r.stdout.trim().split("\n");
    assert.equal(own.split(":")[0], runtimeLib());
    assert.equal(child, `child:${own}`);
  });

  it("reports a missing program clearly", () => {
    const r = allocs(["run", "/nonexistent/program"]);
    assert.equal(r.status, 1);
    assert.match(r.stderr, /\/nonexistent\/program: command not found/);
  });

  it("reports a program killed by a signal as 128 + the signal", () => {
    const r = allocs(["run", "sh", "-c", "kill -TERM $$"]);
    assert.equal(r.status, 128 + 15);
  });

  describe("cc", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "allocs-cc-"));
    after(() => fs.rmSync(dir, { recursive: true, force: true }));

    it("compiles without linking the stub when only compiling (-c)", () => {
      const src = path.join(dir, "a.c");
      fs.writeFileSync(src, "#include <allocs.h>\nint f(void *p) { return alloc_get_size(p) > 0; }\n");
      const r = allocs(["cc", "-c", "-o", path.join(dir, "a.o"), src], { ALLOCS_CC: "gcc" });
      assert.equal(r.status, 0, r.stderr);
      assert.ok(fs.existsSync(path.join(dir, "a.o")));
    });

    it("links a client of allocs.h that runs without the runtime, answering 'no runtime'", () => {
      const src = path.join(dir, "b.c");
      fs.writeFileSync(
        src,
        "#include <allocs.h>\n#include <stdio.h>\nint main(void) { void *p = malloc(8);\n" +
          'printf("%s %zu %d\\n", alloc_get_allocator(p)->name, alloc_get_size(p), alloc_runtime_present());\n' +
          "return 0; }\n",
      );
      const exe = path.join(dir, "b");
      const r = allocs(["cc", "-o", exe, src], { ALLOCS_CC: "gcc" });
      assert.equal(r.status, 0, r.stderr);
      const plain = spawnSync(exe, [], { encoding: "utf8" });
      assert.equal(plain.stdout, "(no runtime) 0 0\n");
      const ldd = spawnSync("ldd", [exe], { encoding: "utf8" });
      assert.ok(ldd.stdout.includes(stubLib()), ldd.stdout);
      const preloaded = allocs(["run", exe]);
      assert.equal(preloaded.stdout, "__default_lib_malloc 8 1\n");
    });

    it("passes the compiler's failure through", () => {
      const src = path.join(dir, "bad.c");
      fs.writeFileSync(src, "int main(void) { return nope; }\n");
      const r = allocs(["cc", "-o", path.join(dir, "bad"), src], { ALLOCS_CC: "gcc" });
      assert.notEqual(r.status, 0);
      assert.match(r.stderr, /nope/);
    });
  });
});
