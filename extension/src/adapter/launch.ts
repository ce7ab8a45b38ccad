// Starting a session: launch (a program, with the runtime preloaded into it only), attach (a
// running process) and post-mortem (launch with coreDumpPath); configurationDone starts the
// program once breakpoints are set.
import { InitializedEvent, StoppedEvent } from "@vscode/debugadapter";
import type { DebugProtocol } from "@vscode/debugprotocol";
import * as fs from "node:fs";
import * as path from "node:path";

import { GdbConnection, MICommands, MIError } from "../mi";
import {
  attachConfig,
  launchConfig,
  type AllocsAttachArguments,
  type AllocsLaunchArguments,
  type SessionConfig,
} from "./config";
import type { Context } from "./context";
import { handler, type RequestFamily } from "./handler";
import { adapterTerminal, integratedTerminal, type ProgramTerminal } from "./terminal";
import { wireEvents } from "./execution";

/** The inferior's LD_PRELOAD: the runtime first, the user's own preloads kept. */
function preloadValue(runtime: string, user: string | null | undefined): string {
  const others = (user ?? process.env.LD_PRELOAD ?? "")
    .split(/[: ]/)
    .filter((p) => p !== "" && p !== runtime);
  return [runtime, ...others].join(":");
}

async function startGdb(ctx: Context, config: SessionConfig): Promise<MICommands> {
  const gdb = await GdbConnection.start({
    gdbPath: config.gdbPath,
    cwd: config.cwd,
    commandTimeoutMs: 60000,
    trace: config.traceMI ? (dir, line) => ctx.output(`${dir === "out" ? "->" : "<-"} ${line}`) : undefined,
  });
  ctx.gdb = gdb;
  const mi = new MICommands(gdb);
  ctx.mi = mi;
  wireEvents(ctx, gdb);
  await Promise.all([
    mi.gdbSet("mi-async", "on"),
    mi.gdbSet("confirm", "off"),
    mi.gdbSet("pagination", "off"),
    mi.gdbSet("width", "0"),
    // hover and watch never run code in the program; the repl turns calls on for its own commands
    mi.gdbSet("may-call-functions", "off"),
  ]);
  await loadBridge(ctx, config);
  return mi;
}

async function loadBridge(ctx: Context, config: SessionConfig): Promise<void> {
  if (!fs.existsSync(config.bridgePath)) {
    ctx.output(`allocs: the gdb bridge ${config.bridgePath} is missing: no allocation information`, "stderr");
    return;
  }
  const mi = ctx.requireMi();
  try {
    await mi.console(`source ${config.bridgePath}`);
    const r = await ctx.requireGdb().send({ operation: "-info-gdb-mi-command", args: ["alloc-describe"] });
    ctx.bridge =
      JSON.stringify(r.results).includes('"exists"') && !JSON.stringify(r.results).includes('"false"');
  } catch (e) {
    ctx.output(
      `allocs: loading the gdb bridge failed: ${e instanceof Error ? e.message : String(e)}`,
      "stderr",
    );
  }
}

async function openTerminal(ctx: Context, config: SessionConfig): Promise<ProgramTerminal> {
  const title = path.basename(config.program ?? "program");
  if (config.useIntegratedTerminal) {
    try {
      return await integratedTerminal(ctx, title, config.cwd ?? path.dirname(config.program ?? "."));
    } catch (e) {
      ctx.output(
        `allocs: the integrated terminal failed (${e instanceof Error ? e.message : String(e)}); ` +
          "the program's output goes to the Debug Console",
        "stderr",
      );
    }
  }
  return adapterTerminal(ctx);
}

async function launch(ctx: Context, a: AllocsLaunchArguments): Promise<void> {
  const config = launchConfig(a, ctx.clientCaps.supportsRunInTerminal);
  ctx.config = config;
  const mi = await startGdb(ctx, config);
  await mi.fileExecAndSymbols(config.program as string);
  if (config.kind === "launch") {
    if (config.args.length > 0) await mi.execArguments(config.args);
    if (config.cwd !== undefined) await mi.environmentCd(path.resolve(config.cwd));
    for (const [name, value] of config.env) {
      if (name === "LD_PRELOAD" && config.preload) continue;
      if (value === null) await mi.console(`unset environment ${name}`);
      else await mi.gdbSet("environment", `${name}=${value}`);
    }
    // No shell between gdb and the program (faster, and nothing but the program gets the
    // preload): gdb execs the program itself with this environment.
    await mi.gdbSet("startup-with-shell", "off");
    if (config.preload) {
      if (!fs.existsSync(config.runtimePath)) {
        throw new Error(
          `the allocs runtime ${config.runtimePath} does not exist: build it (npm run build) or set "preload": false`,
        );
      }
      await mi.gdbSet(
        "environment",
        `LD_PRELOAD=${preloadValue(config.runtimePath, config.env.get("LD_PRELOAD"))}`,
      );
    }
    if (config.metadataDir !== undefined) {
      await mi.gdbSet("environment", `ALLOCS_META_PATH=${path.resolve(config.metadataDir)}`);
    }
    const terminal = await openTerminal(ctx, config);
    ctx.onDispose(() => terminal.dispose());
    await mi.inferiorTtySet(terminal.tty);
  }
  ctx.client.sendEvent(new InitializedEvent());
}

async function attach(ctx: Context, a: AllocsAttachArguments): Promise<void> {
  const config = attachConfig(a);
  ctx.config = config;
  const mi = await startGdb(ctx, config);
  if (config.program !== undefined) await mi.fileExecAndSymbols(config.program);
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

async function configurationDone(ctx: Context): Promise<void> {
  const mi = ctx.requireMi();
  const config = ctx.config;
  if (config === undefined) return;
  if (config.kind === "launch") {
    ctx.expectEntry = config.stopAtEntry;
    await mi.execRun({ start: config.stopAtEntry });
    return;
  }
  if (config.kind === "core") {
    ctx.quietStops = true;
    try {
      await mi.targetSelectCore(config.coreDumpPath as string);
    } finally {
      ctx.quietStops = false;
    }
    ctx.hasProcess = true;
    ctx.running = false;
    const threads = await mi.threadInfo();
    const thread = Number(threads.currentThreadId ?? threads.threads[0]?.id ?? 1);
    ctx.stoppedThread = thread;
    const ev = new StoppedEvent("exception", thread) as DebugProtocol.StoppedEvent;
    ev.body.description = `core file ${path.basename(config.coreDumpPath as string)}`;
    ev.body.allThreadsStopped = true;
    ctx.client.sendEvent(ev);
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
