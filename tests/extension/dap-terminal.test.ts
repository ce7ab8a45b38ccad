// The launched program's terminal: runInTerminal answered as VS Code does (a pseudo-terminal),
// the program on its own controlling terminal showing only its own output, the helper command
// harmless when run again, and stdout output events without runInTerminal.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import type { DebugProtocol } from "@vscode/debugprotocol";

import { clientPerTest, descendants, launchToBreakpoint, markerLine, processName } from "./dap-client";

describe("debug adapter: the program's terminal", function () {
  this.timeout(60000);
  const newClient = clientPerTest();

  it("gives the program a terminal through runInTerminal, and reports its exit", async () => {
    const client = newClient();
    const stop = await launchToBreakpoint(client, [markerLine("BP_AFTER")]);
    await client.waitForOutput("start hello allocs", "terminal");
    const exited = client.waitForEvent("exited", 15000);
    const terminated = client.waitForEvent("terminated", 15000);
    await client.continueRequest({ threadId: stop.body.threadId ?? 1 });
    assert.equal(((await exited) as DebugProtocol.ExitedEvent).body.exitCode, 3);
    await terminated;
    await client.waitForOutput("sum 14 counter 6", "terminal");
    assert.equal(client.outputText("stdout"), "");
  });

  it("the program's terminal shows only the program: its own tty, no helper command, no gdb warning", async () => {
    const client = newClient();
    const stop = await launchToBreakpoint(client, [markerLine("BP_AFTER")]);
    await client.waitForOutput("start hello allocs", "terminal");
    // the program runs on a terminal that is its controlling terminal (its own session)
    const pid = descendants(client.adapterPid as number).find((p) => processName(p).startsWith("dap_target"));
    assert.ok(pid !== undefined, "the program runs under the adapter's gdb");
    const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
    const [, , session, ttyNr] = stat
      .slice(stat.lastIndexOf(")") + 2)
      .split(" ")
      .slice(1, 5)
      .map(Number);
    assert.equal(session, pid, "the program leads its own session");
    assert.notEqual(ttyNr, 0, "and has a controlling terminal");
    // VS Code runs the helper command twice sometimes: the second run does nothing, says nothing
    assert.equal(client.terminalRequests.length, 1);
    const again = client.terminalRequests[0];
    const second = spawnSync(again.args[0], again.args.slice(1), { encoding: "utf8", timeout: 10000 });
    assert.equal(second.stdout + second.stderr, "");
    assert.equal(second.status, 0);
    const terminated = client.waitForEvent("terminated", 15000);
    await client.continueRequest({ threadId: stop.body.threadId ?? 1 });
    await terminated;
    await client.waitForOutput("sum 14 counter 6", "terminal");
    // the screen is cleared first (VS Code echoes the command it types), then only the program
    assert.equal(
      client.terminalOutput.replace(new RegExp(`${String.fromCharCode(27)}\\[[0-9;]*[A-Za-z]`, "g"), ""),
      "start hello allocs\nsum 14 counter 6\n",
    );
    assert.doesNotMatch(client.outputText(), /controlling terminal/);
    await client.close();
    // after the session, the command is still harmless (its directory is gone)
    const late = spawnSync(again.args[0], again.args.slice(1), { encoding: "utf8", timeout: 10000 });
    assert.equal(late.stdout + late.stderr, "");
    assert.equal(fs.existsSync(again.args[4]), false, "the session's directory is removed");
  });

  it("without runInTerminal, the program's output arrives as stdout output events", async () => {
    const client = newClient({ terminal: false });
    const stop = await launchToBreakpoint(client, [markerLine("BP_AFTER")]);
    await client.waitForOutput("start hello allocs\n", "stdout");
    const terminated = client.waitForEvent("terminated", 15000);
    await client.continueRequest({ threadId: stop.body.threadId ?? 1 });
    await terminated;
    await client.waitForOutput("sum 14 counter 6\n", "stdout");
    assert.doesNotMatch(client.outputText("stdout"), /controlling terminal/);
  });
});
