// The DAP test client: @vscode/debugadapter-testsupport's DebugClient, opted into memory
// references, invalidated/memory events and runInTerminal (answered for real: the command runs
// in a pseudo-terminal, as VS Code's integrated terminal would run it). Also: the test program,
// its marker lines, and cleanup of every process a test started.
import assert from "node:assert/strict";
import { DebugClient } from "@vscode/debugadapter-testsupport";
import type { DebugProtocol } from "@vscode/debugprotocol";
import * as fs from "node:fs";
import * as path from "node:path";
import type { IPty } from "node-pty";

import { buildProgram, PROGRAMS_DIR, ROOT } from "../lib/programs";
import { ensureMetadata } from "../../typegen/src/meta/ensure";
import { programObjects } from "../../typegen/src/meta/objects";

export const ADAPTER = path.join(ROOT, "dist", "extension", "src", "adapter", "main.js");
export const SOURCE = path.join(PROGRAMS_DIR, "dap_target.c");
export const BRIDGE = path.join(ROOT, "gdb-python-bridge", "allocs_gdb.py");
/** Without the bridge the adapter still debugs, with no allocation summaries. */
export const HAS_BRIDGE = fs.existsSync(BRIDGE);

export function dapTarget(): string {
  return buildProgram("dap_target");
}

/** The line of a `BP_NAME` marker comment in dap_target.c. */
export function markerLine(name: string): number {
  const lines = fs.readFileSync(SOURCE, "utf8").split("\n");
  const i = lines.findIndex((l) => l.includes(`/* ${name} */`));
  if (i < 0) throw new Error(`no marker ${name} in ${SOURCE}`);
  return i + 1;
}

