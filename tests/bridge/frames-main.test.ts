// main's frame from the CFI at -O2 (no frame pointer), gcc and clang: main's locals are described
// within main's frame, whose end is the CFA gdb's own `info frame` reports ("frame at"), and
// who-points-to finds referrers in main's frame and in another thread's frame, typed rows first,
// saying how many rows its limit left out. Built with plain gcc/clang -g (allocs gdb makes the
// metadata).
import { strict as assert } from "node:assert";
import { buildProgram, hasCommand } from "../lib/programs";
import { Json, allocsGdb, answers, queryCommands } from "./gdb";

const VARIANTS: { cc: "gcc" | "clang"; opt: string }[] = [
  { cc: "gcc", opt: "-O2" },
  { cc: "gcc", opt: "-O1" },
  ...(hasCommand("clang") ? [{ cc: "clang" as const, opt: "-O2" }] : []),
];

describe("frames from the CFI: main at any -O level", function () {
  this.timeout(600_000);
  for (const { cc, opt } of VARIANTS) {
    describe(`${cc} ${opt}`, () => {
      let out: string;
      let a: Map<string, Json>;
      before(() => {
        const exe = buildProgram("frames_main", { cc, cflags: [opt], variant: opt.slice(1) });
        const r = allocsGdb([
          "-ex",
          "break fm_stop",
          "-ex",
          "run",
          "-ex",
          "up",
          ...queryCommands([
            ["local", "alloc info --json &local"],
            ["who", "alloc who-points-to --json heap"],
            ["who1", "alloc who-points-to --json --limit 1 heap"],
          ]),
          "-ex",
          "alloc who-points-to --limit 1 heap",
          "-ex",
          "echo @@frame-info\\n",
          "-ex",
          "info frame",
          "-ex",
          "print &local",
          "-ex",
          "print heap",
          exe,
        ]);
        out = r.stdout;
        assert.doesNotMatch(r.stderr, /Traceback/, r.stderr);
        a = answers(r.stdout) as Map<string, Json>;
      });

      it("describes main's local within main's frame, which ends at gdb's CFA", () => {
        const cfa = BigInt(/^Stack level 1, frame at (0x[0-9a-f]+):/m.exec(out)?.[1] ?? "0");
        assert.ok(cfa > 0n, out);
        const local = BigInt(/^\$1 = \(struct fm_rec \*\) (0x[0-9a-f]+)/m.exec(out)?.[1] ?? "0");
        const d = a.get("local");
        assert.equal(d?.allocator, "stackframe", JSON.stringify(d));
        assert.equal(d.site.function, "main");
        assert.equal(d.site.variable, "local");
        assert.equal(d.site.frame, 1);
        assert.equal(BigInt(d.base) + BigInt(d.size), cfa, "main's frame ends at its CFA");
        assert.ok(BigInt(d.base) <= local && local + 24n <= cfa);
        // gcc locates it from the CFA, clang from rsp (placed through the CFI's "CFA = rsp + N")
        assert.equal(d.type, "frame of main");
        assert.equal(d.path, "local.a");
        assert.equal(d.pathType, "long");
        assert.match(out, /^#1 +0x[0-9a-f]+ in main /m, "the user's frame is still main after the queries");
      });

      it("who-points-to finds the referrers in main's frame and in the other thread's frame, typed first", () => {
        const heap = BigInt(/^\$2 = \(struct fm_rec \*\) (0x[0-9a-f]+)/m.exec(out)?.[1] ?? "0");
        const local = BigInt(/^\$1 = \(struct fm_rec \*\) (0x[0-9a-f]+)/m.exec(out)?.[1] ?? "0");
        const who = a.get("who");
        assert.equal(BigInt(who.target.base), heap);
        const rows = who.referrers as Json[];
        const inMain = rows.find((r) => r.address && BigInt(r.address) === local + 16n);
        assert.ok(inMain, `local.self in main's frame: ${JSON.stringify(rows)}`);
        assert.equal(inMain.description.site.function, "main");
        const inWorker = rows.find((r) => r.region === "stack" && r.description?.site?.function === "worker");
        assert.ok(inWorker, `keep[0] in the worker's frame: ${JSON.stringify(rows)}`);
        assert.equal(inWorker.description.site.variable, "keep");
        assert.notEqual(inWorker.thread, inMain.thread);
        assert.equal(inMain.typed, true);
        assert.equal(inMain.description.path, "local.self");
        assert.equal(inWorker.typed, true);
        const firstUntyped = rows.findIndex((r) => !r.typed);
        if (firstUntyped >= 0)
          assert.ok(
            rows.slice(firstUntyped).every((r) => !r.typed),
            "typed referrers come first",
          );
        assert.equal(who.omitted, 0);
        const one = a.get("who1");
        assert.equal(one.referrers.length, 1);
        assert.equal(one.omitted, rows.length - 1);
        assert.match(out, new RegExp(`^ {2}\\.\\.\\. ${rows.length - 1} more not shown`, "m"));
      });
    });
  }
});
