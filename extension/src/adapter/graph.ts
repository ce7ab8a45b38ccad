// The heap-graph questions as custom requests (docs/leaks.md, JSON shapes in
// docs/snapshot-format.md): `allocs/leaks` (chunks no root reaches, by type and site),
// `allocs/retainers {expression, limit?}` (the shortest typed chains from a root),
// `allocs/snapshot {action: "save" | "ls" | "rm", name?}` and `allocs/diff {from?, to?}` (growth by
// type and site between two snapshots, or a snapshot and now). Each is the bridge's command with
// --json, run through the bridge's MI command -alloc-json; the bridge's JSON is passed on untouched.
import type { Context } from "./context";
import { handler, type RequestFamily } from "./handler";
import { bridgeJson } from "./heap";

/** A snapshot name or path as one console word (the bridge reads names and paths verbatim). */
function word(what: string, v: unknown): string {
  if (typeof v !== "string" || v === "" || /\s/.test(v)) {
    throw new Error(`${what}: a snapshot name or path without spaces is needed, not ${JSON.stringify(v)}`);
  }
  return v;
}

async function leaks(ctx: Context): Promise<unknown> {
  return bridgeJson(ctx, "look for leaks", "alloc leaks --json");
}

interface RetainersArguments {
  expression?: string;
  limit?: number;
}

async function retainers(ctx: Context, a: RetainersArguments): Promise<unknown> {
  if (typeof a.expression !== "string" || a.expression.trim() === "" || a.expression.includes("\n")) {
    throw new Error("allocs/retainers: an expression is needed");
  }
  const limit = Number.isInteger(a.limit) && (a.limit as number) > 0 ? ` --limit ${a.limit}` : "";
  return bridgeJson(ctx, "find the retainers", `alloc retainers --json${limit} ${a.expression}`);
}

interface SnapshotArguments {
  action?: string;
  name?: string;
}

async function snapshot(ctx: Context, a: SnapshotArguments): Promise<unknown> {
  switch (a.action ?? "save") {
    case "save":
      return bridgeJson(
        ctx,
        "take a heap snapshot",
        `alloc snapshot save --json${a.name !== undefined ? " " + word("allocs/snapshot", a.name) : ""}`,
      );
    case "ls":
      return bridgeJson(ctx, "list heap snapshots", "alloc snapshot ls --json");
    case "rm":
      return bridgeJson(
        ctx,
        "remove a heap snapshot",
        `alloc snapshot rm --json ${word("allocs/snapshot", a.name)}`,
      );
    default:
      throw new Error(`allocs/snapshot: "action" is "save", "ls" or "rm", not ${JSON.stringify(a.action)}`);
  }
}

interface DiffArguments {
  from?: string;
  to?: string;
}

async function diff(ctx: Context, a: DiffArguments): Promise<unknown> {
  const from = a.from !== undefined ? " " + word("allocs/diff", a.from) : "";
  const to = a.to !== undefined ? " " + word("allocs/diff", a.to) : "";
  if (to && !from) throw new Error('allocs/diff: "to" needs "from"');
  return bridgeJson(ctx, "compare heap snapshots", `alloc diff --json${from}${to}`);
}

export const graphFamily: RequestFamily = {
  name: "graph",
  requests: {
    "allocs/leaks": handler(leaks),
    "allocs/retainers": handler(retainers),
    "allocs/snapshot": handler(snapshot),
    "allocs/diff": handler(diff),
  },
};