/** Pids of a process's descendants (from /proc), deepest last. */
export function descendants(pid: number): number[] {
  const parent = new Map<number, number>();
  for (const entry of fs.readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${entry}/stat`, "utf8");
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      parent.set(Number(entry), ppid);
    } catch {
      // gone
    }
  }
  const out: number[] = [];
  const walk = (p: number): void => {
    for (const [child, pp] of parent) {
      if (pp === p) {
        out.push(child);
        walk(child);
      }
    }
  };
  walk(pid);
  return out;
}

export function processName(pid: number): string {
  try {
    return fs.readFileSync(`/proc/${pid}/comm`, "utf8").trim();
  } catch {
    return "";
  }
}

export function killQuietly(pid: number): void {
  try {
    process.kill(pid, "SIGKILL");
  } catch {
    // already gone
  }
}

export interface ClientOptions {
  /** advertise and answer runInTerminal (default true) */
  terminal?: boolean;
}

export class TestClient extends DebugClient {
  readonly terminals: IPty[] = [];
  /** every runInTerminal request, as the adapter sent it */
  readonly terminalRequests: DebugProtocol.RunInTerminalRequestArguments[] = [];
  terminalOutput = "";
  readonly outputs: DebugProtocol.OutputEvent[] = [];
  /** every failed response, as the adapter sent it (body.error says whether VS Code pops it up) */
  readonly failures: DebugProtocol.ErrorResponse[] = [];
  private readonly useTerminal: boolean;
  private closed = false;

  constructor(opts: ClientOptions = {}) {
    super(process.execPath, ADAPTER, "allocs", { stdio: "pipe" }, true);
    this.useTerminal = opts.terminal !== false;
    this.defaultTimeout = 15000;
    const self = this as unknown as { dispatch(body: string): void };
    const original = self.dispatch.bind(this);
    self.dispatch = (body: string): void => {
      const message = JSON.parse(body) as DebugProtocol.ProtocolMessage;
      if (message.type === "request") this.reverseRequest(message as DebugProtocol.Request);
      else {
        const r = message as DebugProtocol.Response;
        if (r.type === "response" && !r.success) this.failures.push(r as DebugProtocol.ErrorResponse);
        original(body);
      }
    };
    this.on("output", (e: DebugProtocol.OutputEvent) => this.outputs.push(e));
  }

  /** The adapter process (for finding gdb beneath it). */
  get adapterPid(): number | undefined {
    return (this as unknown as { _adapterProcess?: { pid?: number } })._adapterProcess?.pid ?? undefined;
  }

  override initializeRequest(
    args?: DebugProtocol.InitializeRequestArguments,
  ): Promise<DebugProtocol.InitializeResponse> {
    return super.initializeRequest(
      args ?? {
        adapterID: "allocs",
        clientID: "allocs-tests",
        linesStartAt1: true,
        columnsStartAt1: true,
        pathFormat: "path",
        supportsMemoryReferences: true,
        supportsRunInTerminalRequest: this.useTerminal,
        supportsInvalidatedEvent: true,
        supportsMemoryEvent: true,
        supportsVariableType: true,
      },
    );
  }

  /** The last failed response to a command, and whether it asked to be shown to the user. */
  lastFailure(command: string): { message: string; showUser: boolean } {
    const r = [...this.failures].reverse().find((f) => f.command === command);
    if (r === undefined) throw new Error(`no failed ${command} response`);
    return { message: r.message ?? "", showUser: r.body?.error?.showUser === true };
  }

  /** Everything written to output events of a category so far. */
  outputText(category?: string): string {
    return this.outputs
      .filter((e) => category === undefined || (e.body.category ?? "console") === category)
      .map((e) => e.body.output)
      .join("");
  }

  /** Waits until the output of a category (or the terminal) contains `text`. */
  async waitForOutput(text: string, where: string, timeoutMs = 10000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const have = where === "terminal" ? this.terminalOutput : this.outputText(where);
      if (have.includes(text)) return;
      if (Date.now() > deadline)
        throw new Error(`no "${text}" in ${where} output within ${timeoutMs} ms: ${JSON.stringify(have)}`);
      await new Promise((r) => setTimeout(r, 25));
    }
  }

  private reverseRequest(request: DebugProtocol.Request): void {
    const respond = (success: boolean, body?: unknown, message?: string): void => {
      const response = {
        type: "response",
        seq: 0,
        request_seq: request.seq,
        command: request.command,
        success,
        body,
        message,
      };
      const json = JSON.stringify(response);
      const out = (this as unknown as { outputStream: NodeJS.WritableStream }).outputStream;
      out.write(`Content-Length: ${Buffer.byteLength(json, "utf8")}\r\n\r\n${json}`, "utf8");
    };
    if (request.command !== "runInTerminal" || !this.useTerminal) {
      respond(false, undefined, `unsupported reverse request ${request.command}`);
      return;
    }
    const a = request.arguments as DebugProtocol.RunInTerminalRequestArguments;
    this.terminalRequests.push(a);
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const pty = require("node-pty") as typeof import("node-pty");
    const term = pty.spawn(a.args[0], a.args.slice(1), {
      cwd: a.cwd,
      cols: 120,
      rows: 40,
      env: { ...process.env, ...(a.env ?? {}) } as Record<string, string>,
    });
    term.onData((d) => {
      this.terminalOutput += d.replace(/\r\n/g, "\n");
    });
    this.terminals.push(term);
    respond(true, { processId: term.pid });
  }

  /** Disconnects, then makes sure the adapter, gdb, the program and terminals are gone. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const pid = this.adapterPid;
    const below = pid !== undefined ? descendants(pid) : [];
    await Promise.race([this.stop(), new Promise((r) => setTimeout(r, 5000))]);
    for (const p of below.reverse()) killQuietly(p);
    for (const t of this.terminals) {
      try {
        t.kill();
      } catch {
        // gone
      }
    }
  }
}

/** For a suite whose tests each drive the adapter: builds dap_target and makes its type metadata
 * before them, and closes every client a test made after it. Returns the way to make such a client.
 * The metadata is made here with the adapter's own function (zero setup) so that no launch or
 * attach of a test makes it inside a wait for an event: libc's takes seconds on a loaded machine. */
export function clientPerTest(): (opts?: ClientOptions) => TestClient {
  const made: TestClient[] = [];
  before(async function () {
    this.timeout(600_000);
    const report = await ensureMetadata(programObjects(dapTarget()));
    assert.deepEqual(report.failed, [], "dap_target's type metadata");
  });
  afterEach(async () => {
    for (const c of made.splice(0)) await c.close();
  });
  return (opts = {}) => {
    const c = new TestClient(opts);
    made.push(c);
    return c;
  };
}

/** Starts the adapter, launches with LAUNCH's arguments, sets the breakpoints with
 * SET_BREAKPOINTS once the adapter is initialized, and resolves at the first stop (each event
 * waited for at most TIMEOUT_MS). */
export async function launchAndStop(
  client: TestClient,
  launch: Record<string, unknown>,
  setBreakpoints: () => Promise<unknown>,
  timeoutMs: number,
): Promise<DebugProtocol.StoppedEvent> {
  await client.start();
  const stopped = client.waitForEvent("stopped", timeoutMs) as Promise<DebugProtocol.StoppedEvent>;
  await client.initializeRequest();
  const initialized = client.waitForEvent("initialized", timeoutMs);
  await client.launchRequest(launch as DebugProtocol.LaunchRequestArguments);
  await initialized;
  await setBreakpoints();
  await client.configurationDoneRequest();
  return stopped;
}

/** Launches dap_target with breakpoints at the given lines; resolves at the first stop. */
export async function launchToBreakpoint(
  client: TestClient,
  lines: number[],
  extra: Record<string, unknown> = {},
): Promise<DebugProtocol.StoppedEvent> {
  return launchAndStop(
    client,
    { program: dapTarget(), ...extra },
    () =>
      client.setBreakpointsRequest({
        source: { path: SOURCE },
        breakpoints: lines.map((line) => ({ line })),
      }),
    20000,
  );
}

/** Launches PROGRAM with a breakpoint on the function NAME; resolves at the first stop. */
export async function launchToFunction(
  client: TestClient,
  program: string,
  name: string,
): Promise<DebugProtocol.StoppedEvent> {
  return launchAndStop(
    client,
    { program },
    () => client.setFunctionBreakpointsRequest({ breakpoints: [{ name }] }),
    30000,
  );
}

/** Continues the thread THREAD_ID and resolves at the program's next stop. */
export async function continueToStop(
  client: TestClient,
  threadId: number,
): Promise<DebugProtocol.StoppedEvent> {
  const stopped = client.waitForEvent("stopped", 30000) as Promise<DebugProtocol.StoppedEvent>;
  await client.continueRequest({ threadId });
  return stopped;
}

/** The variables of the top frame's Locals scope, by name. */
export async function topLocals(
  client: TestClient,
  threadId: number,
): Promise<Map<string, DebugProtocol.Variable>> {
  const st = await client.stackTraceRequest({ threadId, startFrame: 0, levels: 20 });
  return frameLocals(client, st.body.stackFrames[0].id);
}

export async function frameLocals(
  client: TestClient,
  frameId: number,
): Promise<Map<string, DebugProtocol.Variable>> {
  const scopes = await client.scopesRequest({ frameId });
  const locals = scopes.body.scopes.find((s) => s.name === "Locals");
  if (locals === undefined) throw new Error("no Locals scope");
  const vars = await client.variablesRequest({ variablesReference: locals.variablesReference });
  return new Map(vars.body.variables.map((v) => [v.name, v]));
}

export async function children(
  client: TestClient,
  v: DebugProtocol.Variable,
): Promise<Map<string, DebugProtocol.Variable>> {
  const r = await client.variablesRequest({ variablesReference: v.variablesReference });
  return new Map(r.body.variables.map((c) => [c.name, c]));
}

/** Evaluates expressions in a thread's top frame, in one context (hover, watch, repl). */
export async function topFrameEvaluator(
  client: TestClient,
  threadId: number,
  context: string,
): Promise<(expression: string) => Promise<DebugProtocol.EvaluateResponse>> {
  const st = await client.stackTraceRequest({ threadId });
  const frameId = st.body.stackFrames[0].id;
  return (expression) => client.evaluateRequest({ expression, context, frameId });
}
