// Running and stopping: continue, next, stepIn, stepOut, pause, and gdb's async records turned
// into DAP events (stopped, continued, thread, exited, terminated), including logpoints, which
// stop at a breakpoint, print their message and go on.
import { ContinuedEvent, ExitedEvent, StoppedEvent, ThreadEvent } from "@vscode/debugadapter";
import type { DebugProtocol } from "@vscode/debugprotocol";
import * as os from "node:os";

import {
  decodeStopped,
  decodeThreadEvent,
  isExitReason,
  MIError,
  type GdbConnection,
  type MIStoppedEvent,
} from "../mi";
import { handler, type RequestFamily } from "./handler";
import type { Context } from "./context";
import { prefetchTopFrame } from "./variables";

function requireRunnable(ctx: Context, what: string): void {
  if (ctx.config?.kind === "core")
    throw new Error(`cannot ${what}: this is a core file, a snapshot of a process that no longer runs`);
  ctx.requireStopped(what);
}

function stopReason(ctx: Context, stop: MIStoppedEvent): { reason: string; description?: string } {
  switch (stop.reason) {
    case "breakpoint-hit":
      if (ctx.gotoPending) {
        ctx.gotoPending = false;
        return { reason: "goto" };
      }
      if (ctx.expectEntry) return { reason: "entry" };
      return { reason: "breakpoint" };
    case "end-stepping-range":
    case "function-finished":
    case "location-reached":
      if (ctx.expectEntry) return { reason: "entry" };
      return { reason: "step" };
    case "watchpoint-trigger":
    case "read-watchpoint-trigger":
    case "access-watchpoint-trigger":
      return { reason: "data breakpoint" };
    case "signal-received":
      if (stop.signalName === "SIGINT" && ctx.pauseRequested) return { reason: "pause" };
      return {
        reason: "exception",
        description: `${stop.signalName ?? "signal"}${stop.signalMeaning ? `: ${stop.signalMeaning}` : ""}`,
      };
    default:
      return { reason: "pause" };
  }
}

function exitCode(stop: MIStoppedEvent): number {
  if (stop.exitCode !== undefined) return stop.exitCode;
  const signum =
    stop.signalName !== undefined ? os.constants.signals[stop.signalName as NodeJS.Signals] : undefined;
  return signum !== undefined ? 128 + signum : 0;
}

/** `{expr}` parts of a logpoint message, evaluated in the stopped frame. */
async function logpointText(ctx: Context, template: string, thread: number): Promise<string> {
  const mi = ctx.requireMi();
  const parts = template.split(/(\{[^{}]+\})/);
  const values = await Promise.all(
    parts.map(async (part) => {
      if (!/^\{[^{}]+\}$/.test(part)) return part;
      try {
        return await mi.dataEvaluateExpression(part.slice(1, -1), { thread, frame: 0 });
      } catch (e) {
        return `<${e instanceof Error ? e.message : String(e)}>`;
      }
    }),
  );
  return values.join("");
}

async function onStopped(ctx: Context, stop: MIStoppedEvent): Promise<void> {
  ctx.running = false;
  if (isExitReason(stop.reason)) {
    ctx.hasProcess = false;
    ctx.client.sendEvent(new ExitedEvent(exitCode(stop)));
    ctx.terminate();
    return;
  }
  ctx.hasProcess = true;
  const thread = Number(stop.threadId ?? ctx.stoppedThread);
  ctx.stoppedThread = thread;
  if (ctx.quietStops) return;
  const log = stop.breakpointNumber !== undefined ? ctx.logpoints.get(stop.breakpointNumber) : undefined;
  if (stop.reason === "breakpoint-hit" && log !== undefined && !ctx.expectEntry) {
    ctx.output(await logpointText(ctx, log, thread), "console");
    await ctx.requireMi().execContinue();
    return;
  }
  const { reason, description } = stopReason(ctx, stop);
  ctx.expectEntry = false;
  ctx.pauseRequested = false;
  const event = new StoppedEvent(reason, thread) as DebugProtocol.StoppedEvent;
  event.body.allThreadsStopped = true;
  if (description !== undefined) {
    event.body.description = description;
    event.body.text = description;
  }
  if (reason === "breakpoint" && stop.breakpointNumber !== undefined) {
    event.body.hitBreakpointIds = [Number(stop.breakpointNumber)];
  }
  // the bridge may still be loading behind -exec-run: the client asks for variables (and their
  // allocation summaries) as soon as it hears of the stop
  await ctx.bridgeLoading;
  ctx.client.sendEvent(event);
  prefetchTopFrame(ctx, thread);
}

