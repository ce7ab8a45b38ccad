// Attaching to a running process (preloaded with the runtime) and opening a kernel core file.
import assert from "node:assert/strict";
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import type { DebugProtocol } from "@vscode/debugprotocol";

import { runtimeLib } from "../lib/programs";
import {
  clientPerTest,
  dapTarget,
  frameLocals,
  HAS_BRIDGE,
  killQuietly,
  markerLine,
  SOURCE,
  TestClient,
} from "./dap-client";
import { skipWithoutKernelCores } from "../bridge/gdb";

/** Why attaching with ptrace cannot work here, or undefined. */
function ptraceProblem(): string | undefined {
  try {
    const scope = fs.readFileSync("/proc/sys/kernel/yama/ptrace_scope", "utf8").trim();
    if (scope !== "0" && process.getuid?.() !== 0)
      return `kernel.yama.ptrace_scope is ${scope}: attaching is forbidden`;
  } catch {
    // no Yama: ordinary ptrace rules (same user) apply
  }
  return undefined;
}

/** Skips the running test, saying why, where attaching with ptrace cannot work. */
function skipWithoutPtrace(ctx: Mocha.Context): void {
  const problem = ptraceProblem();
  if (problem !== undefined) {
    console.log(`      (skipped: ${problem})`);
    ctx.skip();
  }
}

/** dap_target preloaded, waiting in its loop once it has printed its pid (killed by CLEANUP). */
async function startWaitingTarget(cleanup: (() => void)[]): Promise<ChildProcess> {
  const child = spawn(dapTarget(), ["wait"], {
    env: { ...process.env, LD_PRELOAD: runtimeLib() },
    stdio: ["ignore", "pipe", "inherit"],
  });
  cleanup.push(() => killQuietly(child.pid as number));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error("the program did not start")), 10000);
    child.stdout?.on("data", (d: Buffer) => {
      if (d.toString().includes("pid ")) {
        clearTimeout(timer);
        resolve();
      }
    });
  });
  return child;
}

/** Opens dap_target's CORE in the adapter; resolves at the stop it is shown as. */
async function openCore(client: TestClient, core: string): Promise<DebugProtocol.StoppedEvent> {
  await client.start();
  await client.initializeRequest();
  const stopped = client.waitForEvent("stopped", 30000);
  await client.launchRequest({
    program: dapTarget(),
    coreDumpPath: core,
  } as DebugProtocol.LaunchRequestArguments);
  await client.configurationDoneRequest();
  return (await stopped) as DebugProtocol.StoppedEvent;
}

