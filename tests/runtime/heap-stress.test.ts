// Stress: 8 threads of random malloc/calloc/realloc/free with a concurrent walker, cross-thread
// frees, then fork and exec; after each phase the index must be consistent (every live chunk
// found by the walk and by lookup with its size, no freed chunk found, walk = counters).
// Runs against the normal runtime and the UBSan build (make -C runtime ubsan).
import { strict as assert } from "node:assert";
import { buildProgram, parseProbes, runPreloaded, ubsanRuntimeLib } from "../lib/programs";

const heapRuntime = process.env.ALLOCS_HEAP_TEST_RUNTIME || undefined; // see heap.test.ts

function checkRun(runtime: string | undefined, iterations: string): void {
  const exe = buildProgram("heap_stress", { api: true });
  const r = runPreloaded(exe, [iterations], { runtime, timeoutMs: 120_000 });
  assert.equal(r.status, 0, `heap_stress failed (${r.signal}):\n${r.stderr}\n${r.stdout}`);
  assert.equal(r.stderr, "", "no warnings, no sanitizer reports");
  assert.match(r.stdout, /^done$/m);
  const probes = parseProbes(r.stdout);
  assert.deepEqual(probes.get("threads"), { bad_lookups: "0", walk_bad: "0" }, "lookups during the churn");
  for (const phase of ["joined", "cross_freed", "child", "after_fork"]) {
    const p = probes.get(`check_${phase}`);
    assert.ok(p, `phase ${phase} missing:\n${r.stdout}`);
    for (const key of [
      "live_walked",
      "live_lookup",
      "freed_absent",
      "stats_match",
      "walk_sorted",
      "no_overlap",
    ]) {
      assert.equal(p[key], "1", `${phase}: ${key}`);
    }
    assert.ok(Number(p.live) > 100, `${phase}: live chunks ${p.live}`);
  }
  assert.deepEqual(
    probes.get("exec"),
    { ok: "1", runtime: "1", live_ok: "1" },
    "after exec the runtime works again",
  );
  assert.equal(probes.get("child_exit")?.status, "0");
}

describe("runtime heap: stress (threads, fork, exec)", function () {
  this.timeout(300_000);

  it("keeps the index consistent under 8 threads, cross-thread frees, fork and exec", () => {
    checkRun(heapRuntime, "200000");
  });

  it("does the same under the UBSan build of the runtime", function () {
    if (heapRuntime) this.skip();
    checkRun(ubsanRuntimeLib(), "50000");
  });
});
