// variables (locals, registers, children of aggregates and pointers, the allocation
// description) and setVariable. Locals come from one -stack-list-variables; varobjs are made
// only when something is expanded; pointer summaries are fetched concurrently (gdb answers them
// in order, the adapter never waits for one before asking the next).
import { InvalidatedEvent } from "@vscode/debugadapter";
import type { DebugProtocol } from "@vscode/debugprotocol";

import { MIError, type MIVariable } from "../mi";
import type { AssignTarget, Context, FrameRef } from "./context";
import { allocationInfoVariables } from "./allocation-info";
import { describeAddress, leadingAddress, withSummary } from "./describe";
import { handler, type RequestFamily } from "./handler";
import { jsonVariables, pointeeType, pointerChildren, pointerVariable, varobjChildren } from "./pointers";

function frameArgs(frame: FrameRef | undefined): { thread: number; frame: number } | undefined {
  return frame === undefined ? undefined : { thread: frame.thread, frame: frame.level };
}

/** The address of an lvalue, for memoryReference (undefined for registers and non-lvalues). */
async function addressOf(
  ctx: Context,
  expression: string,
  frame: FrameRef | undefined,
): Promise<string | undefined> {
  try {
    return leadingAddress(await ctx.requireMi().dataEvaluateExpression(`&(${expression})`, frameArgs(frame)));
  } catch {
    return undefined;
  }
}

async function localVariable(ctx: Context, v: MIVariable, frame: FrameRef): Promise<DebugProtocol.Variable> {
  if (v.value !== undefined && pointeeType(v.type) !== undefined && leadingAddress(v.value) !== undefined) {
    return pointerVariable(ctx, v.name, v.value, v.type as string, frame, v.name);
  }
  const variable: DebugProtocol.Variable = {
    name: v.name,
    value: v.value ?? aggregateText(v.type),
    type: v.type,
    evaluateName: v.name,
    variablesReference: 0,
  };
  if (v.value === undefined) {
    variable.variablesReference = ctx.addContainer({ kind: "expr", expression: v.name, frame });
  }
  variable.memoryReference = await addressOf(ctx, v.name, frame);
  return variable;
}

function aggregateText(type: string | undefined): string {
  const m = /\[(\d+)\]$/.exec(type ?? "");
  return m !== null ? `[${m[1]}]` : "{...}";
}

async function locals(ctx: Context, reference: number, frame: FrameRef): Promise<DebugProtocol.Variable[]> {
  const vars = await ctx.frameLocals(frame);
  const targets = new Map<string, AssignTarget>();
  for (const v of vars) targets.set(v.name, { kind: "expression", expression: v.name, frame });
  ctx.setAssignTargets(reference, targets);
  return Promise.all(vars.map((v) => localVariable(ctx, v, frame)));
}

async function registers(ctx: Context, frame: FrameRef): Promise<DebugProtocol.Variable[]> {
  const gdb = ctx.requireGdb();
  const names = await gdb.send({ operation: "-data-list-register-names" });
  const list = names.results.find((r) => r.name === "register-names")?.value;
  const nameOf = list !== undefined && typeof list === "object" && list.kind === "list" ? list.values : [];
  const values = await gdb.send({
    operation: "-data-list-register-values",
    args: ["--thread", String(frame.thread), "--frame", String(frame.level), "--skip-unavailable", "x"],
  });
  const out: DebugProtocol.Variable[] = [];
  const regs = values.results.find((r) => r.name === "register-values")?.value;
  if (regs === undefined || typeof regs !== "object" || regs.kind !== "list") return out;
  for (const t of regs.values) {
    if (typeof t !== "object" || t.kind !== "tuple") continue;
    const num = Number(t.results.find((r) => r.name === "number")?.value);
    const value = t.results.find((r) => r.name === "value")?.value;
    const name = nameOf[num];
    if (typeof name !== "string" || name === "" || typeof value !== "string") continue;
    if (value.startsWith("{")) {
      // a vector register: its 128/256/512-bit value in one number, the lanes (v4_float,
      // v16_int8, ...) as its children
      const whole = /\buint(128|256|512) = (0x[0-9a-f]+)/.exec(value);
      out.push({
        name,
        value: whole !== null ? whole[2] : "{...}",
        variablesReference: ctx.addContainer({ kind: "expr", expression: `$${name}`, frame }),
        evaluateName: `$${name}`,
      });
      continue;
    }
    out.push({ name, value, variablesReference: 0, evaluateName: `$${name}` });
  }
  return out;
}

async function variables(
  ctx: Context,
  a: DebugProtocol.VariablesArguments,
): Promise<DebugProtocol.VariablesResponse["body"]> {
  ctx.requireStopped("show variables");
  const c = ctx.container(a.variablesReference);
  const paged = (all: DebugProtocol.Variable[]): DebugProtocol.VariablesResponse["body"] => {
    if (a.start === undefined && a.count === undefined) return { variables: all };
    const start = a.start ?? 0;
    return { variables: all.slice(start, a.count ? start + a.count : undefined) };
  };
  switch (c.kind) {
    case "locals":
      return { variables: await locals(ctx, a.variablesReference, c.frame) };
    case "registers":
      return paged(await registers(ctx, c.frame));
    case "json":
      return paged(jsonVariables(ctx, c.value));
    case "allocation":
      return paged(await allocationInfoVariables(ctx, c.description));
    case "pointer":
      return paged(await pointerChildren(ctx, a.variablesReference, c));
    case "expr": {
      const vo = await ctx.requireMi().varCreate(c.expression, frameArgs(c.frame) ?? {});
      ctx.rememberVarobj(vo.name);
      return {
        variables: await varobjChildren(
          ctx,
          a.variablesReference,
          vo.name,
          vo.numchild,
          c.frame,
          pageOf(a, vo.numchild),
        ),
      };
    }
    case "varobj":
      return {
        variables: await varobjChildren(
          ctx,
          a.variablesReference,
          c.name,
          c.numchild,
          undefined,
          pageOf(a, c.numchild),
        ),
      };
    case "range":
      return {
        variables: await varobjChildren(ctx, a.variablesReference, c.varobj, c.to - c.from + 1, undefined, c),
      };
  }
}

