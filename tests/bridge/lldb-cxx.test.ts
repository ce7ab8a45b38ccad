// The LLDB front on C++ and on an inlined allocation wrapper, against the ground truth the gdb
// tests use and against gdb's own answers: test-programs/cxx_shapes.cpp (g++ -O0, metadata from
// DWARF alone) described field by field live and in a kernel core through lldb-16 (a static's
// name demangled by LLDB, an object only its vtable types shown as its dynamic class), with gdb
// and lldb giving the same JSON for the same core; and test-programs/wrappers_auto.c (gcc -O2),
// whose always-inlined wrapper's chunk has its caller's function and line as its site, as in gdb.
import { strict as assert } from "node:assert";
import * as fs from "node:fs";
import * as path from "node:path";
import { buildProgram, hasCommand, parseProbes, typegen } from "../lib/programs";
import { useScratchDir } from "../lib/scratch";
import {
  GDB_TIMEOUT_MS,
  type Json,
  allocsGdb,
  answers,
  makeKernelCore,
  queryCommands,
  queryCore,
  skipWithoutKernelCores,
} from "./gdb";
import { check, queries } from "./cxx-shapes";
import { allocsLldb, commandFile, skipWithoutLldb, lldbQueryLines, probeIndices, sameJson } from "./lldb";

describe("lldb bridge: C++ and inlined wrappers", function () {
  this.timeout(10 * GDB_TIMEOUT_MS);
  const scratch = useScratchDir("allocs-lldb-cxx-", skipWithoutLldb);

  describe("C++ (cxx_shapes, g++ -O0)", () => {
    const variant = "g++ -O0";
    let exe: string;
    before(function () {
      if (!hasCommand("g++")) this.skip();
      // The same build as cxx.test.ts's g++ -O0 variant.
      exe = buildProgram("cxx_shapes", { cc: "gcc", cflags: ["-O0"], variant: "O0" });
      typegen(exe, { quiet: true, timeoutMs: GDB_TIMEOUT_MS });
    });

    /** The labelled queries asked in lldb, after `before` (a run to the stop) with `args`. */
    function lldbAnswers(
      name: string,
      q: Array<[string, string]>,
      args: string[],
      before: string[] = [],
    ): { out: string; got: Map<string, unknown> } {
      const r = allocsLldb([...before, ...commandFile(scratch.dir, name, lldbQueryLines(q)), ...args]);
      assert.doesNotMatch(r.stderr + r.stdout, /Traceback/);
      return { out: r.stdout, got: answers(r.stdout) };
    }

    it("describes every heap object field by field live: dynamic types, sites, a static demangled", () => {
      const q = queries(probeIndices(exe));
      const { out, got } = lldbAnswers("cxx-live", q, ["--", exe, "stop"], ["-o", "b cxx_stop", "-o", "run"]);
      // The program printed its probes through lldb: the ground truth of this very run.
      check("lldb live", variant, out, got);
    });

    describe("kernel core", () => {
      let stdout: string;
      let core: string;
      before(function () {
        skipWithoutKernelCores(this);
        ({ stdout, core } = makeKernelCore(exe, ["abort"], fs.mkdtempSync(path.join(scratch.dir, "core-"))));
      });

      it("describes every heap object field by field", () => {
        const q = queries(parseProbes(stdout));
        check("lldb kernel core", variant, stdout, lldbAnswers("cxx-core", q, ["-c", core, exe]).got);
      });

      it("gives the same JSON as gdb for the same addresses", function () {
        if (!hasCommand("gdb")) this.skip();
        const q = queries(parseProbes(stdout));
        // Less the damage reported in the type records: the checks of type records report names
        // typegen writes for C++ (`__NEWARR_Tracked`, `decltype_nullptr_`, `_IO_FILE$9706ee6f`)
        // as damage, on the answer that first reads every record (gdb's first, not LLDB's): an
        // order-dependent false report of the checks, not an answer of either front.
        const undamaged = (m: Map<string, unknown>): Map<string, unknown> =>
          new Map(
            [...m].map(([k, v]): [string, unknown] => {
              const d = { ...(v as Json) };
              delete d.damage;
              d.notes = (d.notes as string[]).filter((n) => !/^the runtime's tables are damaged at /.test(n));
              return [k, d];
            }),
          );
        sameJson(
          "C++ kernel core",
          undamaged(queryCore(exe, core, q)),
          undamaged(lldbAnswers("cxx-core-cmp", q, ["-c", core, exe]).got),
        );
      });
    });
  });

  describe("an always-inlined allocation wrapper (wrappers_auto, gcc -O2)", () => {
    // As tests/runtime/wrappers-auto.test.ts: no declared wrappers, typegen finds them.
    const env = { LIBALLOCS_ALLOC_FNS: "", LIBALLOCS_FREE_FNS: "" };
    const q: Array<[string, string]> = [
      ["ipoint", "alloc info --json g_ipoint"],
      ["list", "alloc info --json g_list"],
    ];
    let exe: string;
    before(() => {
      exe = buildProgram("wrappers_auto", { api: true, cflags: ["-O2"], variant: "o2" });
      fs.rmSync(exe + ".allocsmeta", { force: true });
      typegen(exe, { quiet: true, timeoutMs: GDB_TIMEOUT_MS });
    });

    it("has its caller's function, file and line as the site, the same as gdb's", function () {
      const r = allocsLldb(
        [
          "-o",
          "b stop_here",
          "-o",
          "run",
          ...commandFile(scratch.dir, "wrappers", lldbQueryLines(q)),
          "--",
          exe,
        ],
        { env },
      );
      assert.doesNotMatch(r.stderr + r.stdout, /Traceback/);
      const probes = parseProbes(r.stdout);
      const got = answers(r.stdout);
      const site = (label: string, from: Map<string, unknown>): Json => (from.get(label) as Json)?.site;
      const ipoint = site("ipoint", got);
      assert.equal(ipoint?.function, "main", `lldb: ${JSON.stringify(ipoint)}`);
      assert.equal(ipoint.line, Number(probes.get("imalloc")!.line));
      assert.ok(String(ipoint.file).endsWith("wrappers_auto.c"), ipoint.file);
      assert.equal(site("list", got)?.line, Number(probes.get("xzalloc")!.line));
      if (!hasCommand("gdb")) return;
      const g = allocsGdb(["-ex", "break stop_here", "-ex", "run", ...queryCommands(q), exe], { env });
      assert.doesNotMatch(g.stderr, /Traceback/);
      const fromGdb = answers(g.stdout);
      for (const [label] of q) {
        const [l, gd] = [site(label, got), site(label, fromGdb)];
        assert.deepEqual([l?.function, l?.file, l?.line], [gd?.function, gd?.file, gd?.line], label);
      }
    });
  });
});
