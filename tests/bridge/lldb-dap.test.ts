// VS Code through LLDB: a real DAP client talks to Debian's lldb-vscode-16 configured exactly as
// the extension's `allocs-lldb` debugger type configures it (extension/src/vscode/lldb.ts: the
// LLDB front in initCommands, the runtime in env), stops bridge_types at types_stop and reads the
// Variables of main: each pointer's allocation beside its value, a malloc'd array expanded to its
// real length, a void * as its dynamic type; then Describe Address, Heap Census and Memory Map
// through the extension's own request layer.
import { strict as assert } from "node:assert";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { DebugClient } from "@vscode/debugadapter-testsupport";
import type { DebugProtocol } from "@vscode/debugprotocol";
import { ROOT, buildWithAllocsCc, hasCommand } from "../lib/programs";
import { validate } from "../lib/json-schema";
import { findLldbAdapter, lldbConfiguration, lldbRequests } from "../../extension/src/vscode/lldb";
import { census, describe as describeAddress, memoryMap } from "../../extension/src/vscode/requests";
import { GDB_TIMEOUT_MS, makeGcore } from "./gdb";
import { endLldbDap } from "./lldb";

const ADAPTER = "lldb-vscode-16";

describe("VS Code through LLDB (allocs-lldb, lldb-vscode-16, a real DAP client)", function () {
  this.timeout(4 * GDB_TIMEOUT_MS);
  let dc: DebugClient;
  let mainFrame: number;
  let locals: DebugProtocol.Variable[];
  let globals: DebugProtocol.Variable[];
  let debuggee: number | undefined;

  before(async function () {
    if (findLldbAdapter([ADAPTER]) === undefined) {
      console.log(`      skipped: ${ADAPTER} is not installed (npm run setup installs lldb-16)`);
      this.skip();
    }
    const exe = buildWithAllocsCc("bridge_types");
    dc = new DebugClient("/usr/bin/env", ADAPTER, "lldb");
    dc.defaultTimeout = GDB_TIMEOUT_MS;
    await dc.start();
    dc.on("process", (e: DebugProtocol.ProcessEvent) => (debuggee = e.body.systemProcessId));
    await dc.initializeRequest({
      adapterID: "allocs-lldb",
      linesStartAt1: true,
      columnsStartAt1: true,
      pathFormat: "path",
      supportsVariableType: true,
    });
    const config = lldbConfiguration({ request: "launch", program: exe, args: ["stop"] }, ROOT);
    const launched = dc.launchRequest(config as DebugProtocol.LaunchRequestArguments);
    await dc.waitForEvent("initialized");
    await dc.setFunctionBreakpointsRequest({ breakpoints: [{ name: "types_stop" }] });
    await dc.configurationDoneRequest();
    await launched;
    const stopped = (await dc.waitForEvent("stopped")) as DebugProtocol.StoppedEvent;
    const trace = await dc.stackTraceRequest({ threadId: stopped.body.threadId ?? 1 });
    const main = trace.body.stackFrames.find((f) => f.name.startsWith("main"));
    assert.ok(main, "main is on the stack");
    mainFrame = main.id;
    const scopes = (await dc.scopesRequest({ frameId: mainFrame })).body.scopes;
    const scope = (name: string) => scopes.find((s) => s.name === name)?.variablesReference ?? 0;
    locals = (await dc.variablesRequest({ variablesReference: scope("Locals") })).body.variables;
    globals = (await dc.variablesRequest({ variablesReference: scope("Globals") })).body.variables;
  });

  after(async () => {
    if (dc === undefined) return;
    await endLldbDap(dc, { terminateDebuggee: true }, debuggee);
  });

  function variable(list: DebugProtocol.Variable[], name: string): DebugProtocol.Variable {
    const v = list.find((x) => x.name === name);
    assert.ok(v, `no variable ${name} in ${list.map((x) => x.name).join(", ")}`);
    return v;
  }

  async function children(v: DebugProtocol.Variable): Promise<DebugProtocol.Variable[]> {
    assert.ok(v.variablesReference > 0, `${v.name} has children`);
    return (await dc.variablesRequest({ variablesReference: v.variablesReference })).body.variables;
  }

  it("shows each pointer's allocation beside its value in Variables", () => {
    assert.match(
      variable(locals, "pts").value,
      /^0x[0-9a-f]+ → __default_lib_malloc struct point\[3\] @ bridge_types\.c:35$/,
    );
    assert.match(variable(locals, "a").value, / → __default_lib_malloc struct node @ bridge_types\.c:66$/);
    assert.match(variable(locals, "argv").value, / → auxv char \*\[3\] @ argv$/);
    assert.match(variable(globals, "opaque").value, / → __default_lib_malloc struct point\[3\]/);
  });

  it("expands a pointer into a malloc'd array to its real length, and a void * as its dynamic type", async () => {
    const pts = await children(variable(locals, "pts"));
    assert.deepEqual(
      pts.map((c) => c.name),
      ["[0]", "[1]", "[2]"],
    );
    const second = await children(pts[1]);
    assert.deepEqual(
      second.map((c) => [c.name, c.value]),
      [
        ["x", "1"],
        ["y", "10"],
        ["z", "100"],
      ],
    );
    assert.equal((await children(variable(locals, "arena"))).length, 16, "malloc(16 * sizeof(struct point))");
    const opaque = await children(variable(globals, "opaque"));
    assert.deepEqual(
      opaque.map((c) => c.name),
      ["[0]", "[1]", "[2]"],
    );
  });

  it("answers Describe Address, Heap Census and Memory Map through the extension's requests", async () => {
    // vscode.DebugSession.customRequest resolves to the response's body; DebugClient's to the response.
    const session = lldbRequests({
      customRequest: async (command: string, args?: unknown) => (await dc.customRequest(command, args)).body,
    });
    const { description } = await describeAddress(session, "&pts[1].y", mainFrame);
    assert.ok(description);
    assert.deepEqual(validate("description.schema.json", description), []);
    assert.deepEqual(
      [description.allocator, description.type, description.path, description.offset],
      ["__default_lib_malloc", "struct point[3]", "[1].y", 16],
    );
    const c = await census(session);
    assert.deepEqual(validate("census.schema.json", c), []);
    assert.ok(c.rows.some((r) => r.site?.line === 74 && r.bytes === 16 * 12));
    const maps = await memoryMap(session);
    assert.deepEqual(validate("maps.schema.json", { maps }), []);
    assert.ok(maps.some((m) => m.name === "[heap]"));
    await assert.rejects(
      describeAddress(session, "nosuch_variable", mainFrame),
      /use of undeclared identifier/,
    );
    const ls = (await session.customRequest("allocs/ls", { type: "struct point", limit: 500 })) as {
      entries: Array<{ base: string; type: string }>;
    };
    assert.deepEqual(validate("ls.schema.json", ls), []);
    assert.ok(ls.entries.some((e) => e.type === "struct point[3]"));
  });
});

