// Per-thread records (root.threads in allocs_layout.h): tid, stack bounds, LIVE and MAIN flags;
// exited threads retire their counters so the totals stay exact, including frees made by TLS
// destructors after the record retired.
import { strict as assert } from "node:assert";
import { buildProgram, parseProbes, runPreloaded } from "../lib/programs";

const heapRuntime = process.env.ALLOCS_HEAP_TEST_RUNTIME || undefined; // see heap.test.ts

describe("runtime heap: thread records", function () {
  let probes: Map<string, Record<string, string>>;

  before(function () {
    const exe = buildProgram("heap_threads", { api: true });
    const r = runPreloaded(exe, [], { runtime: heapRuntime });
    assert.equal(r.status, 0, `heap_threads failed (${r.signal}):\n${r.stderr}`);
    assert.match(r.stdout, /^done$/m);
    probes = parseProbes(r.stdout);
  });

  it("exports the root and gives the main thread a MAIN record whose stack holds its locals", () => {
    assert.deepEqual(
      probes.get("root"),
      { found: "1", glibc_malloc: "1" },
      "the root says chunk headers are glibc's",
    );
    assert.deepEqual(probes.get("main_record"), { found: "1", main: "1", stack_ok: "1" });
  });

  it("gives each new thread a LIVE record with its tid and stack bounds", () => {
    assert.deepEqual(probes.get("thread_records"), { found: "4", live: "4", stack_ok: "4", not_main: "4" });
  });

  it("retires records of exited threads and keeps the counters exact", () => {
    assert.deepEqual(probes.get("after_exit"), { live_records: "1", retired_allocs_ok: "1" });
    assert.equal(probes.get("stats_with_leftovers")?.match, "1");
    assert.equal(probes.get("stats_after_free")?.match, "1");
  });
});
