// The debug adapter against real gdb 13 and test-programs/dap_target.c, through a real DAP
// client (DebugClient, opted into memory references and runInTerminal): launch, breakpoints,
// stack, scopes, variables with allocation summaries, arrays of the chunk's real length,
// hover without side effects, the Debug Console, memory, setVariable, logpoints, stepping,
// the program's terminal, exit, the custom request.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import type { DebugProtocol } from "@vscode/debugprotocol";

import {
  BRIDGE,
  children,
  dapTarget,
  descendants,
  launchToBreakpoint,
  markerLine,
  processName,
  SOURCE,
  TestClient,
  topLocals,
} from "./dap-client";
import { BUILD_DIR, ROOT } from "../lib/programs";

interface Description {
  allocator: string | null;
  base: string | null;
  size: number | null;
  offset: number | null;
  type: string | null;
  state: string;
  site: { function?: string; file?: string; line?: number } | null;
}

const HAS_BRIDGE = fs.existsSync(BRIDGE);

/** dap_target built by `allocs cc` (debug info plus OUTPUT.allocsmeta), rebuilt when older. */
function typedDapTarget(): string {
  const out = path.join(BUILD_DIR, "dap_target-allocscc");
  if (!fs.existsSync(out + ".allocsmeta") || fs.statSync(out).mtimeMs < fs.statSync(SOURCE).mtimeMs) {
    fs.mkdirSync(BUILD_DIR, { recursive: true });
    const r = spawnSync(
      process.execPath,
      [path.join(ROOT, "bin", "allocs.js"), "cc", "-O0", "-o", out, SOURCE],
      {
        encoding: "utf8",
        timeout: 120000,
      },
    );
    assert.equal(r.status, 0, `allocs cc failed: ${r.stderr}`);
    assert.ok(fs.existsSync(out + ".allocsmeta"), `allocs cc wrote no metadata: ${r.stderr}`);
  }
  return out;
}