describe("VS Code through LLDB on a core file (allocs-lldb attach with coreFile)", function () {
  this.timeout(4 * GDB_TIMEOUT_MS);
  let dc: DebugClient;
  let dir: string;

  before(async function () {
    if (findLldbAdapter([ADAPTER]) === undefined || !hasCommand("gdb")) this.skip();
    const exe = buildWithAllocsCc("bridge_types");
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "allocs-lldb-dap-"));
    const core = path.join(dir, "gcore.core");
    makeGcore(exe, "types_stop", core);
    dc = new DebugClient("/usr/bin/env", ADAPTER, "lldb");
    dc.defaultTimeout = GDB_TIMEOUT_MS;
    await dc.start();
    await dc.initializeRequest({ adapterID: "allocs-lldb", linesStartAt1: true, columnsStartAt1: true });
    const config = lldbConfiguration({ request: "attach", program: exe, coreFile: core }, ROOT);
    assert.equal(config.env, undefined, "nothing to preload into a core");
    const attached = dc.attachRequest(config as DebugProtocol.AttachRequestArguments);
    await dc.waitForEvent("initialized");
    await dc.configurationDoneRequest();
    await attached;
  });

  after(async () => {
    if (dc !== undefined) await endLldbDap(dc, {});
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  it("describes an address and takes the census in the core", async () => {
    const session = lldbRequests({
      customRequest: async (command: string, args?: unknown) => (await dc.customRequest(command, args)).body,
    });
    const { description } = await describeAddress(session, "opaque");
    assert.ok(description);
    assert.deepEqual(
      [description.allocator, description.type, description.state],
      ["__default_lib_malloc", "struct point[3]", "live"],
    );
    const c = await census(session);
    assert.equal(c.runtimeStats?.liveChunks, c.total.chunks);
  });
});
