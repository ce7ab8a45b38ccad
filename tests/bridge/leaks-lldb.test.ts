// The heap-graph commands in LLDB (the one command model, gdb-python-bridge/allocs_decoder/commands/
// graph.py, through the LLDB front): alloc leaks, alloc retainers, alloc snapshot save / ls / rm,
// alloc diff and alloc ls --since, all with --json, on test-programs/leaks_target.c, held to the
// same exact answers as gdb's (leaks-expect.ts): live, across the program's two stops, and on a
// kernel core, where gdb and lldb must also give the same JSON.
import { strict as assert } from "node:assert";
import * as fs from "node:fs";
import * as path from "node:path";
import { hasCommand } from "../lib/programs";
import {
  GDB_TIMEOUT_MS,
  type Json,
  allocsGdb,
  answers,
  makeKernelCore,
  queryCommands,
  skipWithoutKernelCores,
} from "./gdb";
import { validate } from "../lib/json-schema";
import { allocsLldb, commandFile, skipWithoutLldb, lldbQueryLines } from "./lldb";
import {
  QUERIES,
  SAVE_FIRST,
  SINCE_FIRST_QUERIES,
  checkAllRetainers,
  checkSnapshotLifecycle,
  probes,
  useLeaksTarget,
} from "./leaks-expect";

/** The schema of each labelled answer of the live run. */
const SCHEMAS: Record<string, string> = {
  leaks: "leaks",
  cache: "retainers",
  stack: "retainers",
  reg: "retainers",
  hidden: "retainers",
  save: "snapshot",
  diff: "diff",
  since: "ls",
  ls: "snapshot",
  rm: "snapshot",
};

describe("alloc leaks, retainers, snapshots and diff in lldb", function () {
  this.timeout(10 * GDB_TIMEOUT_MS);
  const target = useLeaksTarget("allocs-leaks-lldb-", skipWithoutLldb);

  it("finds every leak, retainer and the growth between two stops of a live process", () => {
    const { exe, dir } = target;
    const first = commandFile(dir, "first", lldbQueryLines([...QUERIES, SAVE_FIRST]));
    const second = commandFile(dir, "second", lldbQueryLines(SINCE_FIRST_QUERIES));
    const r = allocsLldb(["-o", "b stop", "-o", "run", ...first, "-o", "continue", ...second, "--", exe], {
      env: target.env(),
    });
    assert.doesNotMatch(r.stderr + r.stdout, /Traceback|internal error/);
    const p = probes(r.stdout);
    const a = answers(r.stdout) as Map<string, Json>;
    checkAllRetainers(a, p, "lldb live");

    // every answer in the shape of its schema (docs/schema)
    for (const [label, schema] of Object.entries(SCHEMAS))
      assert.deepEqual(
        validate(`${schema}.schema.json`, a.get(label)),
        [],
        `${label}: ${JSON.stringify(a.get(label))}`,
      );
    const saved = checkSnapshotLifecycle(a, p, r.stdout, path.join(dir, "cache"), "lldb live");
    assert.equal(a.get("gone"), undefined, "no answer about a removed snapshot");
    // lldb prefixes a command's error with `error: `
    assert.deepEqual(
      (r.stderr + r.stdout).split("\n").filter((l) => /^error: alloc/.test(l)),
      [`error: alloc: no snapshot 'first' (${saved})`],
      "a removed snapshot is a one-line error",
    );
  });

  it("finds the same leaks and retainers in a kernel core as gdb, in the same JSON", function () {
    skipWithoutKernelCores(this);
    const { exe, dir } = target;
    const kdir = fs.mkdtempSync(path.join(dir, "kcore-"));
    const { stdout, core } = makeKernelCore(exe, ["abort"], kdir);
    const p = probes(stdout);
    const r = allocsLldb([...commandFile(dir, "core", lldbQueryLines(QUERIES)), "-c", core, exe], {
      env: target.env(),
    });
    assert.doesNotMatch(r.stderr + r.stdout, /Traceback|internal error/);
    const a = answers(r.stdout) as Map<string, Json>;
    checkAllRetainers(a, p, "lldb kernel core");
    if (!hasCommand("gdb")) return;
    const g = allocsGdb([...queryCommands(QUERIES), exe, core], { env: target.env() });
    const ga = answers(g.stdout) as Map<string, Json>;
    // the LLDB front reads each thread's pointer from the core's NT_PRSTATUS notes (LLDB 16 has no
    // fs_base register there), so thread-local storage is a root as under gdb: the same answers
    for (const [label] of QUERIES) {
      const schema = label === "leaks" ? "leaks" : "retainers";
      assert.deepEqual(validate(`${schema}.schema.json`, ga.get(label)), [], `gdb ${label}`);
      assert.deepEqual(validate(`${schema}.schema.json`, a.get(label)), [], `lldb ${label}`);
    }
    assert.deepEqual(a.get("leaks"), ga.get("leaks"), "lldb and gdb differ on leaks");
    for (const [label] of QUERIES.slice(1))
      assert.deepEqual(a.get(label), ga.get(label), `lldb and gdb differ on ${label}`);
  });
});
