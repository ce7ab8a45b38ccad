// Bad configurations and failures give a clear error or event, never a hang: no program, a
// program that does not exist, gdb missing, gdb killed mid-session, the program exiting.
// Also the TCP server (`allocs adapter --port`).
import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import * as path from "node:path";
import type { DebugProtocol } from "@vscode/debugprotocol";

import { ROOT } from "../lib/programs";
import {
  clientPerTest,
  dapTarget,
  descendants,
  launchToBreakpoint,
  markerLine,
  processName,
  TestClient,
} from "./dap-client";

async function launchError(client: TestClient, args: Record<string, unknown>): Promise<string> {
  await client.start();
  await client.initializeRequest();
  const started = Date.now();
  try {
    await client.launchRequest(args as DebugProtocol.LaunchRequestArguments);
  } catch (e) {
    assert.ok(Date.now() - started < 10000, "the error came quickly");
    return (e as Error).message;
  }
  throw new Error("launch succeeded");
}

describe("debug adapter: failures", function () {
  this.timeout(60000);
  const newClient = clientPerTest();

  it("refuses a launch without a program", async () => {
    const client = newClient();
    assert.match(await launchError(client, {}), /no program to debug: set "program"/);
  });

  it("refuses a program that does not exist", async () => {
    const client = newClient();
    assert.match(
      await launchError(client, { program: "/nonexistent/prog" }),
      /program \/nonexistent\/prog does not exist/,
    );
  });

  it("says gdb is missing and names miDebuggerPath", async () => {
    const client = newClient();
    const message = await launchError(client, { program: dapTarget(), miDebuggerPath: "/nonexistent/gdb" });
    assert.match(message, /gdb not found at \/nonexistent\/gdb/);
    assert.match(message, /miDebuggerPath/);
  });

  it("refuses a core file that does not exist", async () => {
    const client = newClient();
    assert.match(
      await launchError(client, { program: dapTarget(), coreDumpPath: "/nonexistent/core" }),
      /core file .* does not exist/,
    );
  });

  it("ends the session with a clear message when gdb is killed mid-session", async () => {
    const client = newClient();
    const stop = await launchToBreakpoint(client, [markerLine("BP_AFTER")]);
    const gdbPid = descendants(client.adapterPid as number).find((p) => processName(p) === "gdb");
    assert.ok(gdbPid !== undefined, "gdb runs under the adapter");
    const terminated = client.waitForEvent("terminated", 10000);
    process.kill(gdbPid, "SIGKILL");
    await terminated;
    await client.waitForOutput("gdb was killed by SIGKILL", "stderr");
    // later requests fail at once with a reason
    await assert.rejects(
      client.stackTraceRequest({ threadId: stop.body.threadId ?? 1 }),
      /gdb is not running/,
    );
  });

  it("reports the program's exit code and terminates", async () => {
    const client = newClient();
    await client.start();
    await client.initializeRequest();
    const exited = client.waitForEvent("exited", 20000);
    const terminated = client.waitForEvent("terminated", 20000);
    await client.launchRequest({ program: dapTarget() } as DebugProtocol.LaunchRequestArguments);
    await client.configurationDoneRequest();
    assert.equal(((await exited) as DebugProtocol.ExitedEvent).body.exitCode, 3);
    await terminated;
  });

  it("serves sessions over TCP (allocs adapter --port)", async () => {
    const server: ChildProcess = spawn(
      process.execPath,
      [path.join(ROOT, "bin", "allocs.js"), "adapter", "--port", "0"],
      {
        stdio: ["ignore", "ignore", "pipe"],
      },
    );
    try {
      const port = await new Promise<number>((resolve, reject) => {
        let err = "";
        const timer = setTimeout(() => reject(new Error(`no port announced: ${err}`)), 10000);
        server.stderr?.on("data", (d: Buffer) => {
          err += d.toString();
          const m = /listening on 127\.0\.0\.1:(\d+)/.exec(err);
          if (m !== null) {
            clearTimeout(timer);
            resolve(Number(m[1]));
          }
        });
      });
      for (let i = 0; i < 2; i++) {
        const client = newClient();
        await client.start(port);
        const stopped = client.waitForEvent("stopped", 20000);
        await client.initializeRequest();
        await client.launchRequest({
          program: dapTarget(),
          stopAtEntry: true,
        } as DebugProtocol.LaunchRequestArguments);
        await client.configurationDoneRequest();
        assert.equal(((await stopped) as DebugProtocol.StoppedEvent).body.reason, "entry");
        await client.close();
      }
    } finally {
      for (const p of descendants(server.pid as number).reverse()) process.kill(p, "SIGKILL");
      server.kill("SIGKILL");
    }
  });
});
