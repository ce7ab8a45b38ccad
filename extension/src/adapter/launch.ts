// Starting a session: launch (a program, with the runtime preloaded into it only), attach (a
// running process) and post-mortem (launch with coreDumpPath); configurationDone starts the
// program once breakpoints are set.
import {
  InitializedEvent,
  ProgressEndEvent,
  ProgressStartEvent,
  ProgressUpdateEvent,
  StoppedEvent,
} from "@vscode/debugadapter";
import type { DebugProtocol } from "@vscode/debugprotocol";
import * as fs from "node:fs";
import * as path from "node:path";

import { GdbConnection, MICommands, MIError, optString, optTuple, type GdbConnectionOptions } from "../mi";
import {
  ConfigError,
  attachConfig,
  launchConfig,
  type AllocsAttachArguments,
  type AllocsLaunchArguments,
  type SessionConfig,
} from "./config";
import type { Context } from "./context";
import { handler, type RequestFamily } from "./handler";
import { defaultGdbOptions, takeEarlyGdb } from "./early-gdb";
import { ensureInflatedDebug, inflatedDebugDir } from "./inflated-debug";
import { adapterTerminal, integratedTerminal, type ProgramTerminal } from "./terminal";
import { wireEvents } from "./execution";
import { runtimeFirst } from "../../../cli/src/ld-preload";
import { ensureMetadata } from "../../../typegen/src/meta/ensure";
import { coreObjects, processObjects, programObjects } from "../../../typegen/src/meta/objects";

/** The environment the session's program sees (the launch's env over the adapter's). */
function sessionEnv(config: SessionConfig): NodeJS.ProcessEnv {
  const env = { ...process.env };
  for (const [name, value] of config.env)
    if (value === null) delete env[name];
    else env[name] = value;
  return env;
}

/** The ELF objects of the session: the program and its libraries, a process's or a core's. */
function sessionObjects(config: SessionConfig): string[] {
  const files: string[] = [];
  if (config.kind === "core") files.push(...coreObjects(config.coreDumpPath as string));
  if (config.kind === "attach") files.push(...processObjects(config.processId as number));
  if (config.program !== undefined) files.push(...programObjects(config.program, sessionEnv(config)));
  return files;
}

/** gdb reads inflated copies of the objects' compressed debug files (inflated-debug.ts): their
 * directory goes in front of gdb's own debug-file-directory (after the setup commands, which may
 * have changed it), before any object is loaded. */
async function useInflatedDebug(mi: MICommands, dir: string | undefined): Promise<void> {
  if (dir === undefined) return;
  const current = (await mi.gdbShow("debug-file-directory").catch(() => undefined)) ?? "/usr/lib/debug";
  const dirs = current.split(path.delimiter).filter((d) => d !== "" && d !== dir);
  await mi.gdbSet("debug-file-directory", [dir, ...dirs].join(path.delimiter)).catch(() => undefined);
}

/** The inflated copies' directory when it holds one for the session's objects (made now if
 * missing: once per build of a library), else undefined. ALLOCS_INFLATED_DEBUG=off (in the
 * adapter's environment) leaves gdb with the originals. */
function inflatedDebugFor(files: readonly string[]): string | undefined {
  if (process.env.ALLOCS_INFLATED_DEBUG === "off") return undefined;
  const dir = inflatedDebugDir();
  return ensureInflatedDebug(files, dir) ? dir : undefined;
}

/** Zero setup (typegen/src/meta/ensure.ts, shared with the allocs CLI): the missing type metadata
 * of the session's objects is made into the build-id cache before the program runs, with a
 * progress notification; a failure is a line in the Debug Console, never a failed launch. */