/** Subscribes the session to gdb's async records. */
export function wireEvents(ctx: Context, gdb: GdbConnection): void {
  // gdb has resumed the program when a command answers ^running; *running may come in a later
  // read (a loaded machine splits them), after the client has heard the command's response and
  // asked to pause: running from ^running on, or that pause would find the program "stopped".
  gdb.on("record", (record) => {
    if (record.kind === "result" && record.resultClass === "running" && !ctx.running) ctx.resumed();
  });
  gdb.on("exec", (record) => {
    if (record.asyncClass === "running") {
      if (!ctx.running) ctx.resumed();
      if (!ctx.quietStops) {
        const ev = new ContinuedEvent(ctx.stoppedThread, true);
        ctx.client.sendEvent(ev);
      }
    } else if (record.asyncClass === "stopped") {
      onStopped(ctx, decodeStopped(record)).catch((e: unknown) => {
        if (!ctx.ending) ctx.output(`allocs: ${e instanceof Error ? e.message : String(e)}`, "stderr");
      });
    }
  });
  gdb.on("notify", (record) => {
    if (ctx.quietStops) return;
    if (record.asyncClass === "thread-created" || record.asyncClass === "thread-exited") {
      const t = decodeThreadEvent(record);
      const id = Number(t.id);
      if (Number.isInteger(id)) {
        ctx.client.sendEvent(
          new ThreadEvent(record.asyncClass === "thread-created" ? "started" : "exited", id),
        );
      }
    } else if (record.asyncClass === "thread-group-started") {
      ctx.hasProcess = true;
    }
  });
  gdb.on("exit", (info) => {
    if (!ctx.ending) {
      const how = info.signal !== null ? `was killed by ${info.signal}` : `exited with code ${info.code}`;
      ctx.output(`allocs: gdb ${how} in the middle of the session; the debug session ends here.`, "stderr");
    }
    ctx.running = false;
    ctx.hasProcess = false;
    ctx.terminate();
  });
}

interface StepArguments {
  threadId?: number;
  granularity?: DebugProtocol.SteppingGranularity;
}

function threadOf(ctx: Context, a: StepArguments): number {
  return typeof a.threadId === "number" ? a.threadId : ctx.stoppedThread;
}

export const executionFamily: RequestFamily = {
  name: "execution",
  capabilities: { supportsSteppingGranularity: true },
  requests: {
    continue: handler<StepArguments>(async (ctx) => {
      requireRunnable(ctx, "continue");
      await ctx.requireMi().execContinue();
      return { allThreadsContinued: true };
    }),
    next: handler<StepArguments>(async (ctx, a) => {
      requireRunnable(ctx, "step");
      const t = { thread: threadOf(ctx, a) };
      if (a.granularity === "instruction") await ctx.requireMi().execNextInstruction(t);
      else await ctx.requireMi().execNext(t);
    }),
    stepIn: handler<StepArguments>(async (ctx, a) => {
      requireRunnable(ctx, "step");
      const t = { thread: threadOf(ctx, a) };
      if (a.granularity === "instruction") await ctx.requireMi().execStepInstruction(t);
      else await ctx.requireMi().execStep(t);
    }),
    stepOut: handler<StepArguments>(async (ctx, a) => {
      requireRunnable(ctx, "step out");
      try {
        await ctx.requireMi().execFinish({ thread: threadOf(ctx, a), frame: 0 });
      } catch (e) {
        if (e instanceof MIError && /outermost/.test(e.msg))
          throw new Error("cannot step out of the outermost frame");
        throw e;
      }
    }),
    pause: handler(async (ctx) => {
      const mi = ctx.requireMi();
      if (ctx.config?.kind === "core")
        throw new Error("cannot pause: this is a core file, a snapshot of a process that no longer runs");
      if (!ctx.running) return;
      ctx.pauseRequested = true;
      await mi.execInterrupt({ all: true });
    }),
  },
};