/** An explicit page (indexed filter) of a long array. */
function pageOf(
  a: DebugProtocol.VariablesArguments,
  numchild: number,
): { from: number; to: number } | undefined {
  if (a.start === undefined && a.count === undefined) return undefined;
  const from = a.start ?? 0;
  const to = Math.min(numchild, from + (a.count ?? numchild)) - 1;
  return { from, to };
}

async function setVariable(
  ctx: Context,
  a: DebugProtocol.SetVariableArguments,
): Promise<DebugProtocol.SetVariableResponse["body"]> {
  const mi = ctx.requireStopped("change a variable");
  const target = ctx.assignTarget(a.variablesReference, a.name);
  if (target === undefined) throw new Error(`${a.name} cannot be changed here`);
  let varobj: string;
  let temporary = false;
  if (target.kind === "varobj") {
    varobj = target.name;
  } else {
    const vo = await mi.varCreate(target.expression, frameArgs(target.frame) ?? {});
    varobj = vo.name;
    temporary = true;
  }
  let value: string;
  let type: string | undefined;
  try {
    value = await mi.varAssign(varobj, a.value);
    type = await ctx
      .requireGdb()
      .send({ operation: "-var-info-type", args: [varobj] })
      .then((r) => r.results.find((x) => x.name === "type")?.value as string | undefined)
      .catch(() => undefined);
  } catch (e) {
    throw new Error(e instanceof MIError ? `cannot set ${a.name}: ${e.msg}` : String(e));
  } finally {
    if (temporary) await mi.varDelete(varobj).catch(() => undefined);
  }
  ctx.invalidateValues();
  let shown = value;
  const address = leadingAddress(value);
  if (pointeeType(type) !== undefined && address !== undefined)
    shown = withSummary(value, await describeAddress(ctx, address));
  if (ctx.clientCaps.supportsInvalidatedEvent) ctx.client.sendEvent(new InvalidatedEvent(["variables"]));
  return { value: shown, type };
}

/** setExpression: assigns to any lvalue expression (Watch, and variables with an evaluateName). */
async function setExpression(
  ctx: Context,
  a: DebugProtocol.SetExpressionArguments,
): Promise<DebugProtocol.SetExpressionResponse["body"]> {
  const mi = ctx.requireStopped("change a value");
  const frame = ctx.frame(a.frameId);
  let vo;
  try {
    vo = await mi.varCreate(a.expression, frameArgs(frame) ?? {});
  } catch (e) {
    throw new Error(e instanceof MIError ? `cannot set ${a.expression}: ${e.msg}` : String(e));
  }
  let value: string;
  try {
    value = await mi.varAssign(vo.name, a.value);
  } catch (e) {
    throw new Error(e instanceof MIError ? `cannot set ${a.expression}: ${e.msg}` : String(e));
  } finally {
    await mi.varDelete(vo.name).catch(() => undefined);
  }
  ctx.invalidateValues();
  const address = leadingAddress(value);
  const shown =
    pointeeType(vo.type) !== undefined && address !== undefined
      ? withSummary(value, await describeAddress(ctx, address))
      : value;
  if (ctx.clientCaps.supportsInvalidatedEvent) ctx.client.sendEvent(new InvalidatedEvent(["variables"]));
  return { value: shown, type: vo.type, variablesReference: 0 };
}

/** Right after a stop is reported: the top frame's locals are listed and their pointers described
 * (one `-alloc-describe-batch`) while the client asks for threads and the stack; the variables
 * request then answers from the stop's caches. gdb's first look at a frame's values is its
 * dearest (the caller's symbol table is expanded, libc's compressed debug sections inflated):
 * this moves it off the client's critical path. Never fails; nothing is kept past the stop. */
export function prefetchTopFrame(ctx: Context, thread: number): void {
  if (ctx.running || !ctx.hasProcess || ctx.mi === undefined) return;
  const token = ctx.stopToken;
  ctx
    .frameLocals({ thread, level: 0 })
    .then((vars) => {
      if (!ctx.sameStop(token) || ctx.running) return;
      for (const v of vars) {
        const address =
          v.value !== undefined && pointeeType(v.type) !== undefined ? leadingAddress(v.value) : undefined;
        if (address !== undefined && BigInt(address) !== 0n) void describeAddress(ctx, address);
      }
    })
    .catch(() => undefined);
}

export const variablesFamily: RequestFamily = {
  name: "variables",
  capabilities: { supportsSetVariable: true, supportsSetExpression: true },
  requests: {
    variables: handler(variables),
    setVariable: handler(setVariable),
    setExpression: handler(setExpression),
  },
};