async function prepareMetadata(ctx: Context, config: SessionConfig, files: string[]): Promise<void> {
  const env = sessionEnv(config);
  const id = `allocs-metadata-${Date.now()}`;
  const progress = ctx.clientCaps.supportsProgressReporting === true;
  let label = "";
  // the launch's env counts, as for the program (ALLOCS_AUTO_META=off, XDG_CACHE_HOME)
  const report = await ensureMetadata(
    files,
    {
      start: (todo) => {
        if (progress)
          ctx.client.sendEvent(new ProgressStartEvent(id, "allocs: making type metadata", todo.join(", ")));
        else ctx.output(`allocs: making type metadata (once per build) for ${todo.join(", ")}`);
      },
      object: (file, i, n) => void (label = `${path.basename(file)} (${i + 1}/${n})`),
      stage: (stage, fraction) => {
        if (progress)
          ctx.client.sendEvent(
            new ProgressUpdateEvent(id, `${label}: ${stage} ${Math.round(fraction * 100)}%`),
          );
      },
      end: (r) => {
        if (progress) ctx.client.sendEvent(new ProgressEndEvent(id, `${r.generated.length} made`));
      },
    },
    env,
  ).catch((e: Error) => ({ failed: [{ file: "", message: e.message }] }));
  for (const f of report.failed)
    ctx.output(`allocs: no type metadata for ${f.file}: ${f.message}`, "important");
}

/** The inferior's LD_PRELOAD: the runtime first, the user's own preloads kept. */
function preloadValue(runtime: string, user: string | null | undefined): string {
  return runtimeFirst(runtime, user ?? process.env.LD_PRELOAD);
}

/** gdb, started ahead of `launch`/`attach` (at `initialize`) with the default gdb, so that its
 * start-up overlaps the client's handshake; taken by launch/attach when their gdb is the same. */
const prestarted = new WeakMap<Context, Promise<GdbConnection | undefined>>();

function gdbOptions(ctx: Context, gdbPath: string): GdbConnectionOptions {
  return defaultGdbOptions(gdbPath, traceTo(ctx));
}

/** traceMI is a launch attribute: asked per line, so a gdb started before launch traces too. */
function traceTo(ctx: Context): NonNullable<GdbConnectionOptions["trace"]> {
  return (dir, line) => {
    if (ctx.config?.traceMI === true) ctx.output(`${dir === "out" ? "->" : "<-"} ${line}`);
  };
}

/** Settings every session wants, sent together (gdb answers them in one go). */
function sendSettings(mi: MICommands): Promise<unknown>[] {
  return [
    mi.gdbSet("mi-async", "on"),
    mi.gdbSet("confirm", "off"),
    mi.gdbSet("pagination", "off"),
    mi.gdbSet("width", "0"),
    // hover and watch never run code in the program; the repl turns calls on for its own commands
    mi.gdbSet("may-call-functions", "off"),
    // symbol indexes of the program and its libraries (libc's debug info is the big one) are
    // kept in ~/.cache/gdb, so later sessions skip building them; an older gdb says no: fine
    mi.console("set index-cache enabled on").catch(() => undefined),
  ];
}

/** Starts the default gdb in the background (from `initialize`); never rejects. */
export function prestartGdb(ctx: Context): void {
  if (prestarted.has(ctx)) return;
  // the process's own early gdb (stdio), else one started now
  const early = takeEarlyGdb(traceTo(ctx)) ?? GdbConnection.start(gdbOptions(ctx, "gdb"));
  const started = early.then(
    (gdb) => {
      if (gdb !== undefined) for (const p of sendSettings(new MICommands(gdb))) p.catch(() => undefined);
      return gdb;
    },
    () => undefined,
  );
  prestarted.set(ctx, started);
  ctx.onDispose(async () => {
    const gdb = await started;
    if (gdb !== undefined && ctx.gdb !== gdb) await gdb.close(500);
  });
}

async function startGdb(ctx: Context, config: SessionConfig): Promise<MICommands> {
  const early = await prestarted.get(ctx);
  prestarted.delete(ctx);
  let gdb: GdbConnection;
  let settings: Promise<unknown>[] = [];
  if (early !== undefined && !early.exited && config.gdbPath === "gdb") {
    gdb = early;
  } else {
    if (early !== undefined) void early.close(500);
    gdb = await GdbConnection.start(gdbOptions(ctx, config.gdbPath));
    settings = sendSettings(new MICommands(gdb));
  }
  ctx.gdb = gdb;
  const mi = new MICommands(gdb);
  ctx.mi = mi;
  wireEvents(ctx, gdb);
  // gdb's own warnings and notes (not answers to a command) go to the Debug Console
  gdb.on("looseStream", (record) => {
    if (record.stream === "log" && record.text.trim() !== "") ctx.output(record.text, "console");
  });
  await Promise.all(settings);
  return mi;
}

