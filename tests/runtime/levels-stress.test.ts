// The levels part under concurrency: four threads mapping, unmapping, remapping and querying,
// a thread dlopen'ing and dlclose'ing a library in a loop, a 2 ms timer whose handler maps
// memory and queries its own frame (on whichever thread it lands), and forked children that
// query and map. Every answer that must be exact is checked by the program itself; here we
// check that it finished (no crash, no deadlock) with no mismatch.
import { strict as assert } from "node:assert";
import { spawnSync } from "node:child_process";
import { buildProgram, parseProbes, runtimeLib, ubsanRuntimeLib } from "../lib/programs";

describe("runtime levels: threads, signals, dlopen/dlclose and fork at once", function () {
  this.timeout(120_000);

  function stress(opt: string, mode: string): void {
    const dso = buildProgram("levels_dso", { shared: true });
    const exe = buildProgram("levels_stress", { api: true, cflags: [opt], variant: opt.slice(1) });
    for (let run = 0; run < 3; run++) {
      // SIGKILL on timeout: a deadlocked runtime may hold every signal blocked.
      const r = spawnSync(exe, [dso, mode], {
        env: { ...process.env, LD_PRELOAD: runtimeLib() },
        encoding: "utf8",
        timeout: 30_000,
        killSignal: "SIGKILL",
      });
      assert.equal(r.signal, null, `run ${run}: killed by ${r.signal} (deadlock or crash)\n${r.stderr}`);
      assert.equal(r.status, 0, `run ${run}: status\n${r.stderr}`);
      const p = parseProbes(r.stdout).get("stress");
      assert.ok(p, `run ${run}: no summary\n${r.stdout}\n${r.stderr}`);
      assert.deepEqual(p, { mismatches: "0", queries_ok: "1", handler_ok: "1", children_ok: "1" }, r.stderr);
    }
  }

  for (const opt of ["-O0", "-O2"]) {
    it(`answers exactly and never deadlocks: threads, timer signals, dlopen/dlclose (${opt})`, function () {
      stress(opt, "threads");
    });
  }

  // The kernel writes /proc/self/maps a page of text at a time, so a rescan can read a mapping
  // twice, before and after it grew by a merge, or (a torn listing) not cover it at all. The
  // program's own mappings must stay exact: base, size and call site, under both builds of the
  // runtime; and a mapping the program unmapped behind the runtime's back must still lose its
  // record at the next rescan.
  it("keeps the program's own mappings exact while their kernel lines merge and split under a rescan", function () {
    const exe = buildProgram("levels_maps_tear", { api: true });
    for (const lib of [runtimeLib(), ubsanRuntimeLib()]) {
      const r = spawnSync(exe, [], {
        env: { ...process.env, LD_PRELOAD: lib },
        encoding: "utf8",
        timeout: 60_000,
        killSignal: "SIGKILL",
      });
      assert.equal(r.signal, null, `${lib}: killed by ${r.signal}\n${r.stderr}`);
      assert.equal(r.status, 0, `${lib}: status\n${r.stderr}`);
      assert.deepEqual(
        parseProbes(r.stdout).get("tear"),
        { mismatches: "0", rescans_ok: "1", unmapped_dropped: "1" },
        r.stderr,
      );
    }
  });

  // glibc 2.36 leaves the loader's list lock held in a child forked while another thread was in
  // dlopen or dlclose: the child's queries must answer from the tables, never wait for that lock.
  // (The window is narrow: this caught about one hang in 9,000 forks before the fix.)
  it("answers in a child forked while another thread is inside dlopen or dlclose", function () {
    const dso = buildProgram("levels_dso", { shared: true });
    const exe = buildProgram("levels_fork_dlopen", { api: true });
    const r = spawnSync(exe, [dso, "2000"], {
      env: { ...process.env, LD_PRELOAD: runtimeLib() },
      encoding: "utf8",
      timeout: 100_000,
      killSignal: "SIGKILL",
    });
    assert.equal(r.signal, null, `killed by ${r.signal}\n${r.stderr}`);
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(parseProbes(r.stdout).get("fork_dlopen"), { hung: "0", failed: "0", forks: "2000" });
  });

  // A signal landing on the forking thread between the atfork prepare handler (which takes
  // every runtime lock) and the parent/child handler must not call into the runtime with those
  // locks held: rt_core's fork handlers have to block signals around fork.
  it("never deadlocks when a signal handler maps memory while its thread is forking", function () {
    stress("-O2", "fork");
  });

  // The deadlock above, made certain: glibc's fork waits (after the atfork handlers took the
  // runtime's locks) for stdio's list lock, which a thread holds inside fflush(NULL); a signal
  // handler on that very thread maps, unmaps and queries memory. The handler must not wait for
  // the fork, and its answers must still be exact, then in the child and after the fork.
  it("answers a signal handler exactly while a fork waits for the handler's own thread", function () {
    const exe = buildProgram("fork_wait", { api: true });
    for (const lib of [runtimeLib(), ubsanRuntimeLib()]) {
      const r = spawnSync(exe, [], {
        env: { ...process.env, LD_PRELOAD: lib },
        encoding: "utf8",
        timeout: 30_000,
        killSignal: "SIGKILL",
      });
      assert.equal(r.signal, null, `${lib}: killed by ${r.signal} (deadlock)\n${r.stderr}`);
      assert.equal(r.status, 0, `${lib}: status\n${r.stderr}`);
      assert.deepEqual(parseProbes(r.stdout).get("fork_wait"), {
        handler_ok: "1",
        child_ok: "1",
        parent_ok: "1",
      });
    }
  });
});
