// Allocation information from the bridge's `-alloc-describe --json ADDR` (the address
// description of docs/address-description.md): fetching with a per-stop cache, and the short
// summary shown beside pointer values ("→ __default_lib_malloc struct point[3] +12 (.y) @ pts.c:14").
import * as path from "node:path";

import { MIError, optString } from "../mi";
import { handler, type RequestFamily } from "./handler";
import type { Context } from "./context";

import type { DescriptionJson as AddressDescription } from "../description-json";

export type { AddressDescription };

/** A plain address from a value gdb printed ("0x4052a0", "0x4052a0 \"text\"", "(int *) 0x10"). */
export function leadingAddress(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  const m = /^(?:\([^)]*\)\s*)?(0x[0-9a-fA-F]+)\b/.exec(value.trim());
  return m === null ? undefined : m[1];
}

/** Asks the bridge; the answer is cached until the program resumes or memory is written.
 * Addresses asked for in the same turn of the event loop (a variables request's pointers) go
 * to the bridge together, as one `-alloc-describe-batch`. */
export function describeAddress(ctx: Context, address: string): Promise<AddressDescription | undefined> {
  if (!ctx.bridge) return Promise.resolve(undefined);
  const key = BigInt(address).toString(16);
  if (BigInt(address) === 0n) return Promise.resolve(undefined);
  let p = ctx.descriptions.get(key);
  if (p === undefined) {
    p = describeBatched(ctx, key).catch((e: unknown) => {
      // shown once per stop, so a broken bridge is visible but not noisy
      if (!ctx.descriptions.has("error")) {
        ctx.descriptions.set("error", Promise.resolve(undefined));
        ctx.output(`allocs: no allocation information: ${e instanceof Error ? e.message : String(e)}`);
      }
      return undefined;
    });
    ctx.descriptions.set(key, p);
  }
  return p;
}

interface Waiter {
  resolve(d: AddressDescription | undefined): void;
  reject(e: unknown): void;
}
const BATCH_MAX = 256;
const pendingBatches = new WeakMap<Context, Map<string, Waiter>>();

function describeBatched(ctx: Context, key: string): Promise<AddressDescription | undefined> {
  let batch = pendingBatches.get(ctx);
  if (batch === undefined) {
    const fresh = new Map<string, Waiter>();
    pendingBatches.set(ctx, fresh);
    setImmediate(() => {
      pendingBatches.delete(ctx);
      void flushBatch(ctx, fresh);
    });
    batch = fresh;
  }
  const waiting = batch;
  return new Promise((resolve, reject) => waiting.set(key, { resolve, reject }));
}

async function flushBatch(ctx: Context, batch: Map<string, Waiter>): Promise<void> {
  const keys = [...batch.keys()];
  for (let i = 0; i < keys.length; i += BATCH_MAX) {
    const part = keys.slice(i, i + BATCH_MAX);
    try {
      const r = await ctx.requireGdb().send({
        operation: "-alloc-describe-batch",
        args: ["--json", ...part.map((k) => `0x${k}`)],
      });
      const json = optString(r.results, "json");
      const list = (json === undefined ? [] : JSON.parse(json)) as Array<
        AddressDescription & { error?: string }
      >;
      part.forEach((k, j) => {
        const w = batch.get(k) as Waiter;
        const d = list[j];
        if (d !== undefined && typeof d.error === "string") w.reject(new Error(d.error));
        else w.resolve(d);
      });
    } catch (e) {
      for (const k of part) (batch.get(k) as Waiter).reject(e);
    }
  }
}

async function describeUncached(ctx: Context, what: string): Promise<AddressDescription | undefined> {
  const gdb = ctx.requireGdb();
  const r = await gdb.send({ operation: "-alloc-describe", args: ["--json", what] });
  const json = optString(r.results, "json");
  return json === undefined ? undefined : (JSON.parse(json) as AddressDescription);
}

/** The one-line summary: allocator, type (while known), +offset, (path), @ site. A local says
 * its variable and field path once ("local pts[2].x in main"); a freed chunk shows no size (malloc
 * keeps only its own rounded-up size, not the size the program asked for). */
export function summary(d: AddressDescription | undefined): string | undefined {
  if (d === undefined || d.allocator === null) return undefined;
  if (d.allocator === "stackframe") {
    const fn = d.site?.function ?? "??";
    if (d.path !== undefined && d.path !== "") return `local ${d.path} in ${fn}`;
    return `in the frame of ${fn}${d.offset !== null ? ` +${d.offset}` : ""}`;
  }
  const freed = d.state === "freed";
  const parts = [freed ? `freed ${d.allocator}` : d.allocator];
  if (d.type !== null && d.type !== undefined) parts.push(d.type);
  else if (d.size !== null && !freed) parts.push(`${d.size} B`);
  if (d.offset !== null && d.offset !== 0) parts.push(`+${d.offset}`);
  if (d.path !== undefined && d.path !== "") parts.push(`(${d.path})`);
  const site = siteText(d);
  if (site !== undefined) parts.push(`@ ${site}`);
  return parts.join(" ");
}

function siteText(d: AddressDescription): string | undefined {
  const s = d.site;
  if (s === null || s === undefined) return undefined;
  if (s.variable) return `${s.function ?? "??"}:${s.variable}`;
  if (s.file) return `${path.basename(s.file)}:${s.line ?? "?"}`;
  if (s.function) return s.function;
  if (s.symbol) return s.symbol;
  if (s.obstack) return `obstack ${s.obstack}`;
  return undefined;
}

/** `value → summary`, or the value alone when nothing is known. */
export function withSummary(value: string, d: AddressDescription | undefined): string {
  const s = summary(d);
  return s === undefined ? value : `${value} → ${s}`;
}

interface DescribeArguments {
  address?: string;
  expression?: string;
  frameId?: number;
}

/** `allocs/describe {address | expression [, frameId]}`: the description as JSON. */
async function describeRequest(ctx: Context, a: DescribeArguments): Promise<unknown> {
  ctx.requireStopped("describe an address");
  if (!ctx.bridge) throw new Error("the allocs gdb bridge is not loaded: no allocation information");
  let address = a.address;
  if (address === undefined) {
    if (typeof a.expression !== "string" || a.expression.trim() === "") {
      throw new Error("allocs/describe needs an address or an expression");
    }
    const frame = ctx.frame(a.frameId);
    const mi = ctx.requireMi();
    let value: string;
    try {
      value = await mi.dataEvaluateExpression(
        `(unsigned long)(${a.expression})`,
        frame === undefined ? undefined : { thread: frame.thread, frame: frame.level },
      );
    } catch (e) {
      // an object rather than a pointer or number: describe its address
      if (!(e instanceof MIError)) throw e;
      value = await mi.dataEvaluateExpression(
        `(unsigned long)&(${a.expression})`,
        frame === undefined ? undefined : { thread: frame.thread, frame: frame.level },
      );
    }
    address = `0x${BigInt(value.split(" ")[0]).toString(16)}`;
  }
  if (!/^(0x[0-9a-fA-F]+|\d+)$/.test(address)) throw new Error(`not an address: ${address}`);
  const d = await describeUncached(ctx, `0x${BigInt(address).toString(16)}`);
  return { description: d ?? null, summary: summary(d) ?? null };
}

export const allocationFamily: RequestFamily = {
  name: "allocation",
  requests: { "allocs/describe": handler(describeRequest) },
};
