// The whole-heap questions, as custom requests: `allocs/census {by?: "site" | "type"}` (live
// allocations counted per allocation site or per run-time type, largest first) and
// `allocs/maps` (the hierarchy of big allocations: mappings, ELF files and segments, the brk
// heap, stacks), and `allocs/ls` (the allocations behind one census row): the bridge's `alloc
// census/maps/ls --json`, run through its MI command `-alloc-json` (the JSON comes back as the
// MI result, not as console text): the adapter passes the bridge's JSON on untouched
// (extension/src/vscode/description.ts types it).
import { MIError, optString } from "../mi";
import type { Context } from "./context";
import { handler, type RequestFamily } from "./handler";

/** Runs a bridge command (`alloc census --json ...`) through the bridge's MI command
 * `-alloc-json`, whose result carries the command's JSON reply as one MI string: nothing is
 * picked out of console text. The bridge's errors are one line ("alloc: ..."). */
export async function bridgeJson(ctx: Context, what: string, command: string): Promise<unknown> {
  ctx.requireStopped(what);
  await ctx.bridgeLoading;
  if (!ctx.bridge) throw new Error("the allocs gdb bridge is not loaded: no allocation information");
  let json: string | undefined;
  try {
    const r = await ctx.requireGdb().send({ operation: "-alloc-json", args: [command] });
    json = optString(r.results, "json");
  } catch (e) {
    // the bridge's errors are one line already ("alloc: ..."); gdb's own say what failed
    if (e instanceof MIError) throw new Error(e.msg.trim());
    throw e;
  }
  if (json === undefined) throw new Error(`${command}: the bridge gave no JSON`);
  try {
    return JSON.parse(json) as unknown;
  } catch {
    throw new Error(`${command}: the bridge's answer is not JSON`);
  }
}

interface CensusArguments {
  by?: string;
}

async function census(ctx: Context, a: CensusArguments): Promise<unknown> {
  const by = a.by ?? "site";
  if (by !== "site" && by !== "type") {
    throw new Error(`allocs/census: "by" is "site" or "type", not ${JSON.stringify(by)}`);
  }
  const c = await bridgeJson(ctx, "take a heap census", `alloc census --json --by ${by}`);
  if (typeof c !== "object" || c === null || !Array.isArray((c as { rows?: unknown }).rows)) {
    throw new Error("alloc census: the bridge's answer is not a census");
  }
  return c;
}

async function maps(ctx: Context): Promise<unknown> {
  const m = await bridgeJson(ctx, "show the memory map", "alloc maps --json");
  const list = Array.isArray(m) ? m : (m as { maps?: unknown } | null)?.maps;
  if (!Array.isArray(list)) throw new Error("alloc maps: the bridge's answer is not a list of mappings");
  return { maps: list };
}

interface LsArguments {
  type?: string;
  site?: string;
  limit?: number;
}

/** Quotes one argument for the bridge's own argument parser (shell-like words). */
function word(text: string): string {
  return /^[\w./:[\]*-]+$/.test(text) ? text : `'${text.replace(/'/g, "")}'`;
}

/** `allocs/ls {type?, site?, limit?}`: live allocations of one type or site (what a census row
 * counts), the bridge's `alloc ls --json`. */
async function ls(ctx: Context, a: LsArguments): Promise<unknown> {
  const args = ["alloc ls --json", `--limit ${Math.max(1, Math.min(10000, Number(a.limit ?? 500)))}`];
  if (typeof a.type === "string" && a.type !== "") args.push(`--type ${word(a.type.replace(/\[\]$/, ""))}`);
  if (typeof a.site === "string" && a.site !== "") args.push(`--site ${word(a.site)}`);
  const r = await bridgeJson(ctx, "list allocations", args.join(" "));
  if (typeof r !== "object" || r === null || !Array.isArray((r as { entries?: unknown }).entries))
    throw new Error("alloc ls: the bridge's answer is not a list of allocations");
  return r;
}

export const heapFamily: RequestFamily = {
  name: "heap",
  requests: {
    "allocs/census": handler(census),
    "allocs/maps": handler(maps),
    "allocs/ls": handler(ls),
  },
};