describe("debug adapter: a launched program", function () {
  this.timeout(60000);
  let client: TestClient;

  before(() => {
    dapTarget();
  });
  afterEach(async () => {
    await client?.close();
  });

  it("stops at a breakpoint with its stack, scopes and locals", async () => {
    client = new TestClient();
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
    client = new TestClient();
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

  (HAS_BRIDGE ? it : it.skip)("shows allocation summaries beside pointers, field by field", async () => {
    client = new TestClient();
    const stop = await launchToBreakpoint(client, [markerLine("BP_AFTER")]);
    const locals = await topLocals(client, stop.body.threadId ?? 1);
    const arr = locals.get("arr") as DebugProtocol.Variable;
    const mid = locals.get("mid") as DebugProtocol.Variable;
    const arrAddress = BigInt(arr.value.split(" ")[0]);
    assert.equal(mid.memoryReference, `0x${(arrAddress + 12n).toString(16)}`);
    // the summary: allocator, size while the type is unknown, offset, allocation site
    const allocLine = markerLine("BP_AFTER") - 13; // arr = malloc(...) in main
    assert.match(
      mid.value,
      /^0x[0-9a-f]+ → __default_lib_malloc (40 B|int\[10\]) \+12 .*@ dap_target\.c:\d+$/,
    );
    assert.match(arr.value, /^0x[0-9a-f]+ → __default_lib_malloc (40 B|int\[10\]) @ dap_target\.c:\d+$/);
    assert.ok(allocLine > 0);
    // the virtual [allocation] child holds the whole description
    const kids = await children(client, mid);
    const allocation = kids.get("[allocation]") as DebugProtocol.Variable;
    assert.equal(allocation.presentationHint?.kind, "virtual");
    const fields = await children(client, allocation);
    assert.equal(fields.get("allocator")?.value, "__default_lib_malloc");
    assert.equal(BigInt(fields.get("base")?.value ?? "0"), arrAddress);
    assert.equal(fields.get("size")?.value, "40");
    assert.equal(fields.get("offset")?.value, "12");
    assert.equal(fields.get("state")?.value, "live");
    const site = await children(client, fields.get("site") as DebugProtocol.Variable);
    assert.equal(site.get("function")?.value, "main");
    assert.match(site.get("file")?.value ?? "", /dap_target\.c$/);
    // a stack address and a string literal are described too
    const r = await client.customRequest("allocs/describe", { expression: "&counter" });
    const d = (r.body as { description: Description }).description;
    assert.equal(d.allocator, "stackframe");
  });

  (HAS_BRIDGE ? it : it.skip)(
    "expands a pointer into a heap array as an array of the chunk's real length",
    async () => {
      client = new TestClient();
      const stop = await launchToBreakpoint(client, [markerLine("BP_AFTER")]);
      const locals = await topLocals(client, stop.body.threadId ?? 1);
      // mid = arr + 3 in a 10-int chunk: 7 elements, 9, 16, ..., 81
      const mid = await children(client, locals.get("mid") as DebugProtocol.Variable);
      const elements = [...mid.keys()].filter((k) => k.startsWith("["));
      assert.deepEqual(elements, ["[allocation]", "[0]", "[1]", "[2]", "[3]", "[4]", "[5]", "[6]"]);
      assert.deepEqual(
        [0, 1, 2, 3, 4, 5, 6].map((i) => mid.get(`[${i}]`)?.value),
        ["9", "16", "25", "36", "49", "64", "81"],
      );
      const arr = await children(client, locals.get("arr") as DebugProtocol.Variable);
      assert.equal(arr.get("[9]")?.value, "81");
      assert.equal(arr.has("[10]"), false);
      // struct point[3] from malloc(3 * sizeof *pts)
      const pts = await children(client, locals.get("pts") as DebugProtocol.Variable);
      assert.equal(pts.has("[2]"), true);
      assert.equal(pts.has("[3]"), false);
      const p1 = await children(client, pts.get("[1]") as DebugProtocol.Variable);
      assert.deepEqual(
        ["x", "y", "z"].map((f) => p1.get(f)?.value),
        ["1", "10", "100"],
      );
      // char *msg = strdup("hello allocs"): 13 chars
      const msg = await children(client, locals.get("msg") as DebugProtocol.Variable);
      assert.equal(msg.has("[12]"), true);
      assert.equal(msg.has("[13]"), false);
    },
  );

  (HAS_BRIDGE ? it : it.skip)("expands a void * as its dynamic type from the run-time type", async () => {
    client = new TestClient();
    // built by `allocs cc`, so the runtime loads type metadata and the heap site has a type
    const program = typedDapTarget();
    const stop = await launchToBreakpoint(client, [markerLine("BP_AFTER")], { program });
    const locals = await topLocals(client, stop.body.threadId ?? 1);
    const opaque = locals.get("opaque") as DebugProtocol.Variable;
    const r = await client.customRequest("allocs/describe", { expression: "opaque" });
    const d = (r.body as { description: Description }).description;
    assert.equal(d.allocator, "__default_lib_malloc");
    assert.equal(d.type, "struct point[3]");
    assert.match(opaque.value, /→ __default_lib_malloc struct point\[3\]/);
    const kids = await children(client, opaque);
    assert.ok(kids.has("[allocation]"));
    // void * -> struct point[3]: three elements, each with the struct's fields
    const second = kids.get("[1]") as DebugProtocol.Variable;
    assert.ok(second, `children: ${[...kids.keys()].join(", ")}`);
    const fields = await children(client, second);
    assert.deepEqual(
      [...fields.keys()].filter((k) => !k.startsWith("[")),
      ["x", "y", "z"],
    );
  });

  it("hovers without side effects, and shows the summary on a pointer", async () => {
    client = new TestClient();
    const stop = await launchToBreakpoint(client, [markerLine("BP_AFTER")]);
    const st = await client.stackTraceRequest({ threadId: stop.body.threadId ?? 1 });
    const frameId = st.body.stackFrames[0].id;
    const hover = (expression: string): Promise<DebugProtocol.EvaluateResponse> =>
      client.evaluateRequest({ expression, context: "hover", frameId });
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
    await assert.rejects(
      client.evaluateRequest({ expression: "counter = 1", context: "watch", frameId }),
      /watch/,
    );
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

  it("runs alloc commands and other gdb commands from the Debug Console", async () => {
    client = new TestClient();
    const stop = await launchToBreakpoint(client, [markerLine("BP_AFTER")]);
    const st = await client.stackTraceRequest({ threadId: stop.body.threadId ?? 1 });
    const frameId = st.body.stackFrames[0].id;
    const repl = (expression: string): Promise<DebugProtocol.EvaluateResponse> =>
      client.evaluateRequest({ expression, context: "repl", frameId });
    if (HAS_BRIDGE) {
      const info = await repl("alloc info mid");
      assert.match(info.body.result, /allocator\s+__default_lib_malloc/);
      assert.match(info.body.result, /size\s+40 bytes/);
      assert.match(info.body.result, /offset\s+12/);
    }
    assert.match((await repl("info line")).body.result, /Line \d+ of .*dap_target\.c/);
    assert.equal((await repl("sum * 2")).body.result, "28");
    // the repl may have side effects (it is the user's console)
    assert.equal((await repl("counter = 7")).body.result, "7");
    assert.equal((await repl("-exec print counter")).body.result, "$1 = 7");
    await assert.rejects(repl("no_such_symbol_here"), /No symbol/);
  });

  it("reads and writes memory through memoryReference, and sets variables", async () => {
    client = new TestClient();
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
    client = new TestClient();
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

  it("gives the program a terminal through runInTerminal, and reports its exit", async () => {
    client = new TestClient();
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
    client = new TestClient();
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
    client = new TestClient({ terminal: false });
    const stop = await launchToBreakpoint(client, [markerLine("BP_AFTER")]);
    await client.waitForOutput("start hello allocs\n", "stdout");
    const terminated = client.waitForEvent("terminated", 15000);
    await client.continueRequest({ threadId: stop.body.threadId ?? 1 });
    await terminated;
    await client.waitForOutput("sum 14 counter 6\n", "stdout");
    assert.doesNotMatch(client.outputText("stdout"), /controlling terminal/);
  });

  it("stops at entry, pauses a running program, and disassembles around the pc", async () => {
    client = new TestClient();
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

  it("answers allocs/describe for an address and for an expression", async function () {
    if (!HAS_BRIDGE) this.skip();
    client = new TestClient();
    const stop = await launchToBreakpoint(client, [markerLine("BP_AFTER")]);
    const byExpr = await client.customRequest("allocs/describe", { expression: "mid" });
    const d = (byExpr.body as { description: Description; summary: string }).description;
    assert.equal(d.allocator, "__default_lib_malloc");
    assert.equal(d.size, 40);
    assert.equal(d.offset, 12);
    assert.equal(d.state, "live");
    assert.equal(d.site?.function, "main");
    const byAddress = await client.customRequest("allocs/describe", { address: d.base });
    const b = (byAddress.body as { description: Description }).description;
    assert.equal(b.offset, 0);
    assert.equal(b.base, d.base);
    await assert.rejects(client.customRequest("allocs/describe", {}), /address or an expression/);
    assert.ok(stop);
  });

  (HAS_BRIDGE ? it : it.skip)("answers allocs/census by site and by type, and allocs/maps", async () => {
    client = new TestClient();
    const program = typedDapTarget();
    await launchToBreakpoint(client, [markerLine("BP_AFTER")], { program });
    interface Row {
      site?: { function?: string; file?: string; line?: number } | null;
      type?: string | null;
      count: number;
      bytes: number;
    }
    interface Census {
      by: string;
      rows: Row[];
      total: { chunks: number; bytes: number };
      runtimeStats: { liveChunks: number; liveBytes: number } | null;
    }
    const bySite = (await client.customRequest("allocs/census", {})).body as Census;
    assert.equal(bySite.by, "site");
    const ptsLine =
      fs
        .readFileSync(SOURCE, "utf8")
        .split("\n")
        .findIndex((l) => l.includes("malloc(3 * sizeof *pts)")) + 1;
    const pts = bySite.rows.find((r) => r.site?.line === ptsLine);
    assert.ok(pts, `a row for the malloc at dap_target.c:${ptsLine}: ${JSON.stringify(bySite.rows)}`);
    assert.equal(pts.site?.function, "main");
    assert.equal(pts.count, 1);
    assert.equal(pts.bytes, 36);
    // largest first; the totals agree with the runtime's own counters
    const bytes = bySite.rows.map((r) => r.bytes);
    assert.deepEqual(
      bytes,
      [...bytes].sort((a, b) => b - a),
    );
    assert.equal(
      bySite.total.bytes,
      bytes.reduce((a, b) => a + b, 0),
    );
    assert.equal(bySite.runtimeStats?.liveBytes, bySite.total.bytes);
    const byType = (await client.customRequest("allocs/census", { by: "type" })).body as Census;
    assert.equal(byType.by, "type");
    assert.deepEqual(
      byType.rows.filter((r) => r.type === "struct point[]").map((r) => [r.count, r.bytes]),
      [[1, 36]],
    );
    assert.ok(byType.rows.some((r) => r.type === "int[]" && r.bytes === 40));
    await assert.rejects(client.customRequest("allocs/census", { by: "size" }), /"site" or "type"/);
    interface MapNode {
      allocator: string;
      base: string;
      size: number;
      name?: string | null;
      children?: MapNode[];
    }
    const maps = (await client.customRequest("allocs/maps", {})).body as { maps: MapNode[] };
    const all: MapNode[] = [];
    const walk = (ns: MapNode[]): void => {
      for (const n of ns) {
        all.push(n);
        walk(n.children ?? []);
      }
    };
    walk(maps.maps);
    const elf = all.find((n) => n.allocator === "elf_file" && n.name === program);
    assert.ok(elf, "the program's ELF file is in the map");
    assert.ok((elf.children ?? []).some((c) => c.allocator === "elf_segment"));
    assert.ok(
      all.some((n) => n.name === "[stack]"),
      "the main stack is in the map",
    );
  });
});
