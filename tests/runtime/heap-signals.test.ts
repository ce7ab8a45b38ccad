// Signals: a handler that queries the runtime (like a crash handler or a sampling profiler)
// interrupts malloc/realloc/free every 100 us, often inside the runtime itself. No deadlock, no
// crash, no wrong answer for a live chunk; walk and counters agree afterwards.
import { strict as assert } from "node:assert";
import { buildProgram, parseProbes, runPreloaded, ubsanRuntimeLib } from "../lib/programs";

const heapRuntime = process.env.ALLOCS_HEAP_TEST_RUNTIME || undefined; // see heap.test.ts

describe("runtime heap: queries from signal handlers", function () {
  this.timeout(120_000);
  const runtimes: [string, () => string | undefined][] = [
    ["normal", () => heapRuntime],
    ["ubsan", () => (heapRuntime ? undefined : ubsanRuntimeLib())],
  ];
  for (const [label, runtimeOf] of runtimes) {
    it(`never deadlocks or answers wrongly (${label} build)`, function () {
      const runtime = runtimeOf();
      if (label === "ubsan" && !runtime) this.skip();
      const exe = buildProgram("heap_signals", { api: true });
      const r = runPreloaded(exe, [], { runtime, timeoutMs: 60_000 });
      assert.equal(r.status, 0, `heap_signals failed (${r.signal}):\n${r.stderr}`);
      assert.equal(r.stderr, "");
      const p = parseProbes(r.stdout).get("signals");
      assert.deepEqual(p, { handled_some: "1", checked_some: "1", wrong: "0", stats_match: "1" });
    });
  }
});
