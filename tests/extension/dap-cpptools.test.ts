// What cpptools and CodeLLDB users expect of a C debugger, against real gdb and
// test-programs/dap_target.c: disassembly that reads backwards from function boundaries (no "??"
// per byte) with one address width; data breakpoints over gdb watchpoints (the allocation's bounds
// offered as the size); format specifiers in Watch; the Modules view; Debug Console completions;
// Jump to Cursor; setExpression.
import assert from "node:assert/strict";
import type { DebugProtocol } from "@vscode/debugprotocol";

import {
  children,
  clientPerTest,
  HAS_BRIDGE,
  launchToBreakpoint,
  markerLine,
  SOURCE,
  TestClient,
  topLocals,
} from "./dap-client";

async function continueToStop(client: TestClient, threadId: number): Promise<DebugProtocol.StoppedEvent> {
  const stopped = client.waitForEvent("stopped", 30000) as Promise<DebugProtocol.StoppedEvent>;
  await client.continueRequest({ threadId });
  return stopped;
}

async function topFrame(client: TestClient, threadId: number): Promise<DebugProtocol.StackFrame> {
  return (await client.stackTraceRequest({ threadId })).body.stackFrames[0];
}

describe("debug adapter: what cpptools users expect", function () {
  this.timeout(60000);
  const newClient = clientPerTest();

  it("disassembles backwards from function boundaries, every address the same width", async () => {
    const client = newClient();
    const stop = await launchToBreakpoint(client, [markerLine("BP_SQUARE")]);
    const st = await client.stackTraceRequest({ threadId: stop.body.threadId ?? 1 });
    const pc = st.body.stackFrames[0].instructionPointerReference as string;
    // as VS Code's Disassembly view asks when it opens
    const r = await client.send("disassemble", {
      memoryReference: pc,
      offset: 0,
      instructionOffset: -60,
      instructionCount: 120,
      resolveSymbols: true,
    });
    const insns = (r as DebugProtocol.DisassembleResponse).body?.instructions ?? [];
    assert.equal(insns.length, 120);
    assert.equal(BigInt(insns[60].address), BigInt(pc));
    for (const i of insns) assert.match(i.address, /^0x[0-9a-f]{16}$/, i.address);
    // before the pc: real instructions (square's start, the functions before it), each
    // ending where the next begins
    const before = insns.slice(0, 61);
    assert.ok(
      before.every((i) => i.instruction !== "??"),
      before.map((i) => `${i.address} ${i.instruction}`).join("\n"),
    );
    for (let k = 0; k + 1 < before.length; k++) {
      const size = BigInt((before[k].instructionBytes ?? "").split(" ").filter(Boolean).length);
      assert.equal(BigInt(before[k].address) + size, BigInt(before[k + 1].address), before[k].address);
    }
    assert.ok(
      before.some((i) => /^square\+0$/.test(i.symbol ?? "")),
      "square's first instruction is there",
    );
  });

  it("breaks on a variable's change through a gdb watchpoint", async () => {
    const client = newClient();
    const stop = await launchToBreakpoint(client, [markerLine("BP_LOOP")]);
    const threadId = stop.body.threadId ?? 1;
    const frame = await topFrame(client, threadId);
    const scopes = await client.scopesRequest({ frameId: frame.id });
    const ref = scopes.body.scopes[0].variablesReference;
    await client.variablesRequest({ variablesReference: ref });
    const info = await client.send("dataBreakpointInfo", { variablesReference: ref, name: "counter" });
    assert.match(info.body.description, /counter \(4 bytes\)/);
    assert.ok(info.body.dataId);
    const set = await client.send("setDataBreakpoints", { breakpoints: [{ dataId: info.body.dataId }] });
    assert.equal(set.body.breakpoints[0].verified, true);
    await client.setBreakpointsRequest({ source: { path: SOURCE }, breakpoints: [] });
    const hit = await continueToStop(client, threadId);
    assert.equal(hit.body.reason, "data breakpoint");
    assert.equal((await topFrame(client, threadId)).name, "touch");
  });

  (HAS_BRIDGE ? it : it.skip)(
    "offers a pointer's whole allocation as a data breakpoint's bytes",
    async () => {
      const client = newClient();
      const stop = await launchToBreakpoint(client, [markerLine("BP_AFTER")]);
      const threadId = stop.body.threadId ?? 1;
      const locals = await topLocals(client, threadId);
      const list = locals.get("list") as DebugProtocol.Variable;
      await children(client, list);
      const info = await client.send("dataBreakpointInfo", {
        variablesReference: list.variablesReference,
        name: "[allocation]",
      });
      // struct node { struct node *next; int value; int data[4]; }: 32 bytes from calloc(1, sizeof *list)
      assert.match(
        info.body.description,
        /^the whole allocation: 32 bytes at 0x[0-9a-f]+ \(__default_lib_malloc/,
      );
      // an address alone: from it to the end of its allocation
      const byAddress = await client.send("dataBreakpointInfo", {
        name: list.memoryReference,
        asAddress: true,
      });
      assert.match(byAddress.body.description, /^32 bytes at 0x[0-9a-f]+ to the end of its allocation/);
      await client.send("setDataBreakpoints", { breakpoints: [{ dataId: info.body.dataId }] });
      await client.setBreakpointsRequest({ source: { path: SOURCE }, breakpoints: [] });
      const hit = await continueToStop(client, threadId);
      assert.equal(hit.body.reason, "data breakpoint");
      const line = (await topFrame(client, threadId)).line;
      assert.ok(
        [markerLine("BP_WRITE"), markerLine("BP_WRITE") + 1].includes(line),
        `stopped at line ${line}`,
      );
    },
  );
});
