// What cpptools and CodeLLDB users expect of a C debugger, against real gdb and
// test-programs/dap_target.c: disassembly that reads backwards from function boundaries (no "??"
// per byte) with one address width; data breakpoints over gdb watchpoints (the allocation's bounds
// offered as the size); format specifiers in Watch; the Modules view; Debug Console completions;
// Jump to Cursor; setExpression.
import assert from "node:assert/strict";
import type { DebugProtocol } from "@vscode/debugprotocol";

import { clientPerTest, launchToBreakpoint, markerLine } from "./dap-client";

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
});
