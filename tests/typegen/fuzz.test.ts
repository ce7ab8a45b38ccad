// Robustness: thousands of deterministically mutated or truncated copies of small fixtures
// (plain and -gz) must each end in a model or a TypegenFormatError naming the file and offset:
// no other exception, no hang (the worker runs under a timeout), no giant allocation (the worker
// runs with a 512 MB heap cap). "Ends" includes reading the model's lazily decoded parts (frame
// bases, parameters, locals, locations) and writing it as a metadata file the validating reader
// accepts, as `allocs typegen` does; fuzz-cases.test.ts keeps what this found as unit cases.

import * as assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as path from "node:path";
import { VARIANTS, build, have } from "./helpers";

const WORKER = path.join(__dirname, "fuzz-worker.js");

/** `focus`: the only sections mutated (default: all of the DWARF, the symbols, the build-id). */
function fuzz(file: string, seed: number, count: number, budgetMs: number, focus?: string[]) {
  const r = spawnSync(
    process.execPath,
    [
      "--max-old-space-size=512",
      "--stack-size=2000",
      WORKER,
      file,
      String(seed),
      String(count),
      String(budgetMs),
      ...(focus ? [focus.join(",")] : []),
    ],
    {
      encoding: "utf8",
      timeout: budgetMs + 15000,
      maxBuffer: 1 << 28,
    },
  );
  const lines = (r.stdout ?? "").trim().split("\n");
  const last = lines[lines.length - 1] ?? "";
  if (!last.startsWith("RESULT "))
    assert.fail(
      `fuzz worker died (${r.signal ?? r.status}) after "${last}" (seed ${seed}): ${(r.stderr ?? "").slice(0, 2000)}`,
    );
  return JSON.parse(last.slice(7)) as {
    runs: number;
    models: number;
    errors: number;
    lazyErrors: number;
    ranges: number;
    metas: number;
    bugs: string[];
    slowest: number;
  };
}

describe("typegen fuzz: corrupt and truncated ELF/DWARF", function () {
  this.timeout(120000);

  const cases = [
    {
      label: "gcc -O0 two units",
      srcs: ["typegen_opaque_a.c", "typegen_opaque_b.c"],
      v: VARIANTS[0],
      seed: 1,
    },
    {
      label: "gcc -O2 -gz",
      srcs: ["typegen_opaque_a.c", "typegen_opaque_b.c"],
      v: VARIANTS.find((x) => x.flags.includes("-gz"))!,
      seed: 2,
    },
    {
      label: "gcc -O2 typegen_types.c (loclists, rnglists)",
      srcs: ["typegen_types.c"],
      v: VARIANTS[1],
      seed: 3,
    },
    // Location lists are decoded only when a variable's locations are read, so these mutate
    // just the lists and the DIEs that point into them: most mutants then build a model whose
    // lists are broken, which the whole-file cases above rarely reach.
    {
      label: "gcc -O2 -gdwarf-4 typegen_types.c, mutations in .debug_loc",
      srcs: ["typegen_types.c"],
      v: VARIANTS[1],
      extra: ["-gdwarf-4"],
      seed: 4,
      count: 400,
      focus: [".debug_loc", ".debug_info"],
      lazy: true,
    },
    {
      label: "clang -O2 typegen_types.c (loclistx, addrx), mutations in .debug_loclists",
      srcs: ["typegen_types.c"],
      v: VARIANTS.find((x) => x.label === "clang -O2")!,
      seed: 5,
      count: 400,
      focus: [".debug_loclists", ".debug_addr", ".debug_info"],
      lazy: true,
    },
  ];
  for (const c of cases)
    it(`${c.label}: every mutant gives a model or a typed error`, function () {
      if (!have(c.v.cc)) this.skip();
      const exe = build(c.srcs, c.v, c.extra);
      // 1000 a case (1500 before models were also read lazily and written as metadata, which
      // costs about a third more per mutant, and before the focused cases): the suite runs on
      // two loaded CI cores.
      const s = fuzz(exe, c.seed, c.count ?? 1000, 15000, c.focus);
      console.log(
        `      ${s.runs} mutants: ${s.models} models (${s.ranges} locations, ${s.metas} metadata files), ` +
          `${s.errors} typed errors (${s.lazyErrors} lazy), slowest ${s.slowest} ms`,
      );
      assert.deepEqual(s.bugs.slice(0, 5), []);
      assert.ok(s.runs >= 200, `only ${s.runs} mutants in the time budget`);
      assert.ok(s.errors > 0 && s.models > 0);
      // The focused cases exist to reach lazy decoding: they must get there.
      if (c.lazy) assert.ok(s.lazyErrors > 0, "no mutant failed in lazy location decoding");
    });
});
