// The "[allocation]" child of a pointer: the bridge's own `alloc info` text, one child per line
// as a person reads it ("allocator  __default_lib_malloc (live)", "size  40 bytes", "type ...",
// "site main at prog.c:12 ..."), the chain of enclosing allocations one level per child. The
// text comes from the bridge; the adapter only splits it at its labels.
import type { DebugProtocol } from "@vscode/debugprotocol";

import type { Context } from "./context";
import { jsonVariables } from "./pointers";
import type { AddressDescription } from "./describe";

/** `alloc info` lines -> [label, text, continuation lines]. */
export function infoEntries(text: string): { label: string; value: string; more: string[] }[] {
  const out: { label: string; value: string; more: string[] }[] = [];
  for (const line of text.split("\n")) {
    if (line.trim() === "") continue;
    const m = /^(\S+)\s+(.*)$/.exec(line);
    if (m !== null && !/^\s/.test(line)) out.push({ label: m[1], value: m[2].trim(), more: [] });
    else if (out.length > 0) out[out.length - 1].more.push(line.trim());
    else out.push({ label: "", value: line.trim(), more: [] });
  }
  return out;
}

/** The children of "[allocation]": `alloc info ADDR` split at its labels (the chain expandable,
 * its leaf shown), or the JSON fields when the bridge's text command is not there. */
export async function allocationInfoVariables(
  ctx: Context,
  d: AddressDescription,
): Promise<DebugProtocol.Variable[]> {
  let text: string;
  try {
    const r = await ctx.requireGdb().console(`alloc info ${d.address}`);
    text = r.console;
  } catch {
    return jsonVariables(ctx, d);
  }
  const seen = new Map<string, number>();
  return infoEntries(text).map((e) => {
    const n = (seen.get(e.label) ?? 0) + 1;
    seen.set(e.label, n);
    const lines = [e.value, ...e.more];
    return {
      name: n > 1 ? `${e.label} ${n}` : e.label,
      // the chain reads outermost first: its leaf is the line that matters
      value: lines.length > 1 ? lines[lines.length - 1] : e.value,
      variablesReference: lines.length > 1 ? ctx.addContainer({ kind: "json", value: lines }) : 0,
      presentationHint: { kind: "data", attributes: ["readOnly"] },
    };
  });
}
