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
  continueToStop,
  HAS_BRIDGE,
  launchToBreakpoint,
  markerLine,
  SOURCE,
  TestClient,
  topLocals,
} from "./dap-client";

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

  it("accepts format specifiers in Watch: ,x ,d ,o ,b ,[n] ,n and /x", async () => {
    const client = newClient();
    await launchToBreakpoint(client, [markerLine("BP_AFTER")]);
    const watch = async (expression: string): Promise<DebugProtocol.EvaluateResponse["body"]> =>
      (await client.evaluateRequest({ expression, context: "watch" })).body;
    assert.equal((await watch("counter,x")).result, "0x6");
    assert.equal((await watch("counter, h")).result, "0x6");
    assert.equal((await watch("counter,o")).result, "06");
    assert.equal((await watch("counter,b")).result, "110");
    assert.equal((await watch("/x counter")).result, "0x6");
    assert.equal((await watch("sum,d")).result, "14");
    // n elements from a pointer, with or without brackets
    for (const e of ["mid,[3]", "mid,3"]) {
      const r = await watch(e);
      const kids = await client.variablesRequest({ variablesReference: r.variablesReference });
      assert.deepEqual(
        kids.body.variables.map((v) => v.value),
        ["9", "16", "25"],
        e,
      );
    }
    // a plain comma expression is still C
    assert.equal((await watch("(counter, sum)")).result, "14");
  });

  it("lists modules, the allocs runtime named as such", async () => {
    const client = newClient();
    const stop = await launchToBreakpoint(client, [markerLine("BP_AFTER")]);
    assert.ok(stop);
    const r = await client.send("modules", {});
    const mods = (r as DebugProtocol.ModulesResponse).body.modules;
    assert.ok(
      mods.some((m) => /^dap_target/.test(m.name)),
      mods.map((m) => m.name).join(", "),
    );
    assert.ok(
      mods.some((m) => /^libc\.so/.test(m.name) && /^0x[0-9a-f]+-0x[0-9a-f]+$/.test(m.addressRange ?? "")),
    );
    assert.ok(
      mods.some((m) => m.name === "liballocs.so (allocs runtime)"),
      mods.map((m) => m.name).join(", "),
    );
  });

  it("completes expressions, fields, -exec commands and alloc commands in the Debug Console", async () => {
    const client = newClient();
    const stop = await launchToBreakpoint(client, [markerLine("BP_AFTER")]);
    const frameId = (await topFrame(client, stop.body.threadId ?? 1)).id;
    const complete = async (text: string): Promise<string[]> =>
      (await client.send("completions", { text, column: text.length + 1, frameId })).body.targets.map(
        (t: DebugProtocol.CompletionItem) => t.text ?? t.label,
      );
    assert.ok((await complete("coun")).includes("counter"));
    assert.ok((await complete("list->ne")).includes("list->next"));
    assert.ok((await complete("-exec info li")).includes("-exec info line"));
    assert.ok((await complete("alloc in")).includes("alloc info"));
  });

  it("jumps to the cursor and stops there (goto), and sets an expression", async () => {
    const client = newClient();
    const stop = await launchToBreakpoint(client, [markerLine("BP_AFTER")]);
    const threadId = stop.body.threadId ?? 1;
    const frame = await topFrame(client, threadId);
    const set = await client.send("setExpression", { expression: "counter", value: "40", frameId: frame.id });
    assert.equal(set.body.value, "40");
    assert.equal(
      (await client.evaluateRequest({ expression: "counter", context: "watch" })).body.result,
      "40",
    );
    // back to the line that prints "start": the loop is not run again, the stop is immediate
    const startLine = markerLine("BP_LOOP") - 3;
    const t = await client.send("gotoTargets", { source: { path: SOURCE }, line: startLine });
    const target = (t as DebugProtocol.GotoTargetsResponse).body.targets[0];
    const stopped = client.waitForEvent("stopped", 20000) as Promise<DebugProtocol.StoppedEvent>;
    await client.send("goto", { threadId, targetId: target.id });
    assert.equal((await stopped).body.reason, "goto");
    assert.equal((await topFrame(client, threadId)).line, startLine);
  });

  it("shows vector registers as one number with their lanes as children", async () => {
    const client = newClient();
    const stop = await launchToBreakpoint(client, [markerLine("BP_AFTER")]);
    const frame = await topFrame(client, stop.body.threadId ?? 1);
    const scopes = await client.scopesRequest({ frameId: frame.id });
    const regs = await client.variablesRequest({
      variablesReference: scopes.body.scopes[1].variablesReference,
    });
    const xmm0 = regs.body.variables.find((v) => v.name === "xmm0") as DebugProtocol.Variable;
    assert.match(xmm0.value, /^0x[0-9a-f]+$/);
    const lanes = await children(client, xmm0);
    assert.ok(lanes.has("v4_float") && lanes.has("v16_int8"), [...lanes.keys()].join(", "));
  });
});
