// `allocs gdb`: the preload reaches the program only (never gdb), gdb's options pass through,
// attaching to a process without the runtime says so; expressions tab-complete.
import { strict as assert } from "node:assert";
import { spawn, spawnSync } from "node:child_process";
import * as path from "node:path";
import { ROOT, buildProgram, hasCommand, runtimeLib } from "../lib/programs";
import { attachNote, attachPid, bridgeArguments, inferiorPreload } from "../../cli/src/commands/gdb";
import { coreGdbArguments } from "../../cli/src/commands/core";
import { GDB_TIMEOUT_MS, allocsGdb } from "./gdb";

describe("allocs gdb", function () {
  this.timeout(4 * GDB_TIMEOUT_MS);
  before(function () {
    if (!hasCommand("gdb")) this.skip();
  });

  it("builds its arguments: exec-wrapper preload (user preloads kept), bridge, attach pid", () => {
    assert.equal(inferiorPreload("/rt.so", { LD_PRELOAD: "/a.so /rt.so:/b.so" }), "/rt.so:/a.so:/b.so");
    const args = bridgeArguments("/rt.so", {});
    assert.deepEqual(args.slice(0, 2), ["-iex", "set exec-wrapper env 'LD_PRELOAD=/rt.so'"]);
    assert.equal(args[3], `source ${path.join(ROOT, "gdb-python-bridge", "allocs_gdb.py")}`);
    assert.equal(attachPid(["-p", "123"]), 123);
    assert.equal(attachPid(["--pid=77", "-batch"]), 77);
    assert.equal(attachPid(["--args", "prog", "-p", "5"]), undefined);
    const core = coreGdbArguments({ prog: "p", core: "c", exprs: ['a "b"'], json: true }, "/tmp/r");
    assert.deepEqual(core.slice(-4), ["-ex", 'python cli_report(["a \\"b\\""], True, "/tmp/r")', "p", "c"]);
  });

  it("preloads the runtime into the program and not into gdb", () => {
    const r = allocsGdb([
      "-ex",
      'python import os; print("gdb:" + str(os.environ.get("LD_PRELOAD")))',
      "-ex",
      "run",
      "--args",
      "/bin/sh",
      "-c",
      'echo "inferior:$LD_PRELOAD"',
    ]);
    assert.match(r.stdout, /^gdb:None$/m);
    assert.match(r.stdout, new RegExp(`^inferior:${runtimeLib()}$`, "m"));
  });

  it("completes expressions after `alloc info`", () => {
    const exe = buildProgram("bridge_target", { api: true });
    const r = allocsGdb(["-ex", "complete alloc info global_co", exe]);
    assert.match(r.stdout, /^alloc info global_counts$/m);
  });

  it("says so when attaching to a process that runs without the runtime", async () => {
    const exe = buildProgram("bridge_target", { api: true });
    const child = spawn(exe, ["wait"], { stdio: ["ignore", "pipe", "ignore"] });
    try {
      await new Promise<void>((resolve) =>
        child.stdout.on("data", (d: Buffer) => d.includes("ready") && resolve()),
      );
      assert.match(attachNote(child.pid as number) ?? "", /was not started with the allocs runtime/);
      const r = spawnSync(
        process.execPath,
        [
          path.join(ROOT, "bin", "allocs.js"),
          "gdb",
          "-nx",
          "-q",
          "--batch",
          "-p",
          String(child.pid),
          "-ex",
          "alloc info --json &global_counts",
        ],
        { encoding: "utf8", timeout: GDB_TIMEOUT_MS },
      );
      assert.match(r.stderr, /was not started with the allocs runtime/);
      const line = r.stdout.split("\n").find((l) => l.startsWith("{"));
      assert.ok(line, r.stdout + r.stderr);
      const d = JSON.parse(line);
      assert.equal(d.runtime, false);
      assert.equal(d.site.symbol, "global_counts");
    } finally {
      child.kill("SIGKILL");
    }
  });
});
