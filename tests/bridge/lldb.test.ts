// The LLDB front against real lldb-16, the same program and the same checks as the gdb tests
// (test-programs/bridge_target.c, bridge-target.ts): every kind of address field by field live,
// after a kernel core and after a gcore; gdb and lldb giving the same JSON for the same core;
// `help alloc`, errors, and `allocs lldb` passing lldb's options through.
import { strict as assert } from "node:assert";
import { spawnSync } from "node:child_process";
import * as path from "node:path";
import { buildProgram, buildWithAllocsCc, hasCommand, parseProbes } from "../lib/programs";
import {
  DESCRIBE_COMMANDS,
  GRAPH_COMMANDS,
  GDB_TIMEOUT_MS,
  type Json,
  type Probes,
  answers,
  hex,
  makeGcore,
  queryCore,
  useKernelCore,
  useProgram,
  withoutMetadata,
} from "./gdb";
import { checkAll, infoQueries } from "./bridge-target";
import {
  LLDB,
  allocsLldb,
  commandFile,
  skipWithoutLldb,
  lldbQueryLines,
  probeIndices,
  sameJson,
} from "./lldb";
import { validate } from "../lib/json-schema";
import { summary as adapterSummary } from "../../extension/src/adapter/describe";
import type { DescriptionJson } from "../../extension/src/description-json";
import { LLDB_PLUGIN, lldbAttachPid, lldbBridgeArguments } from "../../cli/src/commands/lldb";

/** The schema (docs/schema) each labelled answer must match. */
function schemaOf(label: string): string {
  const named: Record<string, string> = {
    census: "census",
    maps: "maps",
    whereis: "whereis",
    ls: "ls",
    who: "who-points-to",
  };
  return `${named[label] ?? "description"}.schema.json`;
}

