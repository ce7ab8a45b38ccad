// Robustness: thousands of deterministically mutated or truncated copies of small fixtures
// (plain and -gz) must each end in a model or a TypegenFormatError naming the file and offset:
// no other exception, no hang (the worker runs under a timeout), no giant allocation (the worker
// runs with a 512 MB heap cap).

import * as assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as path from "node:path";
import { VARIANTS, build } from "./helpers";

const WORKER = path.join(__dirname, "fuzz-worker.js");

function fuzz(file: string, seed: number, count: number, budgetMs: number) {
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
  ];
  for (const c of cases)
    it(`${c.label}: every mutant gives a model or a typed error`, function () {
      const exe = build(c.srcs, c.v);
      const s = fuzz(exe, c.seed, 1500, 15000);
      console.log(
        `      ${s.runs} mutants: ${s.models} models, ${s.errors} typed errors, slowest ${s.slowest} ms`,
      );
      assert.deepEqual(s.bugs.slice(0, 5), []);
      assert.ok(s.runs >= 200, `only ${s.runs} mutants in the time budget`);
      assert.ok(s.errors > 0 && s.models > 0);
    });
});
