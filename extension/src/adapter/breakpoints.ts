// setBreakpoints (conditions, hit counts, logpoints) and setFunctionBreakpoints. DAP sends the
// whole list for a source (or all function breakpoints) each time; the adapter replaces the
// gdb breakpoints it made for that list. Logpoints are breakpoints the adapter resumes from
// after printing their message (gdb 13's dprintf cannot format a value of unknown type).
import type { DebugProtocol } from "@vscode/debugprotocol";

import { MIError, type MIBreakLocation, type MIBreakOptions, type MIBreakpoint } from "../mi";
import type { Context } from "./context";
import { handler, type RequestFamily } from "./handler";

/** gdb breakpoint numbers per DAP list ("source:/path" or "functions"). */
const owned = new WeakMap<Context, Map<string, string[]>>();

function ownedBy(ctx: Context): Map<string, string[]> {
  let m = owned.get(ctx);
  if (m === undefined) {
    m = new Map();
    owned.set(ctx, m);
  }
  return m;
}

/** "5", "=5", ">=5", ">5": skip hits before the Nth; anything else is refused. */
export function ignoreCountFor(hitCondition: string | undefined): number | undefined {
  if (hitCondition === undefined || hitCondition.trim() === "") return undefined;
  const m = /^\s*(>=|>|==|=)?\s*(\d+)\s*$/.exec(hitCondition);
  if (m === null) throw new Error(`hit count "${hitCondition}" is not understood: use N, >=N or >N`);
  const n = Number(m[2]);
  return m[1] === ">" ? n : Math.max(0, n - 1);
}

function toDap(b: MIBreakpoint, message?: string): DebugProtocol.Breakpoint {
  const pending = b.pending !== undefined || b.addr === "<PENDING>";
  const line = b.line ?? b.locations.find((l) => l.line !== undefined)?.line;
  const fullname = b.fullname ?? b.locations.find((l) => l.fullname !== undefined)?.fullname;
  return {
    id: Number(b.number),
    verified: !pending,
    line,
    source: fullname !== undefined ? { path: fullname } : undefined,
    message: pending ? (message ?? "pending: no code matches this location yet") : message,
  };
}

async function replace(
  ctx: Context,
  key: string,
  wanted: {
    location: MIBreakLocation;
    options: MIBreakOptions;
    logMessage?: string;
    hitCondition?: string;
  }[],
): Promise<DebugProtocol.Breakpoint[]> {
  const mi = ctx.requireMi();
  const map = ownedBy(ctx);
  const old = map.get(key) ?? [];
  for (const n of old) ctx.logpoints.delete(n);
  await mi.breakDelete(old).catch(() => undefined);
  const made: string[] = [];
  const result: DebugProtocol.Breakpoint[] = [];
  for (const w of wanted) {
    try {
      const ignoreCount = ignoreCountFor(w.hitCondition);
      const b = await mi.breakInsert(w.location, { ...w.options, ignoreCount, pending: true });
      made.push(b.number);
      if (w.logMessage !== undefined) ctx.logpoints.set(b.number, w.logMessage);
      result.push(toDap(b));
    } catch (e) {
      result.push({ verified: false, message: e instanceof MIError ? e.msg : (e as Error).message });
    }
  }
  map.set(key, made);
  return result;
}

async function setBreakpoints(
  ctx: Context,
  a: DebugProtocol.SetBreakpointsArguments,
): Promise<DebugProtocol.SetBreakpointsResponse["body"]> {
  const file = a.source.path;
  if (file === undefined) throw new Error("breakpoints need a source with a path");
  const given: DebugProtocol.SourceBreakpoint[] = a.breakpoints ?? (a.lines ?? []).map((line) => ({ line }));
  const wanted = given.map((b) => ({
    location: { kind: "source" as const, file, line: b.line },
    options: { condition: b.condition },
    logMessage: b.logMessage,
    hitCondition: b.hitCondition,
  }));
  return { breakpoints: await replace(ctx, `source:${file}`, wanted) };
}

async function setFunctionBreakpoints(
  ctx: Context,
  a: DebugProtocol.SetFunctionBreakpointsArguments,
): Promise<DebugProtocol.SetFunctionBreakpointsResponse["body"]> {
  const wanted = a.breakpoints.map((b) => ({
    location: { kind: "function" as const, name: b.name },
    options: { condition: b.condition },
    hitCondition: b.hitCondition,
  }));
  return { breakpoints: await replace(ctx, "functions", wanted) };
}

export const breakpointsFamily: RequestFamily = {
  name: "breakpoints",
  capabilities: {
    supportsConditionalBreakpoints: true,
    supportsHitConditionalBreakpoints: true,
    supportsLogPoints: true,
    supportsFunctionBreakpoints: true,
  },
  requests: {
    setBreakpoints: handler(setBreakpoints),
    setFunctionBreakpoints: handler(setFunctionBreakpoints),
    setExceptionBreakpoints: handler(async () => ({ breakpoints: [] })),
  },
};
