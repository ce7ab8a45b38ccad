// alloc leaks, alloc retainers, alloc snapshot / diff / ls --since and `allocs diff` against
// test-programs/leaks_target.c, whose leaks, retainers and growth are known: every leak group's
// count, bytes, type and site line, and every retainer chain step by step, checked exactly, live,
// on a kernel core and on gcores.
import { strict as assert } from "node:assert";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { hasCommand } from "../lib/programs";
import {
  BIN,
  GDB_TIMEOUT_MS,
  type Json,
  allocErrors,
  allocsGdb,
  answers,
  makeKernelCore,
  queryCommands,
  skipWithoutKernelCores,
} from "./gdb";
import {
  QUERIES,
  SAVE_FIRST,
  SINCE_FIRST_QUERIES,
  checkAllRetainers,
  checkCacheChain,
  checkLeaks,
  checkSnapshotLifecycle,
  checkThreadRoots,
  probes,
  useLeaksTarget,
} from "./leaks-expect";

describe("alloc leaks, retainers, snapshots and diff", function () {
  this.timeout(10 * GDB_TIMEOUT_MS);
  const target = useLeaksTarget("allocs-leaks-", (ctx) => {
    if (!hasCommand("gdb")) ctx.skip();
  });

  it("finds every leak, retainer and the growth between two stops of a live process", () => {
    const { exe, dir } = target;
    const r = allocsGdb(
      [
        "-ex",
        "break stop",
        "-ex",
        "run",
        ...queryCommands([...QUERIES, SAVE_FIRST]),
        "-ex",
        "continue",
        ...queryCommands(SINCE_FIRST_QUERIES),
        "--args",
        exe,
      ],
      { env: target.env() },
    );
    assert.doesNotMatch(r.stderr, /Traceback|internal error/);
    const p = probes(r.stdout);
    const a = answers(r.stdout) as Map<string, Json>;
    checkAllRetainers(a, p, "live");
    const saved = checkSnapshotLifecycle(a, p, r.stdout, path.join(dir, "cache"), "live");
    assert.deepEqual(
      allocErrors(r.stderr),
      [`alloc: no snapshot 'first' (${saved})`],
      "a removed snapshot is a one-line error",
    );
  });

  it("finds the same leaks and retainers in a kernel core", function () {
    skipWithoutKernelCores(this);
    const { exe, dir } = target;
    const kdir = fs.mkdtempSync(path.join(dir, "kcore-"));
    const { stdout, core } = makeKernelCore(exe, ["abort"], kdir);
    const p = probes(stdout);
    const r = allocsGdb([...queryCommands(QUERIES), exe, core], { env: target.env() });
    assert.doesNotMatch(r.stderr, /Traceback|internal error/);
    const a = answers(r.stdout) as Map<string, Json>;
    checkLeaks(a.get("leaks"), p, "kernel core");
    checkCacheChain(a.get("cache"), p, "kernel core");
    checkThreadRoots(a.get("stack"), a.get("reg"), "kernel core");
  });

  it("compares two gcores with `allocs diff`, finding the program in the core", () => {
    const { exe, dir } = target;
    const c1 = path.join(dir, "stop1.core");
    const c2 = path.join(dir, "stop2.core");
    allocsGdb(
      [
        "-ex",
        "break stop",
        "-ex",
        "run",
        "-ex",
        `gcore ${c1}`,
        "-ex",
        "continue",
        "-ex",
        `gcore ${c2}`,
        "--args",
        exe,
      ],
      { env: target.env() },
    );
    assert.ok(fs.existsSync(c1) && fs.existsSync(c2), "gdb wrote both cores");
    const r = spawnSync(process.execPath, [BIN, "diff", c1, c2, "--json"], {
      encoding: "utf8",
      timeout: GDB_TIMEOUT_MS,
      env: { ...process.env, ...target.env() },
    });
    assert.equal(r.status, 0, r.stderr);
    const d = JSON.parse(r.stdout);
    assert.equal(d.from, c1);
    assert.equal(d.to, c2);
    assert.deepEqual(
      d.byType.map((x: Json) => [x.type, x.net]),
      [
        ["struct grow", 5],
        ["struct entry", -2],
      ],
    );
    const text = spawnSync(process.execPath, [BIN, "diff", exe, c1, c2], {
      encoding: "utf8",
      timeout: GDB_TIMEOUT_MS,
    });
    assert.equal(text.status, 0, text.stderr);
    assert.match(text.stdout, /^ +\+160 +\+5 +5 +160 +0 +0 {2}struct grow$/m);
    const bad = spawnSync(process.execPath, [BIN, "diff", c1, path.join(dir, "missing.core")], {
      encoding: "utf8",
      timeout: GDB_TIMEOUT_MS,
    });
    assert.equal(bad.status, 2);
    assert.match(bad.stderr, /^allocs diff: .*missing\.core: no such file/m);
  });
});
