// Run-time types in the gdb bridge: test-programs/bridge_types.c built by `allocs cc` (so its
// metadata exists), and `alloc info --json` checked for type, uniqtype, path and pathType at
// every kind of address, live, on a kernel core and on a gcore; then alloc print of a void *,
// alloc type, census --by type, ls --type, typed who-points-to and the batch MI command.
import { strict as assert } from "node:assert";
import * as fs from "node:fs";
import * as path from "node:path";
import { ROOT as ROOT_DIR, buildWithAllocsCc, hasCommand, parseProbes } from "../lib/programs";
import { readMeta } from "../../typegen/src/meta/reader";
import {
  BRIDGE,
  GDB_TIMEOUT_MS,
  type Json,
  type Probes,
  allocsGdb,
  answers,
  hex,
  makeGcore,
  makeKernelCore,
  queryCommands,
  queryCore,
  runToStop,
  skipWithoutKernelCores,
  useProgram,
  withoutMetadata,
} from "./gdb";

/** probe -> [type, uniqtype, path, pathType, allocator] (argv's length comes from argc). */
function expected(probes: Probes): Map<string, [string, string, string, string, string]> {
  const argc = Number(probes.get("argv")?.argc);
  return new Map([
    ["heap_interior", ["struct point[3]", "__ARR3_point", "[1].y", "int", "__default_lib_malloc"]],
    ["nested", ["struct outer", "outer", ".in.name[3]", "char", "__default_lib_malloc"]],
    ["union_member", ["struct outer", "outer", ".u.as_long", "long", "__default_lib_malloc"]],
    ["bitfield", ["struct flags", "flags", ".level", "unsigned int", "__default_lib_malloc"]],
    ["global", ["int[8]", "__ARR8_int$32", "[2]", "int", "static"]],
    ["grid", ["int[3][4]", "__ARR3___ARR4_int$32", "[1][2]", "int", "static"]],
    ["static_local", ["long[4]", "__ARR4_long$64", "[1]", "long", "static"]],
    ["literal", ["char[32]", "__ARR32_signed_char$8", "[4]", "char", "static"]],
    ["argv", [`char *[${argc + 1}]`, `__ARR${argc + 1}___PTR_signed_char$8`, "[1]", "char *", "auxv"]],
    ["node", ["struct node", "node", ".where.z", "int", "__default_lib_malloc"]],
    ["pool", ["struct point[2]", "__ARR2_point", "[1].y", "int", "types_pool"]],
    [
      "thread_local",
      ["frame of worker_outer", "__FRAME_worker_outer", "outer_local[1]", "int", "stackframe"],
    ],
  ]);
}

function infoQueries(probes: Probes): Array<[string, string]> {
  return [...expected(probes).keys()].map((name) => {
    const p = probes.get(name);
    assert.ok(p, `the program printed no probe ${name}`);
    return [name, `alloc info --json probe_addr[${p.index}]`];
  });
}

function checkTypes(where: string, probes: Probes, got: Map<string, unknown>): void {
  for (const [name, [type, uniqtype, p, pathType, allocator]] of expected(probes)) {
    const d = got.get(name) as Json;
    assert.ok(d, `${where}: no answer for ${name}`);
    assert.equal(d.allocator, allocator, `${where} ${name}: allocator`);
    assert.equal(d.address, hex(probes.get(name)?.addr), `${where} ${name}`);
    assert.deepEqual(
      { type: d.type, uniqtype: d.uniqtype, path: d.path, pathType: d.pathType },
      { type, uniqtype, path: p, pathType },
      `${where} ${name}: ${JSON.stringify(d.notes)}`,
    );
  }
  const union = got.get("union_member") as Json;
  assert.ok(
    union.notes.some((n: string) => /union/.test(n) && /as_float/.test(n)),
    "the union's other member is named",
  );
}

