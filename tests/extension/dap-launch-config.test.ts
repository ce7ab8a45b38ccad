// cppdbg's launch attributes as a cpptools user writes them, against real gdb and
// test-programs/dap_target.c: setupCommands run (CLI and MI, failures stop the launch unless
// ignored), MIMode other than gdb is refused clearly, externalConsole / console
// "externalTerminal" run the program in an external terminal, env reaches the program.
import assert from "node:assert/strict";
import type { DebugProtocol } from "@vscode/debugprotocol";

import { clientPerTest, dapTarget, launchToBreakpoint, markerLine, topFrameEvaluator } from "./dap-client";

describe("debug adapter: cppdbg launch attributes", function () {
  this.timeout(60000);
  const newClient = clientPerTest();

  it("runs setupCommands before the program, MI and CLI alike", async () => {
    const client = newClient();
    const stop = await launchToBreakpoint(client, [markerLine("BP_AFTER")], {
      setupCommands: [
        { text: "-enable-pretty-printing", description: "pretty printers", ignoreFailures: true },
        { text: "set print elements 4" },
        { text: "set $allocs_setup = 41" },
        { text: "no-such-gdb-command", ignoreFailures: true },
      ],
      env: { ALLOCS_TEST_ENV: "from-env" },
    });
    const repl = await topFrameEvaluator(client, stop.body.threadId ?? 1, "repl");
    assert.equal((await repl("$allocs_setup + 1")).body.result, "42");
    assert.match((await repl("-exec show print elements")).body.result, /is 4\./);
    assert.match(client.outputText("console"), /setup command "no-such-gdb-command" failed \(ignored\)/);
    assert.match((await repl("-exec show environment ALLOCS_TEST_ENV")).body.result, /from-env/);
  });

  async function launchFails(args: Record<string, unknown>): Promise<{ message: string; showUser: boolean }> {
    const client = newClient();
    await client.start();
    await client.initializeRequest();
    await assert.rejects(
      client.launchRequest({ program: dapTarget(), ...args } as DebugProtocol.LaunchRequestArguments),
    );
    return client.lastFailure("launch");
  }

  it("stops the launch when a setup command fails, naming it", async () => {
    const f = await launchFails({ setupCommands: [{ text: "no-such-gdb-command", description: "mine" }] });
    assert.match(f.message, /setup command "no-such-gdb-command" \(mine\) failed: Undefined command/);
    assert.match(f.message, /ignoreFailures/);
    assert.equal(f.showUser, true);
  });

  it("refuses an MIMode other than gdb and a console it does not know", async () => {
    const f = await launchFails({ MIMode: "lldb" });
    assert.match(f.message, /"MIMode": "lldb" is not supported.*allocs-lldb/);
    const c = await launchFails({ console: "newExternalWindow" });
    assert.match(
      c.message,
      /"console": "newExternalWindow" is not one of integratedTerminal, externalTerminal/,
    );
  });

  it("runs the program in an external terminal for externalConsole, as cppdbg does", async () => {
    const client = newClient();
    await launchToBreakpoint(client, [markerLine("BP_AFTER")], { externalConsole: true });
    assert.equal(client.terminalRequests.length, 1);
    assert.equal(client.terminalRequests[0].kind, "external");
  });
});