/** cppdbg's setupCommands, in order, before the program is loaded: `-...` as MI commands,
 * anything else as a gdb CLI command. A failure stops the launch unless `ignoreFailures`. */
async function runSetupCommands(ctx: Context, config: SessionConfig): Promise<void> {
  const gdb = ctx.requireGdb();
  for (const c of config.setupCommands) {
    const text = c.text.trim();
    if (text === "") continue;
    try {
      if (text.startsWith("-")) {
        const [operation, ...rest] = text.split(/\s+/);
        await gdb.send({ operation, args: rest });
      } else {
        const r = await gdb.console(text);
        const printed = (r.console + r.log).trim();
        if (printed !== "") ctx.output(printed, "console");
      }
    } catch (e) {
      const why = e instanceof MIError ? e.msg : e instanceof Error ? e.message : String(e);
      if (c.ignoreFailures) {
        ctx.output(`allocs: setup command "${text}" failed (ignored): ${why}`, "console");
        continue;
      }
      throw new ConfigError(
        `setup command "${text}"${c.description ? ` (${c.description})` : ""} failed: ${why} ` +
          '(set "ignoreFailures": true to go on)',
      );
    }
  }
}

/** Sources the bridge (which caches its own compiled modules while it loads) and checks for its
 * MI command: sent as one batch, answered in order. Never rejects. */
async function loadBridge(ctx: Context, config: SessionConfig): Promise<void> {
  if (!fs.existsSync(config.bridgePath)) {
    ctx.output(`allocs: the gdb bridge ${config.bridgePath} is missing: no allocation information`, "stderr");
    return;
  }
  const gdb = ctx.requireGdb();
  const source = gdb.console(`source ${config.bridgePath}`);
  const probe = gdb.send({ operation: "-info-gdb-mi-command", args: ["alloc-describe"] });
  try {
    await source;
    const r = await probe;
    ctx.bridge = optString(optTuple(r.results, "command") ?? [], "exists") === "true";
  } catch (e) {
    probe.catch(() => undefined);
    ctx.output(
      `allocs: loading the gdb bridge failed: ${e instanceof Error ? e.message : String(e)}`,
      "stderr",
    );
  }
}

async function openTerminal(ctx: Context, config: SessionConfig): Promise<ProgramTerminal> {
  const title = path.basename(config.program ?? "program");
  let terminal: ProgramTerminal | undefined;
  if (config.useIntegratedTerminal) {
    try {
      terminal = await integratedTerminal(
        ctx,
        title,
        config.cwd ?? path.dirname(config.program ?? "."),
        config.terminalKind,
      );
    } catch (e) {
      ctx.output(
        `allocs: the integrated terminal failed (${e instanceof Error ? e.message : String(e)}); ` +
          "the program's output goes to the Debug Console",
        "stderr",
      );
    }
  }
  terminal ??= adapterTerminal(ctx);
  const t = terminal;
  ctx.onDispose(() => t.dispose());
  return t;
}

