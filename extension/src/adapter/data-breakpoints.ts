// Data breakpoints ("Break on Value Change", "Break on Access", "Add Data Breakpoint at Address")
// over gdb watchpoints: dataBreakpointInfo names the bytes a variable, a pointer's allocation or an
// address covers, setDataBreakpoints watches them. What no other debugger offers: a pointer's
// "[allocation]" child and an address without a byte count cover the whole allocation (from the
// bridge's bounds), so a watch catches every write into the object, not only into one field.
import type { DebugProtocol } from "@vscode/debugprotocol";

import { MIError } from "../mi";
import type { Context, FrameRef } from "./context";
import { describeAddress, summary } from "./describe";
import { handler, type RequestFamily } from "./handler";

/** The watched bytes: "0xADDR/N". */
function dataId(address: bigint, bytes: number): string {
  return `0x${address.toString(16)}/${bytes}`;
}

function parseDataId(id: string): { address: bigint; bytes: number } {
  const m = /^(0x[0-9a-f]+)\/(\d+)$/.exec(id);
  if (m === null) throw new Error(`not a data breakpoint of this debugger: ${id}`);
  return { address: BigInt(m[1]), bytes: Number(m[2]) };
}

/** gdb watchpoint numbers this session made for setDataBreakpoints. */
const owned = new WeakMap<Context, string[]>();

function frameArgs(frame: FrameRef | undefined): { thread: number; frame: number } | undefined {
  return frame === undefined ? undefined : { thread: frame.thread, frame: frame.level };
}

/** Address and size of an lvalue expression, or undefined when it has no address. */
async function lvalueBytes(
  ctx: Context,
  expression: string,
  frame: FrameRef | undefined,
): Promise<{ address: bigint; bytes: number } | undefined> {
  const mi = ctx.requireMi();
  try {
    const [a, n] = await Promise.all([
      mi.dataEvaluateExpression(`(unsigned long)&(${expression})`, frameArgs(frame)),
      mi.dataEvaluateExpression(`sizeof(${expression})`, frameArgs(frame)),
    ]);
    return { address: BigInt(a.split(" ")[0]), bytes: Number(n) };
  } catch (e) {
    if (e instanceof MIError) return undefined;
    throw e;
  }
}

/** The expression a child of a container stands for (what setVariable would assign). */
async function childExpression(
  ctx: Context,
  reference: number,
  name: string,
): Promise<{ expression: string; frame?: FrameRef } | undefined> {
  const target = ctx.assignTarget(reference, name);
  if (target === undefined) return undefined;
  if (target.kind === "expression") return { expression: target.expression, frame: target.frame };
  const r = await ctx.requireGdb().send({ operation: "-var-info-path-expression", args: [target.name] });
  const path = r.results.find((x) => x.name === "path_expr")?.value;
  return typeof path === "string" ? { expression: path } : undefined;
}

const NONE = (why: string): DebugProtocol.DataBreakpointInfoResponse["body"] => ({
  dataId: null,
  description: why,
});

async function dataBreakpointInfo(
  ctx: Context,
  a: DebugProtocol.DataBreakpointInfoArguments,
): Promise<DebugProtocol.DataBreakpointInfoResponse["body"]> {
  ctx.requireStopped("set a data breakpoint");
  const accessTypes: DebugProtocol.DataBreakpointAccessType[] = ["write", "read", "readWrite"];
  // an address: the bytes asked for, else from it to the end of its allocation
  if (a.asAddress === true || (a.variablesReference === undefined && /^0x[0-9a-f]+$/i.test(a.name))) {
    const address = BigInt(a.name);
    let bytes = a.bytes;
    let what = "";
    if (bytes === undefined) {
      const d = await describeAddress(ctx, `0x${address.toString(16)}`);
      if (d?.size !== null && d?.size !== undefined && d.offset !== null && d.state === "live") {
        bytes = Math.max(1, d.size - d.offset);
        what = ` to the end of its allocation (${summary(d) ?? d.allocator})`;
      }
    }
    bytes ??= 1;
    return { dataId: dataId(address, bytes), description: `${bytes} bytes at ${a.name}${what}`, accessTypes };
  }
  if (a.variablesReference !== undefined) {
    const c = ctx.container(a.variablesReference);
    // a pointer's "[allocation]" child: the whole allocation, from the bridge's bounds
    if (c.kind === "pointer" && a.name === "[allocation]") {
      const d = c.description;
      if (d === undefined || d.base === null || d.size === null || d.state !== "live")
        return NONE("the allocation's bounds are not known");
      return {
        dataId: dataId(BigInt(d.base), d.size),
        description: `the whole allocation: ${d.size} bytes at ${d.base} (${summary(d) ?? d.allocator})`,
        accessTypes,
      };
    }
    const child = await childExpression(ctx, a.variablesReference, a.name);
    if (child === undefined) return NONE(`${a.name} cannot be watched`);
    const b = await lvalueBytes(ctx, child.expression, child.frame);
    if (b === undefined) return NONE(`${a.name} has no address (a register or a computed value)`);
    return { dataId: dataId(b.address, b.bytes), description: `${a.name} (${b.bytes} bytes)`, accessTypes };
  }
  // an expression (Watch view, Debug Console)
  const frame = ctx.frame(a.frameId);
  const b = await lvalueBytes(ctx, a.name, frame);
  if (b === undefined) return NONE(`${a.name} has no address`);
  return { dataId: dataId(b.address, b.bytes), description: `${a.name} (${b.bytes} bytes)`, accessTypes };
}

async function setDataBreakpoints(
  ctx: Context,
  a: DebugProtocol.SetDataBreakpointsArguments,
): Promise<DebugProtocol.SetDataBreakpointsResponse["body"]> {
  const gdb = ctx.requireGdb();
  const old = owned.get(ctx) ?? [];
  if (old.length > 0) await gdb.send({ operation: "-break-delete", args: old }).catch(() => undefined);
  const made: string[] = [];
  owned.set(ctx, made);
  const breakpoints: DebugProtocol.Breakpoint[] = [];
  for (const bp of a.breakpoints) {
    try {
      const { address, bytes } = parseDataId(bp.dataId);
      const flag = bp.accessType === "read" ? ["-r"] : bp.accessType === "readWrite" ? ["-a"] : [];
      const expression = `*(unsigned char (*)[${bytes}])0x${address.toString(16)}`;
      const r = await gdb.send({ operation: "-break-watch", args: [...flag, expression] });
      const wpt = r.results.find((x) => ["wpt", "hw-rwpt", "hw-awpt"].includes(x.name))?.value;
      const number =
        wpt !== undefined && typeof wpt === "object" && wpt.kind === "tuple"
          ? wpt.results.find((x) => x.name === "number")?.value
          : undefined;
      if (typeof number !== "string") throw new Error("gdb made no watchpoint");
      made.push(number);
      if (bp.condition) await gdb.send({ operation: "-break-condition", args: [number, bp.condition] });
      breakpoints.push({
        id: Number(number),
        verified: true,
        message: `${bytes} bytes at 0x${address.toString(16)}`,
      });
    } catch (e) {
      breakpoints.push({ verified: false, message: e instanceof MIError ? e.msg : String(e) });
    }
  }
  return { breakpoints };
}

export const dataBreakpointsFamily: RequestFamily = {
  name: "data breakpoints",
  capabilities: { supportsDataBreakpoints: true, supportsDataBreakpointBytes: true },
  requests: {
    dataBreakpointInfo: handler(dataBreakpointInfo),
    setDataBreakpoints: handler(setDataBreakpoints),
  },
};
