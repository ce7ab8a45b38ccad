// The debug adapter against real gdb 13 and test-programs/dap_target.c, through a real DAP
// client (DebugClient, opted into memory references and runInTerminal): launch, breakpoints,
// stack and its paging, scopes, locals, hover without side effects, the Debug Console, memory,
// setVariable, logpoints, stepping, stop at entry, pause, disassembly. The allocation-specific
// requests are in dap-allocs.test.ts, the program's terminal in dap-terminal.test.ts.
import assert from "node:assert/strict";
import type { DebugProtocol } from "@vscode/debugprotocol";

import {
  clientPerTest,
  dapTarget,
  HAS_BRIDGE,
  launchToBreakpoint,
  markerLine,
  SOURCE,
  topFrameEvaluator,
  topLocals,
} from "./dap-client";

describe("debug adapter: a launched program", function () {
  this.timeout(60000);
  const newClient = clientPerTest();

  it("stops at a breakpoint with its stack, scopes and locals", async () => {
    const client = newClient();
    const line = markerLine("BP_AFTER");
    const stop = await launchToBreakpoint(client, [line]);
    assert.equal(stop.body.reason, "breakpoint");
    const st = await client.stackTraceRequest({
      threadId: stop.body.threadId ?? 1,
      startFrame: 0,
      levels: 20,
    });
    const top = st.body.stackFrames[0];
    assert.equal(top.name, "main");
    assert.equal(top.line, line);
    assert.equal(top.source?.path, SOURCE);
    assert.match(top.instructionPointerReference ?? "", /^0x[0-9a-f]+$/);
    const scopes = await client.scopesRequest({ frameId: top.id });
    assert.deepEqual(
      scopes.body.scopes.map((s) => s.name),
      ["Locals", "Registers"],
    );
    const locals = await topLocals(client, stop.body.threadId ?? 1);
    assert.equal(locals.get("counter")?.value, "6");
    assert.equal(locals.get("sum")?.value, "14");
    assert.match(locals.get("counter")?.memoryReference ?? "", /^0x[0-9a-f]+$/);
    const regs = await client.variablesRequest({
      variablesReference: scopes.body.scopes[1].variablesReference,
    });
    assert.ok(regs.body.variables.some((v) => v.name === "rip" && /^0x/.test(v.value)));
  });

  it("pages the stack as VS Code does: a page past the last frame is empty, not an error", async () => {
    const client = newClient();
    const stop = await launchToBreakpoint(client, [markerLine("BP_AFTER")]);
    const threadId = stop.body.threadId ?? 1;
    // VS Code's first page is one frame; main is the only frame with source, the whole stack
    // is main alone (gdb stops the backtrace at main)
    const all = await client.stackTraceRequest({ threadId, startFrame: 0, levels: 1000 });
    const depth = all.body.stackFrames.length;
    assert.ok(depth >= 1);
    assert.equal(all.body.totalFrames, depth);
    const first = await client.stackTraceRequest({ threadId, startFrame: 0, levels: 1 });
    assert.equal(first.body.stackFrames.length, 1);
    assert.equal(first.body.stackFrames[0].name, "main");
    // while there may be more, totalFrames says so (more than this page)
    if (depth > 1) assert.ok((first.body.totalFrames ?? 0) > 1);
    else assert.equal(first.body.totalFrames, 1);
    // VS Code's second page starts after the first: beyond the last frame here
    const next = await client.stackTraceRequest({ threadId, startFrame: depth, levels: 19 });
    assert.deepEqual(next.body.stackFrames, []);
    assert.equal(next.body.totalFrames, depth);
    const far = await client.stackTraceRequest({ threadId, startFrame: depth + 50, levels: 20 });
    assert.deepEqual(far.body.stackFrames, []);
    assert.equal(far.body.totalFrames, depth);
    // a page straddling the end holds what is there
    const straddle = await client.stackTraceRequest({ threadId, startFrame: depth - 1, levels: 5 });
    assert.equal(straddle.body.stackFrames.length, 1);
    assert.equal(straddle.body.totalFrames, depth);
  });

  it("hovers without side effects, and shows the summary on a pointer", async () => {
    const client = newClient();
    const stop = await launchToBreakpoint(client, [markerLine("BP_AFTER")]);
    const hover = await topFrameEvaluator(client, stop.body.threadId ?? 1, "hover");
    const watch = await topFrameEvaluator(client, stop.body.threadId ?? 1, "watch");
    assert.equal((await hover("counter")).body.result, "6");
    for (const bad of [
      "counter++",
      "--counter",
      "counter = 9",
      "counter += 1",
      "touch(&counter)",
      "square (3)",
    ]) {
      await assert.rejects(hover(bad), /not evaluated in hover/, bad);
    }
    await assert.rejects(watch("counter = 1"), /watch/);
    assert.equal((await hover("counter")).body.result, "6");
    assert.equal((await hover("counter == 6")).body.result, "1");
    assert.equal((await hover("sizeof(counter)")).body.result, "4");
    assert.equal((await hover("(long)(counter)")).body.result, "6");
    if (HAS_BRIDGE) {
      const mid = await hover("mid");
      assert.match(mid.body.result, /→ __default_lib_malloc .*\+12/);
      assert.match(mid.body.memoryReference ?? "", /^0x[0-9a-f]+$/);
      assert.ok(mid.body.variablesReference > 0);
    }
  });

  it("runs alloc commands and other gdb commands (-exec) from the Debug Console", async () => {
    const client = newClient();
    const stop = await launchToBreakpoint(client, [markerLine("BP_AFTER")]);
    const repl = await topFrameEvaluator(client, stop.body.threadId ?? 1, "repl");
    if (HAS_BRIDGE) {
      const info = await repl("alloc info mid");
      assert.match(info.body.result, /allocator\s+__default_lib_malloc/);
      assert.match(info.body.result, /size\s+40 bytes/);
      assert.match(info.body.result, /offset\s+12/);
    }
    // gdb commands take -exec, as in cpptools (a bare word is an expression: dap-errors.test.ts)
    assert.match((await repl("-exec info line")).body.result, /Line \d+ of .*dap_target\.c/);
    assert.equal((await repl("sum * 2")).body.result, "28");
    // the repl may have side effects (it is the user's console)
    assert.equal((await repl("counter = 7")).body.result, "7");
    assert.equal((await repl("-exec print counter")).body.result, "$1 = 7");
    await assert.rejects(repl("no_such_symbol_here"), /No symbol/);
  });

  it("reads and writes memory through memoryReference, and sets variables", async () => {
    const client = newClient();
    const stop = await launchToBreakpoint(client, [markerLine("BP_AFTER")]);
    const locals = await topLocals(client, stop.body.threadId ?? 1);
    const msg = locals.get("msg") as DebugProtocol.Variable;
    assert.match(msg.memoryReference ?? "", /^0x[0-9a-f]+$/);
    const read = await client.send("readMemory", { memoryReference: msg.memoryReference, count: 13 });
    assert.equal(Buffer.from(read.body.data, "base64").toString("latin1"), "hello allocs\0");
    const arr = locals.get("arr") as DebugProtocol.Variable;
    const ints = await client.send("readMemory", {
      memoryReference: arr.memoryReference,
      offset: 4,
      count: 36,
    });
    const bytes = Buffer.from(ints.body.data, "base64");
    assert.deepEqual(
      Array.from({ length: 9 }, (_, i) => bytes.readInt32LE(4 * i)),
      [1, 4, 9, 16, 25, 36, 49, 64, 81],
    );
    const memoryEvent = client.waitForEvent("memory", 5000);
    await client.send("writeMemory", {
      memoryReference: msg.memoryReference,
      offset: 0,
      data: Buffer.from("J").toString("base64"),
    });
    const ev = (await memoryEvent) as DebugProtocol.MemoryEvent;
    assert.equal(ev.body.memoryReference, msg.memoryReference);
    const again = await client.send("readMemory", { memoryReference: msg.memoryReference, count: 5 });
    assert.equal(Buffer.from(again.body.data, "base64").toString("latin1"), "Jello");
    // unreadable memory is reported, not an error
    const none = await client.send("readMemory", { memoryReference: "0x10", count: 8 });
    assert.equal(none.body.unreadableBytes, 8);
    // setVariable on a local and on an element of the real-length array
    const scopes = await client.scopesRequest({
      frameId: (await client.stackTraceRequest({ threadId: stop.body.threadId ?? 1 })).body.stackFrames[0].id,
    });
    const ref = scopes.body.scopes[0].variablesReference;
    await client.variablesRequest({ variablesReference: ref });
    const set = await client.send("setVariable", { variablesReference: ref, name: "counter", value: "42" });
    assert.equal(set.body.value, "42");
    const check = await client.evaluateRequest({ expression: "counter", context: "watch" });
    assert.equal(check.body.result, "42");
  });

  it("prints logpoints with their values and goes on; steps in, over and out", async () => {
    const client = newClient();
    const stop = await launchToBreakpoint(client, [markerLine("BP_LOOP")]);
    assert.equal(stop.body.reason, "breakpoint");
    const threadId = stop.body.threadId ?? 1;
    const frameLine = async (): Promise<[string, number]> => {
      const st = await client.stackTraceRequest({ threadId });
      return [st.body.stackFrames[0].name, st.body.stackFrames[0].line];
    };
    // step in to square, over one line, out back to main
    let stopped = client.waitForEvent("stopped");
    await client.stepInRequest({ threadId });
    assert.equal(((await stopped) as DebugProtocol.StoppedEvent).body.reason, "step");
    assert.deepEqual(await frameLine(), ["square", markerLine("BP_SQUARE")]);
    stopped = client.waitForEvent("stopped");
    await client.nextRequest({ threadId });
    await stopped;
    assert.deepEqual(await frameLine(), ["square", markerLine("BP_SQUARE") + 1]);
    stopped = client.waitForEvent("stopped");
    await client.stepOutRequest({ threadId });
    await stopped;
    assert.equal((await frameLine())[0], "main");
    // replace the loop breakpoint with a logpoint in square, and stop after the loop
    await client.setBreakpointsRequest({
      source: { path: SOURCE },
      breakpoints: [
        { line: markerLine("BP_SQUARE"), logMessage: "square of {v} is {v*v}" },
        { line: markerLine("BP_AFTER") },
      ],
    });
    stopped = client.waitForEvent("stopped");
    await client.continueRequest({ threadId });
    const after = (await stopped) as DebugProtocol.StoppedEvent;
    assert.equal(after.body.reason, "breakpoint");
    assert.equal((await frameLine())[1], markerLine("BP_AFTER"));
    const log = client.outputText("console");
    assert.match(log, /square of 2 is 4\n/);
    assert.match(log, /square of 3 is 9\n/);
  });

  it("stops at entry, pauses a running program, and disassembles around the pc", async () => {
    const client = newClient();
    await client.start();
    const entry = client.waitForEvent("stopped", 20000);
    await client.initializeRequest();
    await client.launchRequest({
      program: dapTarget(),
      args: ["wait"],
      stopAtEntry: true,
    } as DebugProtocol.LaunchRequestArguments);
    await client.configurationDoneRequest();
    const e = (await entry) as DebugProtocol.StoppedEvent;
    assert.equal(e.body.reason, "entry");
    const st = await client.stackTraceRequest({ threadId: e.body.threadId ?? 1 });
    assert.equal(st.body.stackFrames[0].name, "main");
    const pc = st.body.stackFrames[0].instructionPointerReference as string;
    const dis = await client.send("disassemble", {
      memoryReference: pc,
      instructionOffset: -3,
      instructionCount: 8,
    });
    const insns = dis.body.instructions as DebugProtocol.DisassembledInstruction[];
    assert.equal(insns.length, 8);
    assert.equal(BigInt(insns[3].address), BigInt(pc));
    assert.ok(insns.slice(3).every((i) => i.instruction !== "??"));
    // continue into the wait loop, then pause
    await client.continueRequest({ threadId: e.body.threadId ?? 1 });
    await client.waitForOutput("pid ", "terminal");
    const paused = client.waitForEvent("stopped", 10000);
    await client.pauseRequest({ threadId: e.body.threadId ?? 1 });
    assert.equal(((await paused) as DebugProtocol.StoppedEvent).body.reason, "pause");
  });
});
