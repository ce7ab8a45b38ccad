// threads, stackTrace and scopes. Frame ids are handles to (thread, level), valid until the
// program resumes.
import type { DebugProtocol } from "@vscode/debugprotocol";
import * as path from "node:path";

import { MIError, type MIFrame } from "../mi";
import type { Context } from "./context";
import { handler, type RequestFamily } from "./handler";

async function threads(ctx: Context): Promise<DebugProtocol.ThreadsResponse["body"]> {
  if (ctx.mi === undefined || ctx.gdb?.exited !== false || !ctx.hasProcess) return { threads: [] };
  const info = await ctx.mi.threadInfo();
  return {
    threads: info.threads.map((t) => ({
      id: Number(t.id),
      name: t.name !== undefined ? `${t.name} (${t.targetId})` : t.targetId || `thread ${t.id}`,
    })),
  };
}

function toStackFrame(ctx: Context, thread: number, f: MIFrame): DebugProtocol.StackFrame {
  const level = f.level ?? 0;
  const frame: DebugProtocol.StackFrame = {
    id: ctx.frames.create({ thread, level }),
    name: f.func ?? (f.from !== undefined ? `?? (${path.basename(f.from)})` : "??"),
    line: f.line ?? 0,
    column: f.line !== undefined ? 1 : 0,
    instructionPointerReference: f.addr,
  };
  if (f.fullname !== undefined) {
    frame.source = { name: path.basename(f.fullname), path: f.fullname };
  } else {
    frame.presentationHint = "subtle";
    if (f.from !== undefined) frame.moduleId = f.from;
  }
  return frame;
}

/** gdb's answer when the first frame asked for lies beyond the stack's last. */
const PAST_THE_END = /Not enough frames in stack/i;

async function stackTrace(
  ctx: Context,
  a: DebugProtocol.StackTraceArguments,
): Promise<DebugProtocol.StackTraceResponse["body"]> {
  const mi = ctx.requireStopped("show the stack");
  const low = Math.max(0, a.startFrame ?? 0);
  const levels = a.levels !== undefined && a.levels > 0 ? a.levels : 1000;
  // Both at once (one round trip): the frames, and the depth counted up to one past the page, so
  // that totalFrames says "more" while there are more. VS Code asks for a first page of one frame,
  // then for the next page, which can start beyond the last frame: an empty page, not an error.
  const [frames, depth] = await Promise.all([
    mi.stackListFrames({ thread: a.threadId, low, high: low + levels - 1 }).catch((e: unknown) => {
      if (e instanceof MIError && PAST_THE_END.test(e.msg)) return [] as MIFrame[];
      throw e;
    }),
    mi.stackInfoDepth({ thread: a.threadId }, low + levels + 1).catch(() => undefined),
  ]);
  return {
    stackFrames: frames.map((f) => toStackFrame(ctx, a.threadId, f)),
    totalFrames: depth ?? low + frames.length,
  };
}

async function scopes(
  ctx: Context,
  a: DebugProtocol.ScopesArguments,
): Promise<DebugProtocol.ScopesResponse["body"]> {
  ctx.requireStopped("show variables");
  const frame = ctx.frame(a.frameId);
  if (frame === undefined) throw new Error("scopes needs a frame");
  return {
    scopes: [
      {
        name: "Locals",
        presentationHint: "locals",
        variablesReference: ctx.addContainer({ kind: "locals", frame }),
        expensive: false,
      },
      {
        name: "Registers",
        presentationHint: "registers",
        variablesReference: ctx.addContainer({ kind: "registers", frame }),
        expensive: true,
      },
    ],
  };
}

export const stackFamily: RequestFamily = {
  name: "stack",
  capabilities: { supportsDelayedStackTraceLoading: true },
  requests: {
    threads: handler(threads),
    stackTrace: handler(stackTrace),
    scopes: handler(scopes),
  },
};