describe("lldb bridge", function () {
  this.timeout(10 * GDB_TIMEOUT_MS);
  const target = useProgram("allocs-lldb-", skipWithoutLldb, () =>
    buildProgram("bridge_target", { api: true }),
  );
  let indices: Probes;

  before(function () {
    indices = probeIndices(target.exe);
  });

  /** The labelled info queries (and census, maps) asked of EXE with CORE in lldb. */
  function lldbCore(core: string, queries: Array<[string, string]>): Map<string, unknown> {
    const r = allocsLldb([
      ...commandFile(target.dir, "core", lldbQueryLines(queries)),
      "-c",
      core,
      target.exe,
    ]);
    assert.doesNotMatch(r.stderr + r.stdout, /Traceback/);
    return answers(r.stdout);
  }

  it("says there is nothing to read before the program runs, and on a process without the runtime says so", () => {
    const lines = lldbQueryLines([["plain", "alloc info --json &global_counts[2]"]]);
    const r = spawnSync(
      LLDB,
      [
        "--no-lldbinit",
        "--batch",
        "-o",
        `command script import ${LLDB_PLUGIN}`,
        ...commandFile(target.dir, "plain-before", ["alloc info 0x1234"]),
        "-o",
        "b bridge_stop",
        "-o",
        "run",
        ...commandFile(target.dir, "plain", lines),
        "--",
        target.exe,
        "stop",
      ],
      { encoding: "utf8", timeout: GDB_TIMEOUT_MS },
    );
    assert.match(r.stderr, /^error: alloc: no process or core file here: run the program/m);
    const g = answers(r.stdout.replace(/\r\n/g, "\n")).get("plain") as Json;
    assert.ok(g, r.stdout + r.stderr);
    assert.equal(g.runtime, false);
    assert.match(g.notes[0], /runtime is not loaded/);
    assert.deepEqual([g.allocator, g.site.symbol, g.offset], ["static", "global_counts", 8]);
  });

  it("lists every alloc command in `help alloc`, each with its help", () => {
    const r = allocsLldb(["-o", "help alloc", "-o", "help alloc who-points-to"]);
    for (const c of [...DESCRIBE_COMMANDS, ...GRAPH_COMMANDS]) {
      assert.match(r.stdout, new RegExp(`^\\s+${c}\\s+-- \\S`, "m"), `help alloc lists ${c}`);
    }
    assert.match(r.stdout, /Pointers into the allocation at an address/);
    assert.match(r.stdout, /Scans live heap chunks, writable static data/);
  });

  describe("live process", () => {
    let run: ReturnType<typeof allocsLldb>;
    before(() => {
      const lines = lldbQueryLines([
        ...infoQueries(indices),
        ["whereis", "alloc whereis --json probe_addr[0]"],
        ["ls", "alloc ls --json --site make_points"],
        ["who", "alloc who-points-to --json probe_addr[0]"],
        ["garbage", "alloc info --json 0x10"],
      ]);
      lines.push(
        "frame select 1",
        ...lldbQueryLines([
          ["stack_local", "alloc info --json &pts"],
          ["sp", "alloc info --json $sp"],
        ]),
      );
      lines.push("alloc info nosuch_variable", "alloc census --by nothing", "p 6*7");
      // no metadata while it allocates, as in tests/bridge/bridge.test.ts
      run = allocsLldb(
        [
          "-o",
          "b bridge_stop",
          "-o",
          "run",
          ...commandFile(target.dir, "live", lines),
          "--",
          target.exe,
          "stop",
        ],
        { env: withoutMetadata(target.dir) },
      );
    });

    it("describes every kind of address field by field", () => {
      assert.doesNotMatch(run.stderr + run.stdout, /Traceback/);
      checkAll("lldb live", parseProbes(run.stdout), answers(run.stdout), run.stdout);
    });

    it("writes every answer in the shape of its JSON schema", () => {
      const got = answers(run.stdout);
      assert.ok(got.size > 15);
      for (const [label, value] of got) assert.deepEqual(validate(schemaOf(label), value), [], label);
    });

    it("answers whereis / ls / who-points-to as gdb's front does", () => {
      const got = answers(run.stdout);
      const p = parseProbes(run.stdout);
      const where = got.get("whereis") as Json;
      assert.deepEqual(
        where.chain.map((l: Json) => l.allocator),
        ["mmap", "brk", "__default_lib_malloc"],
      );
      const ls = got.get("ls") as Json;
      assert.deepEqual(
        ls.entries.map((e: Json) => e.base),
        ["0x" + BigInt(p.get("heap_interior")?.base ?? "0").toString(16)],
      );
      const who = got.get("who") as Json;
      assert.ok(
        who.referrers.some((r: Json) => r.region === "stack" && r.description?.site?.variable === "pts"),
        "main's local `pts` points to the array",
      );
      const garbage = got.get("garbage") as Json;
      assert.equal(garbage.state, "unknown");
    });

    it("describes a local of main's frame (a caller of the stop) by its frame, variable and thread", () => {
      const got = answers(run.stdout);
      const d = got.get("stack_local") as Json;
      assert.equal(d.allocator, "stackframe");
      assert.equal(d.state, "live");
      assert.deepEqual(
        [d.site.function, d.site.variable, d.site.frame, d.site.thread],
        ["main", "pts", 1, 1],
      );
      assert.ok(String(d.site.file).endsWith("bridge_target.c"));
      assert.equal(d.chain[d.chain.length - 2].allocator, "stack");
      // main's frame starts at its stack pointer ($sp in frame 1) and holds the local.
      const sp = got.get("sp") as Json;
      assert.equal(d.base, sp.address, "the frame's base is main's stack pointer");
      assert.equal(sp.base, d.base);
      assert.ok(
        BigInt(d.base) <= BigInt(d.address) && BigInt(d.address) + 8n <= BigInt(d.base) + BigInt(d.size),
      );
    });

    it("gives one-line errors and lldb goes on", () => {
      const errs = run.stderr.split("\n").filter((l) => /^error: alloc/.test(l));
      assert.deepEqual(errs, [
        "error: alloc: use of undeclared identifier 'nosuch_variable'",
        "error: alloc census: --by nothing: expected site or type",
      ]);
      assert.match(run.stdout, /^\(int\) \$\d+ = 42$/m);
    });
  });

  describe("kernel core", () => {
    const kernel = useKernelCore(target, ["abort"], () => withoutMetadata(target.dir));

    it("describes every kind of address field by field", () => {
      const { stdout, core } = kernel;
      const probes = parseProbes(stdout);
      checkAll("lldb kernel core", probes, lldbCore(core, infoQueries(probes)), stdout);
    });

    it("gives the same JSON as gdb for the same addresses", function () {
      const { stdout, core } = kernel;
      if (!hasCommand("gdb")) this.skip();
      const queries = infoQueries(parseProbes(stdout));
      const gdbAnswers = queryCore(target.exe, core, queries);
      for (const [label, value] of gdbAnswers) assert.deepEqual(validate(schemaOf(label), value), [], label);
      sameJson("kernel core", gdbAnswers, lldbCore(core, queries));
    });

    it("reads a mapping the program never wrote as zeros, as gdb does, though the core holds no bytes of it", function () {
      const { stdout, core } = kernel;
      const p = parseProbes(stdout).get("mmap_untouched") as Record<string, string>;
      assert.ok(p, "the program printed no probe mmap_untouched");
      // The kernel wrote the mapping's segment with p_filesz 0: nothing of it is in the file.
      const seg = spawnSync("readelf", ["-lW", core], { encoding: "utf8" }).stdout;
      const vaddr = "0x" + BigInt(p.base).toString(16).padStart(16, "0");
      const load = seg.split("\n").find((l) => l.includes(` ${vaddr} `));
      assert.ok(load, `no LOAD segment at ${p.base} in the core:\n${seg}`);
      assert.match(load, /^\s*LOAD\s+\S+\s+\S+\s+\S+\s+0x0+\s+0x0*2000\s/, load);
      const query: Array<[string, string]> = [
        ["untouched", `alloc print --json --bytes 32 probe_addr[${p.index}]`],
      ];
      const g = queryCore(target.exe, core, query).get("untouched") as Json;
      const l = lldbCore(core, query).get("untouched") as Json;
      assert.equal(g.description.allocator, "mmap");
      assert.equal(g.description.base, hex(p.base));
      assert.equal(g.bytes, "00".repeat(32));
      assert.deepEqual(l, g);
    });
  });

  describe("gcore", () => {
    let gcore: string;
    let stdout: string;
    before(function () {
      if (!hasCommand("gdb")) this.skip();
      gcore = path.join(target.dir, "gcore.core");
      stdout = makeGcore(target.exe, "bridge_stop", gcore, [], withoutMetadata(target.dir)).stdout;
    });

    it("describes every kind of address field by field", () => {
      const probes = parseProbes(stdout);
      checkAll("lldb gcore", probes, lldbCore(gcore, infoQueries(probes)), stdout);
    });

    it("gives the same JSON as gdb for the same addresses", () => {
      const queries = infoQueries(parseProbes(stdout));
      sameJson("gcore", queryCore(target.exe, gcore, queries), lldbCore(gcore, queries));
    });
  });

  describe("summaries and synthetic children (bridge_types, with its metadata)", () => {
    let out: string;
    before(() => {
      const types = buildWithAllocsCc("bridge_types");
      const lines = [
        "frame variable -P 1 pts opaque arena a argv",
        "p pts",
        "frame variable -P 1 hits lit",
        ...lldbQueryLines(
          ["pts", "opaque", "arena", "a", "argv", "hits", "lit"].map((v) => [v, `alloc info --json ${v}`]),
        ),
        ...lldbQueryLines([
          ["print", "alloc print --json &pts[1].y"],
          ["type", "alloc type --json struct flags"],
        ]),
      ];
      out = allocsLldb([
        "-o",
        "b types_stop",
        "-o",
        "run",
        "-o",
        "up",
        ...commandFile(target.dir, "fv", lines),
        "--",
        types,
        "stop",
      ]).stdout;
    });

    /** The block `frame variable` printed for one variable: its line and its children's. */
    function block(name: string): string {
      const m = new RegExp(`^\\([^)]*\\) ${name} = (?:[^\\n]*\\{\\n(?:  .*\\n)*\\}|[^\\n]*)`, "m").exec(out);
      assert.ok(m, `no ${name} in:\n${out}`);
      return m[0];
    }

    it("shows each pointer's allocation beside its value", () => {
      assert.match(
        block("pts"),
        /^\(point \*\) pts = 0x[0-9a-f]+ → __default_lib_malloc struct point\[3\] @ bridge_types\.c:35 \{/,
      );
      assert.match(block("a"), / → __default_lib_malloc struct node @ bridge_types\.c:66/);
      assert.match(block("argv"), / → auxv char \*\[3\] @ argv/);
      assert.match(
        out,
        /^\(point \*\) \$0 = 0x[0-9a-f]+ → __default_lib_malloc struct point\[3\] @ bridge_types\.c:35$/m,
      );
      assert.match(
        block("lit"),
        /^\(const char \*\) lit = 0x[0-9a-f]+ "a string literal for the bridge" → static char\[32\]/,
      );
    });

    it("writes the same summary as the gdb debug adapter for the same description", () => {
      const got = answers(out);
      for (const name of ["pts", "opaque", "arena", "a", "argv", "hits", "lit"]) {
        const shown = / → (.*?)(?: \{)?$/m.exec(block(name).split("\n")[0]);
        assert.ok(shown, `${name} has a summary`);
        assert.equal(shown[1], adapterSummary(got.get(name) as DescriptionJson), name);
      }
    });

    it("prints an interior pointer's whole object through LLDB's own types, and a type's layout", () => {
      const got = answers(out);
      const pr = got.get("print") as Json;
      assert.deepEqual(validate("print.schema.json", pr), []);
      assert.deepEqual(
        [pr.type, pr.via, pr.atPath, pr.description.path],
        ["struct point[3]", "lldb", "10", "[1].y"],
      );
      assert.match(pr.value, /\[1\] = \(x = 1, y = 10, z = 100\)/);
      const t = got.get("type") as Json;
      assert.deepEqual(validate("type.schema.json", t), []);
      assert.deepEqual(
        t.members.map((m: Json) => [m.name, m.offset, m.type, m.bitOffset, m.bitSize]),
        [
          ["count", 0, "int", null, null],
          ["mode", 4, "unsigned int", 0, 3],
          ["level", 4, "unsigned int", 3, 9],
        ],
      );
    });

    it("expands a pointer into a malloc'd array to the chunk's real length", () => {
      const pts = block("pts");
      assert.deepEqual(pts.match(/^ {2}\[\d+\]/gm), ["  [0]", "  [1]", "  [2]"]);
      assert.match(pts, /\[1\] = \(x = 1, y = 10, z = 100\)/);
      assert.equal(
        block("arena").match(/^ {2}(\(point\) )?\[\d+\]/gm)?.length,
        16,
        "malloc(16 * sizeof(struct point))",
      );
    });

    it("expands a void * as its dynamic type, and a single object as LLDB does", () => {
      const opaque = block("opaque");
      assert.match(opaque, /^\(void \*\) opaque = 0x[0-9a-f]+ → __default_lib_malloc struct point\[3\]/);
      assert.match(opaque, /\[2\] = \(x = 2, y = 20, z = 200\)/);
      const a = block("a");
      assert.match(a, /^ {2}next = 0x[0-9a-f]+ → __default_lib_malloc struct node/m);
      assert.match(a, /^ {2}where = \(x = 1, y = 2, z = 3\)/m);
    });
  });

  describe("allocs lldb", () => {
    it("puts its own settings before the user's arguments and finds an attach's pid", () => {
      assert.deepEqual(lldbBridgeArguments("/rt/liballocs.so", { LD_PRELOAD: "/x/mine.so" }), [
        "-O",
        "settings set target.env-vars LD_PRELOAD=/rt/liballocs.so:/x/mine.so",
        "-O",
        `command script import ${LLDB_PLUGIN}`,
      ]);
      assert.equal(lldbAttachPid(["-p", "123"]), 123);
      assert.equal(lldbAttachPid(["--attach-pid=45"]), 45);
      assert.equal(lldbAttachPid(["--", "prog", "-p", "123"]), undefined, "the program's own -p");
      assert.equal(lldbAttachPid(["-c", "core", "prog"]), undefined);
    });

    it("preloads the runtime into the program only and passes lldb's options through", () => {
      const r = allocsLldb([
        "-o",
        "b bridge_stop",
        "-o",
        "run",
        "-o",
        'script import os; print("lldb-preload:", os.environ.get("LD_PRELOAD"))',
        "-o",
        "alloc info --json probe_addr[0]",
        "--",
        target.exe,
        "stop",
      ]);
      assert.match(r.stdout, /^lldb-preload: None$/m, "lldb itself is not preloaded");
      assert.match(r.stdout, /"allocator": "__default_lib_malloc"/, "the program is");
    });
  });
});