describe("gdb bridge: run-time types", function () {
  this.timeout(10 * GDB_TIMEOUT_MS);
  const target = useProgram(
    "allocs-bridge-types-",
    (ctx) => {
      if (!hasCommand("gdb")) ctx.skip();
    },
    () => buildWithAllocsCc("bridge_types"),
  );

  describe("live process", () => {
    let run: ReturnType<typeof allocsGdb>;
    let probes: Probes;
    before(() => {
      probes = parseProbes(runToStop(target.exe, "types_stop").stdout);
      const node = probes.get("node") as Record<string, string>;
      const heap = probes.get("heap_interior") as Record<string, string>;
      const cmds = queryCommands([
        ...infoQueries(probes),
        ["print", "alloc print --json opaque"],
        ["printframe", `alloc print --json probe_addr[${probes.get("thread_local")?.index}]`],
        ["type", "alloc type --json struct flags"],
        ["typeexpr", `alloc type --json probe_addr[${heap.index}]`],
        ["census", "alloc census --json --by type"],
        ["ls", "alloc ls --json --type 'struct point'"],
        ["who", `alloc who-points-to --json probe_addr[${node.index}]`],
      ]);
      run = runToStop(target.exe, "types_stop", [
        ...cmds,
        "-ex",
        "echo @@batch\\n",
        "-ex",
        `interpreter-exec mi "-alloc-describe-batch --json probe_addr[${heap.index}] 0 nosuch"`,
      ]);
    });

    it("names type, uniqtype, path and pathType at every kind of address", () => {
      assert.doesNotMatch(run.stderr, /Traceback/);
      checkTypes("live", parseProbes(run.stdout), answers(run.stdout));
    });

    it("prints a void * as the real struct, and a frame from its run-time type", () => {
      const got = answers(run.stdout);
      const pr = got.get("print") as Json;
      assert.equal(pr.type, "struct point[3]");
      assert.equal(pr.via, "gdb");
      assert.match(pr.value, /x = 1,\s+y = 10,\s+z = 100/);
      const fr = got.get("printframe") as Json;
      assert.equal(fr.via, "uniqtype");
      assert.match(fr.value, /outer_local = \{5, 6, 7, 8\}/);
      assert.equal(fr.atPath, "6");
    });

    it("shows a type's layout by name and by expression", () => {
      const got = answers(run.stdout);
      const t = got.get("type") as Json;
      assert.equal(t.name, "flags");
      assert.equal(t.size, 8);
      assert.deepEqual(
        t.members.map((m: Json) => [m.name, m.offset, m.type, m.bitOffset, m.bitSize]),
        [
          ["count", 0, "int", null, null],
          ["mode", 4, "unsigned int", 0, 3],
          ["level", 4, "unsigned int", 3, 9],
        ],
      );
      const e = got.get("typeexpr") as Json;
      assert.equal(e.cName, "struct point[3]");
      assert.equal(e.related, "struct point");
    });

    it("counts by type, lists by type, and finds typed referrers", () => {
      const got = answers(run.stdout);
      const census = got.get("census") as Json;
      const rows = new Map<string, Json>(census.rows.map((r: Json) => [r.type, r]));
      assert.equal(rows.get("struct node")?.count, 2);
      assert.equal(rows.get("struct outer")?.count, 1);
      assert.equal(rows.get("struct point[]")?.count, 2, "two array sites of struct point");
      assert.equal(census.total.chunks, census.runtimeStats.liveChunks);
      const ls = got.get("ls") as Json;
      assert.deepEqual(ls.entries.map((e: Json) => e.type).sort(), ["struct point[16]", "struct point[3]"]);
      const who = got.get("who") as Json;
      const node = parseProbes(run.stdout).get("node") as Record<string, string>;
      const ref = who.referrers.find((r: Json) => r.address === hex(node.referrer));
      assert.ok(ref, `a->next is a referrer: ${JSON.stringify(who.referrers)}`);
      assert.equal(ref.typed, true);
      assert.equal(ref.description.type, "struct node");
      assert.equal(ref.description.pathType, "struct node");
      const local = who.referrers.find((r: Json) => r.description?.site?.variable === "b");
      assert.ok(local?.typed, "main's local b, typed through main's frame type");
    });

    it("answers several addresses in one -alloc-describe-batch", () => {
      const out = run.stdout.split("@@batch\n")[1] ?? "";
      const m = /\^done,json="(.*)"/.exec(out);
      assert.ok(m, out);
      const list = JSON.parse(JSON.parse(`"${m[1]}"`)) as Json[];
      assert.equal(list.length, 3);
      assert.equal(list[0].path, "[1].y");
      assert.equal(list[1].state, "unknown");
      assert.match(list[2].error, /^alloc: No symbol "nosuch"/);
    });
  });

  describe("kernel core", () => {
    it("names the same types after the process died", function () {
      skipWithoutKernelCores(this);
      const kdir = fs.mkdtempSync(path.join(target.dir, "kernel-"));
      const { stdout, core } = makeKernelCore(target.exe, ["abort"], kdir);
      const probes = parseProbes(stdout);
      checkTypes("kernel core", probes, queryCore(target.exe, core, infoQueries(probes)));
    });
  });

  describe("kernel core of a process that asked no type question", () => {
    // The runtime builds types at the first type query: this process asked none, so its core holds
    // none, and the reader takes them from disk. The only file is in the cache the process's own
    // environment named (not next to the program, not in the debugger's cache): the reader
    // searches as the runtime did, with the environment the core holds.
    it("names the same types from the file the process's environment led to", function () {
      skipWithoutKernelCores(this);
      const kdir = fs.mkdtempSync(path.join(target.dir, "kernel-cache-"));
      const bare = path.join(kdir, "bridge_types_bare");
      fs.copyFileSync(target.exe, bare);
      fs.chmodSync(bare, 0o755);
      const id = readMeta(fs.readFileSync(`${target.exe}.allocsmeta`)).buildId;
      const cache = path.join(kdir, "process-cache");
      fs.mkdirSync(path.join(cache, "allocs", "meta"), { recursive: true });
      fs.copyFileSync(`${target.exe}.allocsmeta`, path.join(cache, "allocs", "meta", `${id}.allocsmeta`));
      const { stdout, core } = makeKernelCore(bare, ["abort"], kdir, { XDG_CACHE_HOME: cache });
      const probes = parseProbes(stdout);
      const debuggerEnv = withoutMetadata(kdir);
      const r = allocsGdb([...queryCommands(infoQueries(probes)), bare, core], { env: debuggerEnv });
      assert.doesNotMatch(r.stderr, /Traceback/);
      checkTypes("kernel core, types from disk", probes, answers(r.stdout));

      // Without that file anywhere, the type is unknown and says why, naming the build-id.
      fs.rmSync(cache, { recursive: true, force: true });
      const node = probes.get("node") as Record<string, string>;
      const none = allocsGdb(["-ex", `alloc info probe_addr[${node.index}]`, bare, core], {
        env: debuggerEnv,
      });
      assert.match(
        none.stdout,
        new RegExp(`type +unknown \\(types need metadata: the core holds none .*build-id ${id}`),
      );
    });
  });

  describe("gcore", () => {
    it("names the same types in a gcore", () => {
      const gcore = path.join(target.dir, "types.core");
      const probes = parseProbes(makeGcore(target.exe, "types_stop", gcore).stdout);
      checkTypes("gcore", probes, queryCore(target.exe, gcore, infoQueries(probes)));
    });
  });

  describe("corrupted type records", () => {
    it("give a null type or a shorter path, never a traceback or a hang, live and in a gcore", () => {
      const gcore = path.join(target.dir, "corrupt.core");
      const probes = parseProbes(runToStop(target.exe, "types_stop").stdout);
      const names = ["node", "heap_interior", "nested", "bitfield"];
      const queries: Array<[string, string]> = [];
      for (const n of names) {
        queries.push([n, `alloc info --json probe_addr[${probes.get(n)?.index}]`]);
        queries.push([`${n}-print`, `alloc print --json probe_addr[${probes.get(n)?.index}]`]);
      }
      queries.push(["census", "alloc census --json --by type"]);
      const script = path.join(ROOT_DIR, "tests", "bridge", "corrupt-types.py");
      const t0 = Date.now();
      // The records corrupted are the runtime's in memory: built at start-up only when loading
      // is not lazy (a process that has asked nothing has them on disk only).
      const live = makeGcore(
        target.exe,
        "types_stop",
        gcore,
        ["-ex", `source ${script}`, ...queryCommands(queries)],
        { ALLOCS_META_LAZY: "0" },
      );
      assert.match(live.stdout, /@@corrupted/, live.stderr);
      const post = allocsGdb([...queryCommands(queries), target.exe, gcore]);
      assert.ok(Date.now() - t0 < 5 * GDB_TIMEOUT_MS);
      for (const [where, r] of [
        ["live", live],
        ["gcore", post],
      ] as const) {
        assert.doesNotMatch(r.stderr, /Traceback|internal error/, `${where}: ${r.stderr}`);
        const got = answers(r.stdout);
        const d = (n: string): Json => {
          const x = got.get(n) as Json;
          assert.ok(x, `${where}: no answer for ${n}:\n${r.stdout}\n${r.stderr}`);
          return x;
        };
        // the allocation itself is still described; only what the records spoiled is unknown
        assert.equal(d("node").allocator, "__default_lib_malloc");
        assert.equal(d("node").type, "struct node");
        assert.equal(d("node").path, "", `${where}: a huge member count gives no members`);
        assert.equal(d("heap_interior").type, "struct point[3]");
        assert.equal(d("heap_interior").path, "[1]", `${where}: unreadable members end the path`);
        assert.match(d("nested").path, /^(\.in)+\./, `${where}: the cycle is followed a bounded way`);
        assert.equal(d("bitfield").type, null, `${where}: a record without a name is unknown`);
        assert.equal(d("bitfield").allocator, "__default_lib_malloc");
        for (const n of names) assert.ok(d(`${n}-print`).description, `${where}: ${n} printed`);
        assert.equal(d("census").total.chunks, d("census").runtimeStats.liveChunks);
      }
    });
  });

  it("loads the bridge file from tests/bridge/gdb.ts's path", () => {
    assert.ok(fs.existsSync(BRIDGE));
  });
});
