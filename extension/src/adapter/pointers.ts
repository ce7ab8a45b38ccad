// Pointers, the adapter's reason to exist: a pointer's value carries the summary of what it
// points into, and expanding it shows "[allocation]" (the full description, a virtual child)
// and the target: an array of the chunk's real length when the pointer points into a heap
// array ((size - offset) / sizeof(*p) elements), the dynamic type for a `void *` when the
// bridge knows it, the pointee otherwise.
import type { DebugProtocol } from "@vscode/debugprotocol";

import { MIError, type MIVarObj } from "../mi";
import type { AssignTarget, Container, Context, FrameRef } from "./context";
import { describeAddress, leadingAddress, summary, withSummary, type AddressDescription } from "./describe";

/** Elements shown per group when an array is long. */
export const RANGE = 1000;

/** "struct point *" -> "struct point"; undefined for non-pointers and function pointers. */
export function pointeeType(type: string | undefined): string | undefined {
  if (type === undefined || type.includes("(") || !/\*\s*(const\s*|volatile\s*|restrict\s*)*$/.test(type))
    return undefined;
  return type.replace(/\*\s*(const\s*|volatile\s*|restrict\s*)*$/, "").trim();
}

function isVoid(t: string): boolean {
  return /^(const\s+|volatile\s+)*void$/.test(t);
}

/** A variable for a pointer value: the summary beside it, a memoryReference, and an expandable target. */
export async function pointerVariable(
  ctx: Context,
  name: string,
  value: string,
  type: string,
  frame: FrameRef | undefined,
  evaluateName?: string,
): Promise<DebugProtocol.Variable> {
  const pointee = pointeeType(type) ?? "void";
  const address = leadingAddress(value);
  const variable: DebugProtocol.Variable = { name, value, type, variablesReference: 0, evaluateName };
  if (address === undefined) return variable;
  variable.memoryReference = address;
  if (BigInt(address) === 0n) return variable;
  const d = await describeAddress(ctx, address);
  variable.value = withSummary(value, d);
  variable.variablesReference = ctx.addContainer({
    kind: "pointer",
    address,
    pointeeType: pointee,
    label: name,
    description: d,
    frame,
  });
  return variable;
}

/** sizeof a type, once per session. */
export function sizeOf(ctx: Context, type: string, frame: FrameRef | undefined): Promise<number | undefined> {
  let p = ctx.sizes.get(type);
  if (p === undefined) {
    p = ctx
      .requireMi()
      .dataEvaluateExpression(
        `sizeof(${type})`,
        frame === undefined ? undefined : { thread: frame.thread, frame: frame.level },
      )
      .then((v) => Number(v))
      .catch(() => undefined);
    ctx.sizes.set(type, p);
  }
  return p;
}

/** `*(T (*)[n])0x...` for "T[n]" and `*(T *)0x...` for "T" (a C spelling from the bridge). */
export function castTo(cType: string, address: string): string {
  const m = /^(.*?)\s*\[(\d+)\]$/.exec(cType);
  if (m !== null) return `*(${m[1]} (*)[${m[2]}])${address}`;
  return `*(${cType} *)${address}`;
}

/** How many T fit from the pointer to the end of its allocation (1 when unknown). */
export function elementCount(d: AddressDescription | undefined, elementSize: number | undefined): number {
  if (
    d === undefined ||
    d.size === null ||
    d.offset === null ||
    elementSize === undefined ||
    elementSize <= 0
  )
    return 1;
  if (d.allocator === null || d.offset >= d.size) return 1;
  return Math.max(1, Math.floor((d.size - d.offset) / elementSize));
}

/** The expression for what a pointer container shows, or undefined (an untyped void *). */
async function targetExpression(
  ctx: Context,
  c: Extract<Container, { kind: "pointer" }>,
): Promise<{ expression: string; count: number } | undefined> {
  const d = c.description;
  if (isVoid(c.pointeeType)) {
    if (d?.type && d.base) return { expression: castTo(d.type, d.base), count: 1 };
    return undefined;
  }
  const n = elementCount(d, await sizeOf(ctx, c.pointeeType, c.frame));
  if (n > 1) return { expression: `*(${c.pointeeType} (*)[${n}])${c.address}`, count: n };
  return { expression: `*(${c.pointeeType} *)${c.address}`, count: 1 };
}

/** The JSON description as nested variables (the "[allocation]" child). */
export function jsonVariables(ctx: Context, value: unknown): DebugProtocol.Variable[] {
  const entries: [string, unknown][] = Array.isArray(value)
    ? value.map((v, i) => [`[${i}]`, v])
    : Object.entries((value ?? {}) as Record<string, unknown>);
  return entries.map(([name, v]) => {
    const nested = v !== null && typeof v === "object";
    const text = nested
      ? Array.isArray(v)
        ? `[${v.length}]`
        : jsonSummary(v as Record<string, unknown>)
      : v === null
        ? "null"
        : typeof v === "string"
          ? v
          : String(v);
    return {
      name,
      value: text,
      variablesReference: nested ? ctx.addContainer({ kind: "json", value: v }) : 0,
      presentationHint: { kind: "data", attributes: ["readOnly"] },
    };
  });
}

