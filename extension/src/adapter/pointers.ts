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

/** "[1].y" -> ["[1]", ".y"]; a frame's path starts with the variable ("pts[2].x" -> ["pts", "[2]", ".x"]). */
export function pathComponents(p: string | undefined): string[] {
  return (p ?? "").match(/^[A-Za-z_$][\w$]*|\.[A-Za-z_$][\w$]*|\[\d+\]/g) ?? [];
}

function frameArgs(frame: FrameRef | undefined): { thread: number; frame: number } | undefined {
  return frame === undefined ? undefined : { thread: frame.thread, frame: frame.level };
}

/** Where the objects along a description's path can be named: a C expression for the whole
 * allocation and the frame to evaluate in, or undefined when its type is not known. */
function pathRoot(d: AddressDescription): { root: string; frame?: FrameRef; first: number } | undefined {
  if (d.state !== "live" || d.base === null) return undefined;
  if (d.allocator === "stackframe") {
    // a frame's members are its variables: the path starts with one, named in that frame
    const s = d.site;
    if (s?.frame === null || s?.frame === undefined || !/^[A-Za-z_$]/.test(d.path ?? "")) return undefined;
    return { root: "", frame: { thread: s.thread ?? 1, level: s.frame }, first: 1 };
  }
  if (d.type === null || d.type === undefined || !/^[\w\s*]+(\[\d+\])*$/.test(d.type)) return undefined;
  return { root: `(${castTo(d.type, d.base)})`, first: 0 };
}

/** The target of a pointer by the run-time type at its offset: the object the path names that
 * starts at the pointer (for a typed pointer the innermost one of the pointee's size, for a
 * `void *` the outermost), and when that object is an array element, the elements that remain. */
async function typedTarget(
  ctx: Context,
  c: Extract<Container, { kind: "pointer" }>,
  pointeeSize: number | undefined,
): Promise<{ expression: string; count: number; frame?: FrameRef } | undefined> {
  const d = c.description;
  if (d === undefined) return undefined;
  const where = pathRoot(d);
  if (where === undefined) return undefined;
  const comps = pathComponents(d.path);
  const prefixes: string[] = [];
  for (let k = where.first; k <= comps.length; k++) prefixes.push(where.root + comps.slice(0, k).join(""));
  const mi = ctx.requireMi();
  const args = frameArgs(where.frame);
  // sizeof each object on the path that starts at the pointer, 0 for those that do not
  const sizes = await Promise.all(
    prefixes.map((e) =>
      mi
        .dataEvaluateExpression(`(unsigned long)&(${e}) == ${c.address}UL ? sizeof(${e}) : 0`, args)
        .then((v) => Number(v))
        .catch(() => 0),
    ),
  );
  let pick = -1;
  if (isVoid(c.pointeeType)) pick = sizes.findIndex((n) => n > 0);
  else for (let i = sizes.length - 1; i >= 0 && pick < 0; i--) if (sizes[i] === pointeeSize) pick = i;
  if (pick < 0) return undefined;
  const expression = prefixes[pick];
  const last = comps[where.first + pick - 1];
  const index = last === undefined ? undefined : /^\[(\d+)\]$/.exec(last);
  const single = isVoid(c.pointeeType) ? expression : `*(${c.pointeeType} *)${c.address}`;
  if (index === null || index === undefined || pick === 0)
    return { expression: single, count: 1, frame: where.frame };
  // an element: the elements from it to the end of its array
  const parent = prefixes[pick - 1];
  const whole = await mi
    .dataEvaluateExpression(`sizeof(${parent})`, args)
    .then((v) => Number(v))
    .catch(() => 0);
  const remaining = sizes[pick] > 0 ? Math.floor(whole / sizes[pick]) - Number(index[1]) : 1;
  if (remaining <= 1) return { expression: single, count: 1, frame: where.frame };
  return { expression: `(${expression})@${remaining}`, count: remaining, frame: where.frame };
}

/** The expression for what a pointer container shows, or undefined (nothing to show: an untyped
 * `void *`, a freed chunk). */
async function targetExpression(
  ctx: Context,
  c: Extract<Container, { kind: "pointer" }>,
): Promise<{ expression: string; count: number; frame?: FrameRef } | undefined> {
  const d = c.description;
  // a freed chunk's bytes are malloc's now: nothing there is the program's data
  if (d?.state === "freed") return undefined;
  const size = isVoid(c.pointeeType) ? undefined : await sizeOf(ctx, c.pointeeType, c.frame);
  const typed = await typedTarget(ctx, c, size);
  if (typed !== undefined) return { ...typed, frame: typed.frame ?? c.frame };
  if (isVoid(c.pointeeType)) {
    if (d?.type && d.base && d.offset === 0 && pathRoot(d) !== undefined && d.allocator !== "stackframe")
      return { expression: castTo(d.type, d.base), count: 1, frame: c.frame };
    return undefined;
  }
  // no type at the pointer's offset: as many of the pointee as fit in the allocation (a frame's
  // extent is not an array of anything)
  let n = d?.allocator === "stackframe" ? 1 : elementCount(d, size);
  if (n > 1 && d !== undefined && d.type !== null && pathRoot(d) !== undefined) {
    // a known type: an array of the pointee's size runs to its end, anything else is one object
    const element = /^(.*?)\s*\[\d+\]$/.exec(d.type);
    if (element === null || (await sizeOf(ctx, element[1], c.frame)) !== size) n = 1;
  }
  if (n > 1) return { expression: `*(${c.pointeeType} (*)[${n}])${c.address}`, count: n, frame: c.frame };
  return { expression: `*(${c.pointeeType} *)${c.address}`, count: 1, frame: c.frame };
}

/** gdb's reason in words (MI's own prefixes like "-var-create: " dropped). */
export function miReason(e: unknown): string {
  const text = e instanceof MIError ? e.msg : e instanceof Error ? e.message : String(e);
  return text.replace(/^-[\w-]+:\s*/, "");
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
      variablesReference: ctx.addContainer({ kind: "allocation", description: c.description }),
      presentationHint: { kind: "virtual", attributes: ["readOnly"] },
    });
  }
  const target = await targetExpression(ctx, c);
  if (target === undefined) {
    if (c.description?.state === "freed")
      out.push({
        name: "[freed]",
        value: "the program freed this chunk: its bytes are malloc's, not the program's data",
        variablesReference: 0,
        presentationHint: { kind: "virtual", attributes: ["readOnly"] },
      });
    return out;
  }
  const mi = ctx.requireMi();
  let vo: MIVarObj;
  try {
    vo = await mi.varCreate(target.expression, frameArgs(target.frame) ?? {});
  } catch (e) {
    // -var-create only says "unable to create variable object": ask gdb for its own reason
    const why = await mi
      .dataEvaluateExpression(target.expression, frameArgs(target.frame))
      .then(() => miReason(e), miReason);
    out.push({
      name: `*${c.label}`,
      value: `<cannot be read: ${/unable to create variable object/.test(why) ? "gdb cannot evaluate it" : why}>`,
      variablesReference: 0,
      presentationHint: { attributes: ["readOnly"] },
    });
    return out;
  }
  ctx.rememberVarobj(vo.name);
  if (vo.numchild > 0) {
    out.push(...(await varobjChildren(ctx, reference, vo.name, vo.numchild, target.frame)));
  } else {
    ctx.setAssignTargets(reference, new Map([[`*${c.label}`, { kind: "varobj", name: vo.name }]]));
    out.push(await varobjVariable(ctx, vo, `*${c.label}`, target.frame));
  }
  return out;
}