describe("debug adapter: attach and core files", function () {
  this.timeout(90000);
  const newClient = clientPerTest();
  const cleanup: (() => void)[] = [];
  afterEach(() => {
    for (const fn of cleanup.splice(0)) fn();
  });

  it("attaches to a running process, stops at a breakpoint and describes its heap", async function () {
    skipWithoutPtrace(this);
    const child = await startWaitingTarget(cleanup);
    const client = newClient();
    await client.start();
    await client.initializeRequest();
    const initialized = client.waitForEvent("initialized", 20000);
    await client.attachRequest({
      processId: child.pid,
      program: dapTarget(),
    } as DebugProtocol.AttachRequestArguments);
    await initialized;
    await client.setBreakpointsRequest({
      source: { path: SOURCE },
      breakpoints: [{ line: markerLine("BP_SQUARE") }],
    });
    await client.configurationDoneRequest();
    // the process runs on; pause it, release it from its loop, and continue to the breakpoint
    const paused = client.waitForEvent("stopped", 10000);
    await client.pauseRequest({ threadId: 1 });
    const p = (await paused) as DebugProtocol.StoppedEvent;
    assert.equal(p.body.reason, "pause");
    await client.evaluateRequest({ expression: "released = 1", context: "repl" });
    const hit = client.waitForEvent("stopped", 10000);
    await client.continueRequest({ threadId: p.body.threadId ?? 1 });
    const h = (await hit) as DebugProtocol.StoppedEvent;
    assert.equal(h.body.reason, "breakpoint");
    const st = await client.stackTraceRequest({ threadId: h.body.threadId ?? 1 });
    assert.equal(st.body.stackFrames[0].name, "square");
    const locals = await frameLocals(client, st.body.stackFrames[0].id);
    assert.equal(locals.get("v")?.value, "7");
    if (HAS_BRIDGE) {
      const r = await client.customRequest("allocs/describe", { expression: "&released" });
      assert.equal((r.body as { description: { allocator: string } }).description.allocator, "static");
    }
    // disconnect detaches: the process lives on and finishes by itself
    const exit = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
    await client.disconnectRequest({ terminateDebuggee: false });
    assert.equal(await exit, 0);
  });

  it("opens a kernel core file: stack, locals with allocation summaries, no running", async function () {
    skipWithoutKernelCores(this);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "allocs-dap-core-"));
    cleanup.push(() => fs.rmSync(dir, { recursive: true, force: true }));
    const r = spawnSync("sh", ["-c", `ulimit -c unlimited; exec "$0" abort`, dapTarget()], {
      cwd: dir,
      env: { ...process.env, LD_PRELOAD: runtimeLib() },
      encoding: "utf8",
      timeout: 30000,
    });
    assert.equal(r.signal, "SIGABRT", `the program aborted: ${r.stderr}`);
    const core = fs.readdirSync(dir).find((f) => /^core(\.\d+)?$/.test(f));
    if (core === undefined) {
      console.log("      (skipped: the kernel wrote no core file here)");
      this.skip();
    }
    const client = newClient();
    const s = await openCore(client, path.join(dir, core as string));
    assert.equal(s.body.reason, "exception");
    // the exception box says which signal killed the program, never empty
    assert.equal(s.body.text, "SIGABRT: Aborted");
    assert.match(s.body.description ?? "", /killed by SIGABRT/);
    const st = await client.stackTraceRequest({ threadId: s.body.threadId ?? 1, levels: 50 });
    const main = st.body.stackFrames.find((f) => f.name === "main");
    assert.ok(main !== undefined, "main is on the core's stack");
    const locals = await frameLocals(client, main.id);
    assert.equal(locals.get("sum")?.value, "14");
    if (HAS_BRIDGE) {
      assert.match(
        locals.get("mid")?.value ?? "",
        // typed when zero setup has made dap_target's metadata, which the bridge reads from disk
        /→ __default_lib_malloc (40 B \+12|int\[10\] \+12 \(\[3\]\)) @ dap_target\.c:\d+/,
      );
      const r2 = await client.customRequest("allocs/describe", { expression: "mid", frameId: main.id });
      const d = (r2.body as { description: { size: number; offset: number } }).description;
      assert.equal(d.size, 40);
      assert.equal(d.offset, 12);
    }
    const bytes = await client.send("readMemory", {
      memoryReference: locals.get("msg")?.memoryReference,
      count: 12,
    });
    assert.equal(Buffer.from(bytes.body.data, "base64").toString("latin1"), "hello allocs");
    await assert.rejects(client.continueRequest({ threadId: 1 }), /core file/);
  });

  it("opens a gcore of a healthy process as a stop without an exception; execution is refused", async function () {
    skipWithoutPtrace(this);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "allocs-dap-gcore-"));
    cleanup.push(() => fs.rmSync(dir, { recursive: true, force: true }));
    const child = await startWaitingTarget(cleanup);
    const prefix = path.join(dir, "gc");
    const g = spawnSync("gcore", ["-o", prefix, String(child.pid)], { encoding: "utf8", timeout: 60000 });
    const core = `${prefix}.${child.pid}`;
    assert.ok(fs.existsSync(core), `gcore wrote ${core}: ${g.stderr}`);
    const client = newClient();
    const s = await openCore(client, core);
    assert.notEqual(s.body.reason, "exception");
    assert.equal(s.body.reason, "core written by gcore");
    assert.match(s.body.description ?? "", /written by gcore/);
    const threadId = s.body.threadId ?? 1;
    for (const step of [
      () => client.continueRequest({ threadId }),
      () => client.nextRequest({ threadId }),
      () => client.stepInRequest({ threadId }),
      () => client.stepOutRequest({ threadId }),
    ]) {
      await assert.rejects(step(), /core file, a snapshot of a process that no longer runs/);
      assert.equal(client.lastFailure(client.failures[client.failures.length - 1].command).showUser, true);
    }
  });
});