function jsonSummary(o: Record<string, unknown>): string {
  if (typeof o.allocator === "string" && typeof o.base === "string")
    return `${o.allocator} ${o.base} (${String(o.size)} B)`;
  if (typeof o.function === "string" || typeof o.file === "string") {
    return `${o.function ?? "??"}${o.file ? ` at ${String(o.file)}:${String(o.line)}` : ""}`;
  }
  return "{...}";
}

/** A child of a varobj as a DAP variable (pointers get their summary, aggregates a reference). */
export async function varobjVariable(
  ctx: Context,
  child: MIVarObj,
  displayName: string,
  frame: FrameRef | undefined,
): Promise<DebugProtocol.Variable> {
  const value = child.value ?? "";
  if (pointeeType(child.type) !== undefined && leadingAddress(value) !== undefined) {
    return pointerVariable(ctx, displayName, value, child.type as string, frame);
  }
  const variable: DebugProtocol.Variable = {
    name: displayName,
    value,
    type: child.type,
    variablesReference: 0,
  };
  if (child.numchild > 0) {
    variable.variablesReference = ctx.addContainer({
      kind: "varobj",
      name: child.name,
      numchild: child.numchild,
    });
    if (child.numchild > RANGE) variable.indexedVariables = child.numchild;
  }
  return variable;
}

/** Children of a varobj (elements from..to when given), with setVariable targets recorded. */
export async function varobjChildren(
  ctx: Context,
  reference: number,
  varobj: string,
  numchild: number,
  frame: FrameRef | undefined,
  range?: { from: number; to: number },
): Promise<DebugProtocol.Variable[]> {
  const mi = ctx.requireMi();
  if (range === undefined && numchild > RANGE) {
    // long arrays: groups of RANGE elements
    const groups: DebugProtocol.Variable[] = [];
    for (let from = 0; from < numchild; from += RANGE) {
      const to = Math.min(numchild, from + RANGE) - 1;
      groups.push({
        name: `[${from}..${to}]`,
        value: "",
        variablesReference: ctx.addContainer({ kind: "range", varobj, from, to }),
      });
    }
    return groups;
  }
  const r = await mi.varListChildren(varobj, {
    values: "all",
    from: range?.from,
    to: range === undefined ? undefined : range.to + 1,
  });
  const targets = new Map<string, AssignTarget>();
  const vars = await Promise.all(
    r.children.map((child) => {
      const exp = child.exp ?? child.name;
      const name = /^\d+$/.test(exp) ? `[${exp}]` : exp;
      targets.set(name, { kind: "varobj", name: child.name });
      return varobjVariable(ctx, child, name, frame);
    }),
  );
  const old = new Map<string, AssignTarget>();
  ctx.setAssignTargets(reference, old);
  for (const [k, v] of targets) old.set(k, v);
  return vars;
}

/** Expanding a pointer: "[allocation]" first, then the target. */
export async function pointerChildren(
  ctx: Context,
  reference: number,
  c: Extract<Container, { kind: "pointer" }>,
): Promise<DebugProtocol.Variable[]> {
  const out: DebugProtocol.Variable[] = [];
  if (c.description !== undefined) {
    out.push({
      name: "[allocation]",
      value: summary(c.description) ?? "not in any known allocation",
      variablesReference: ctx.addContainer({ kind: "json", value: c.description }),
      presentationHint: { kind: "virtual", attributes: ["readOnly"] },
    });
  }
  const target = await targetExpression(ctx, c);
  if (target === undefined) return out;
  let vo: MIVarObj;
  try {
    vo = await ctx
      .requireMi()
      .varCreate(
        target.expression,
        c.frame === undefined ? {} : { thread: c.frame.thread, frame: c.frame.level },
      );
  } catch (e) {
    out.push({
      name: `*${c.label}`,
      value: `<${e instanceof MIError ? e.msg : String(e)}>`,
      variablesReference: 0,
    });
    return out;
  }
  ctx.rememberVarobj(vo.name);
  if (vo.numchild > 0) {
    out.push(...(await varobjChildren(ctx, reference, vo.name, vo.numchild, c.frame)));
  } else {
    ctx.setAssignTargets(reference, new Map([[`*${c.label}`, { kind: "varobj", name: vo.name }]]));
    out.push(await varobjVariable(ctx, vo, `*${c.label}`, c.frame));
  }
  return out;
}