async function launch(ctx: Context, a: AllocsLaunchArguments): Promise<void> {
  const config = launchConfig(a, ctx.clientCaps.supportsRunInTerminal);
  ctx.config = config;
  if (config.kind === "launch" && config.preload && !fs.existsSync(config.runtimePath)) {
    throw new Error(
      `the allocs runtime ${config.runtimePath} does not exist: build it (npm run build) or set "preload": false`,
    );
  }
  // The program's terminal is made while gdb starts; everything gdb needs before the run is
  // sent at once (gdb answers in order, one round trip instead of one per command).
  const terminal = config.kind === "launch" ? openTerminal(ctx, config) : undefined;
  terminal?.catch(() => undefined);
  const files = sessionObjects(config);
  const metadata = prepareMetadata(ctx, config, files);
  const inflated = inflatedDebugFor(files);
  const mi = await startGdb(ctx, config);
  await runSetupCommands(ctx, config);
  await useInflatedDebug(mi, inflated);
  const steps: Promise<unknown>[] = [metadata];
  if (config.cwd !== undefined) steps.push(mi.environmentCd(path.resolve(config.cwd)));
  steps.push(mi.fileExecAndSymbols(config.program as string));
  if (config.kind === "launch") {
    if (config.args.length > 0) steps.push(mi.execArguments(config.args));
    for (const [name, value] of config.env) {
      if (name === "LD_PRELOAD" && config.preload) continue;
      if (value === null) steps.push(mi.console(`unset environment ${name}`));
      else steps.push(mi.gdbSet("environment", `${name}=${value}`));
    }
    // No shell between gdb and the program (faster, and nothing but the program gets the
    // preload): gdb execs the program itself with this environment.
    steps.push(mi.gdbSet("startup-with-shell", "off"));
    if (config.preload) {
      steps.push(
        mi.gdbSet(
          "environment",
          `LD_PRELOAD=${preloadValue(config.runtimePath, config.env.get("LD_PRELOAD"))}`,
        ),
      );
    }
    if (config.metadataDir !== undefined) {
      steps.push(mi.gdbSet("environment", `ALLOCS_META_PATH=${path.resolve(config.metadataDir)}`));
    }
    steps.push((terminal as Promise<ProgramTerminal>).then((t) => mi.inferiorTtySet(t.tty)));
    // the bridge is sourced behind -exec-run (configurationDone): gdb loads it while the program
    // starts, and the first stop is reported once it is in
  } else {
    steps.push((ctx.bridgeLoading = loadBridge(ctx, config)));
  }
  await Promise.all(steps);
  ctx.client.sendEvent(new InitializedEvent());
}

async function attach(ctx: Context, a: AllocsAttachArguments): Promise<void> {
  const config = attachConfig(a);
  ctx.config = config;
  const files = sessionObjects(config);
  const metadata = prepareMetadata(ctx, config, files);
  const inflated = inflatedDebugFor(files);
  const mi = await startGdb(ctx, config);
  await runSetupCommands(ctx, config);
  await useInflatedDebug(mi, inflated);
  ctx.bridgeLoading = loadBridge(ctx, config);
  if (config.program !== undefined) await mi.fileExecAndSymbols(config.program);
  await metadata;
  await ctx.bridgeLoading;
  ctx.quietStops = true;
  try {
    await mi.targetAttach(config.processId as number);
  } catch (e) {
    if (e instanceof MIError && /ptrace|Operation not permitted/.test(e.msg)) {
      throw new Error(
        `cannot attach to process ${config.processId}: ${e.msg} ` +
          "(ptrace is restricted: see /proc/sys/kernel/yama/ptrace_scope, or run as the same user)",
      );
    }
    throw e;
  }
  ctx.hasProcess = true;
  const maps = readMaps(config.processId as number);
  if (maps !== undefined && !/liballocs[^/\s]*\.so/.test(maps)) {
    ctx.output(
      `allocs: process ${config.processId} was not started with the allocs runtime (a running process cannot ` +
        "be given it): allocation information shows only what gdb knows",
      "important",
    );
  }
  ctx.client.sendEvent(new InitializedEvent());
}

function readMaps(pid: number): string | undefined {
  try {
    return fs.readFileSync(`/proc/${pid}/maps`, "utf8");
  } catch {
    return undefined;
  }
}

/** Why a core's process stopped, from what gdb said on opening it: the signal that killed it
 * (an exception, with the signal as its text), or none (a core written by gcore of a healthy
 * process: a plain stop, not an empty exception). Execution requests are refused on a core. */
