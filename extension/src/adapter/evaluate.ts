// evaluate: repl (expressions; `alloc ...` commands; other gdb commands behind `-exec`), watch and hover
// (never with side effects: expressions that assign, increment or call are refused, and gdb
// runs with `may-call-functions off` outside the repl), clipboard (the full value).
import { InvalidatedEvent } from "@vscode/debugadapter";
import type { DebugProtocol } from "@vscode/debugprotocol";

import { MIError } from "../mi";
import type { Context, FrameRef } from "./context";
import { handler, type RequestFamily } from "./handler";
import { leadingAddress } from "./describe";
import { parseFormatSpecifiers } from "./format-specifiers";
import { pointeeType, pointerVariable, RANGE } from "./pointers";

/** Operators with side effects, outside string and character literals. */
const ASSIGNMENT = /(^|[^=!<>])=(?!=)|\+\+|--|[-+*/%&|^]=|<<=|>>=/;
/** A call: a name or a closing bracket followed by "(", except sizeof/_Alignof and casts. */
const CALL = /(?:\b(?!sizeof\b|_Alignof\b|alignof\b)[A-Za-z_$][\w$]*|\]|\))\s*\(/;

function stripLiterals(expression: string): string {
  return expression.replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'/g, '""');
}

/** Why an expression may not be evaluated without side effects, or undefined if it may. */
export function sideEffect(expression: string): string | undefined {
  const e = stripLiterals(expression);
  if (ASSIGNMENT.test(e)) return "it assigns or increments";
  // a cast like (int)(x) is allowed: "(" after ")" only when the parenthesised part is a type name
  const calls = e.replace(
    /\(\s*(?:(?:const|volatile|unsigned|signed|struct|union|enum)\s+)*[A-Za-z_]\w*\s*\**\s*\)\s*(?=\()/g,
    "",
  );
  if (CALL.test(calls)) return "it calls a function";
  return undefined;
}

function frameArgs(frame: FrameRef | undefined): { thread: number; frame: number } | undefined {
  return frame === undefined ? undefined : { thread: frame.thread, frame: frame.level };
}

const ALLOC_COMMAND = /^alloc(\s|$)/;

/** Runs a CLI command and returns what it printed. */
async function consoleCommand(ctx: Context, command: string, frame: FrameRef | undefined): Promise<string> {
  const gdb = ctx.requireGdb();
  if (frame !== undefined && ctx.hasProcess && !ctx.running) {
    // run it in the frame the user selected in VS Code
    await gdb
      .send({
        operation: "-stack-select-frame",
        args: ["--thread", String(frame.thread), String(frame.level)],
      })
      .catch(() => undefined);
  }
  const r = await gdb.console(command);
  return (r.console + r.log).replace(/\n$/, "");
}

async function expressionResult(
  ctx: Context,
  text: string,
  frame: FrameRef | undefined,
  context: string,
): Promise<DebugProtocol.EvaluateResponse["body"]> {
  const mi = ctx.requireMi();
  const spec = parseFormatSpecifiers(text);
  const expression = spec.expression;
  if (context === "clipboard") {
    return { result: await mi.dataEvaluateExpression(expression, frameArgs(frame)), variablesReference: 0 };
  }
  let vo;
  try {
    vo = await mi.varCreate(expression, frameArgs(frame) ?? {});
  } catch (e) {
    // -var-create only says "unable to create variable object": ask for gdb's own reason
    if (!(e instanceof MIError)) throw e;
    await mi.dataEvaluateExpression(expression, frameArgs(frame));
    throw e;
  }
  ctx.rememberVarobj(vo.name);
  let value = vo.value ?? "";
  if (spec.format !== undefined) {
    const r = await ctx.requireGdb().send({ operation: "-var-set-format", args: [vo.name, spec.format] });
    const v = r.results.find((x) => x.name === "value")?.value;
    if (typeof v === "string") value = v;
  }
  if (
    spec.format === undefined &&
    pointeeType(vo.type) !== undefined &&
    leadingAddress(value) !== undefined
  ) {
    const v = await pointerVariable(ctx, expression, value, vo.type as string, frame);
    return {
      result: v.value,
      type: v.type,
      variablesReference: v.variablesReference,
      memoryReference: v.memoryReference,
    };
  }
  const body: DebugProtocol.EvaluateResponse["body"] = {
    result: value,
    type: vo.type,
    variablesReference: 0,
  };
  if (vo.numchild > 0) {
    body.variablesReference = ctx.addContainer({ kind: "varobj", name: vo.name, numchild: vo.numchild });
    if (vo.numchild > RANGE) body.indexedVariables = vo.numchild;
  }
  const address = await mi
    .dataEvaluateExpression(`&(${expression})`, frameArgs(frame))
    .catch(() => undefined);
  body.memoryReference = leadingAddress(address);
  return body;
}

async function repl(
  ctx: Context,
  text: string,
  frame: FrameRef | undefined,
): Promise<DebugProtocol.EvaluateResponse["body"]> {
  const trimmed = text.trim();
  const forced = /^-exec\s+(.*)$/s.exec(trimmed) ?? /^`(.*)$/s.exec(trimmed);
  const mi = ctx.requireMi();
  const withCalls = async <T>(fn: () => Promise<T>): Promise<T> => {
    await mi.gdbSet("may-call-functions", "on");
    try {
      return await fn();
    } finally {
      await mi.gdbSet("may-call-functions", "off").catch(() => undefined);
      ctx.invalidateValues();
      if (ctx.clientCaps.supportsInvalidatedEvent && !ctx.running)
        ctx.client.sendEvent(new InvalidatedEvent(["variables"]));
    }
  };
  if (forced !== null || ALLOC_COMMAND.test(trimmed)) {
    const command = forced !== null ? forced[1] : trimmed;
    const printed = await withCalls(() => consoleCommand(ctx, command, frame));
    return { result: printed, variablesReference: 0 };
  }
  if (trimmed === "") return { result: "", variablesReference: 0 };
  // Everything else is an expression, as in cpptools: a word that happens to be a gdb command
  // (`next`, `kill`) must never run as one; gdb commands take the explicit `-exec` prefix.
  const hint = /^[a-z][\w-]*(\s|$)/.test(trimmed) ? ` (a gdb command needs a prefix: -exec ${trimmed})` : "";
  if (!ctx.hasProcess || ctx.running) {
    const state = ctx.running ? "while the program is running" : "before the program runs";
    throw new Error(`cannot evaluate ${trimmed} ${state}${hint}`);
  }
  try {
    return await withCalls(() => expressionResult(ctx, trimmed, frame, "repl"));
  } catch (e) {
    if (!(e instanceof MIError)) throw e;
    throw new Error(`${e.msg}${hint}`);
  }
}

async function evaluate(
  ctx: Context,
  a: DebugProtocol.EvaluateArguments,
): Promise<DebugProtocol.EvaluateResponse["body"]> {
  const frame = ctx.frame(a.frameId);
  const context = a.context ?? "repl";
  if (context === "repl") return repl(ctx, a.expression, frame);
  ctx.requireStopped("evaluate");
  if (context === "hover" || context === "watch" || context === "variables") {
    const why = sideEffect(a.expression);
    if (why !== undefined)
      throw new Error(`not evaluated in ${context}: ${why} (use the Debug Console to run it)`);
  }
  return expressionResult(ctx, a.expression, frame, context);
}

export const evaluateFamily: RequestFamily = {
  name: "evaluate",
  capabilities: {
    supportsEvaluateForHovers: true,
    supportsClipboardContext: true,
  },
  requests: { evaluate: handler(evaluate) },
};