export function coreStoppedEvent(said: string, coreName: string, thread: number): DebugProtocol.StoppedEvent {
  const m = /Program terminated with signal (SIG\w+), ([^\n]*?)\.?\n/.exec(said);
  let ev: DebugProtocol.StoppedEvent;
  if (m !== null) {
    ev = new StoppedEvent("exception", thread, `${m[1]}: ${m[2]}`) as DebugProtocol.StoppedEvent;
    ev.body.description = `core file ${coreName}: the program was killed by ${m[1]} (${m[2]})`;
  } else {
    ev = new StoppedEvent("core written by gcore", thread) as DebugProtocol.StoppedEvent;
    ev.body.description = `core file ${coreName}, written by gcore (no signal stopped the program)`;
  }
  ev.body.allThreadsStopped = true;
  return ev;
}

async function configurationDone(ctx: Context): Promise<void> {
  const mi = ctx.requireMi();
  const config = ctx.config;
  if (config === undefined) return;
  if (config.kind === "launch") {
    ctx.expectEntry = config.stopAtEntry;
    const gdb = ctx.requireGdb();
    const run = gdb.send({ operation: "-exec-run", args: config.stopAtEntry ? ["--start"] : [] });
    ctx.bridgeLoading = loadBridge(ctx, config);
    // gdb's warnings while starting the program (e.g. no address space randomization control)
    const r = await run;
    if (r.log.trim() !== "") ctx.output(r.log, "console");
    return;
  }
  if (config.kind === "core") {
    ctx.quietStops = true;
    let said = "";
    try {
      const r = await ctx
        .requireGdb()
        .send({ operation: "-target-select", args: ["core", config.coreDumpPath as string] });
      said = r.console + r.log;
    } finally {
      ctx.quietStops = false;
    }
    ctx.hasProcess = true;
    ctx.running = false;
    const threads = await mi.threadInfo();
    const thread = Number(threads.currentThreadId ?? threads.threads[0]?.id ?? 1);
    ctx.stoppedThread = thread;
    ctx.client.sendEvent(coreStoppedEvent(said, path.basename(config.coreDumpPath as string), thread));
    return;
  }
  // attach: the process is stopped; run it unless asked to stay
  ctx.quietStops = false;
  ctx.running = false;
  if (config.stopAtEntry) {
    const ev = new StoppedEvent("pause", ctx.stoppedThread) as DebugProtocol.StoppedEvent;
    ev.body.allThreadsStopped = true;
    ctx.client.sendEvent(ev);
  } else {
    await mi.execContinue();
  }
}

async function terminate(ctx: Context): Promise<void> {
  if (ctx.mi === undefined || ctx.gdb === undefined || ctx.gdb.exited) {
    ctx.terminate();
    return;
  }
  if (ctx.config?.kind === "launch" && ctx.hasProcess) {
    ctx.ending = true;
    if (ctx.running) await ctx.mi.execInterrupt({ all: true }).catch(() => undefined);
    await ctx.mi.console("kill").catch(() => undefined);
    ctx.hasProcess = false;
  }
  ctx.terminate();
}

async function disconnect(ctx: Context, a: DebugProtocol.DisconnectArguments): Promise<void> {
  ctx.ending = true;
  const mi = ctx.mi;
  if (mi !== undefined && ctx.gdb !== undefined && !ctx.gdb.exited && ctx.hasProcess) {
    const kill = a.terminateDebuggee ?? ctx.config?.kind !== "attach";
    if (ctx.running) await mi.execInterrupt({ all: true }).catch(() => undefined);
    if (ctx.config?.kind === "attach" && !kill) await mi.targetDetach().catch(() => undefined);
    else if (ctx.config?.kind !== "core") await mi.console("kill").catch(() => undefined);
  }
  await ctx.dispose();
}

export const launchFamily: RequestFamily = {
  name: "launch",
  capabilities: {
    supportsConfigurationDoneRequest: true,
    supportsTerminateRequest: true,
    supportTerminateDebuggee: true,
  },
  requests: {
    launch: handler(launch),
    attach: handler(attach),
    configurationDone: handler(configurationDone),
    terminate: handler(terminate),
    disconnect: handler(disconnect),
  },
};
