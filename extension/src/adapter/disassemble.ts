// disassemble: instructionCount instructions around memoryReference + offset, starting
// instructionOffset instructions away (negative: before it). x86 instructions have no fixed
// length, so instructions before the address are found as cpptools finds them: function by
// function backwards (gdb disassembles the whole function containing an address, from its
// start), and only between functions (padding, code without symbols) from a small window that
// ends at the boundary and lines up with it. Addresses are written with the pointer's full width.
import type { DebugProtocol } from "@vscode/debugprotocol";

import type { MIInstruction, MISourceAndInstructions } from "../mi";
import type { Context } from "./context";
import { handler, type RequestFamily } from "./handler";
import { parseReference } from "./memory";

const MAX_INSN = 15;

function hex(a: bigint): string {
  return `0x${a.toString(16)}`;
}

/** Every address in the view has one width (16 hex digits), as gdb writes them. */
function wide(a: bigint | string): string {
  return `0x${BigInt(a).toString(16).padStart(16, "0")}`;
}

interface Located extends MIInstruction {
  readonly file?: string;
  readonly line?: number;
}

function flatten(groups: readonly MISourceAndInstructions[]): Located[] {
  const out: Located[] = [];
  for (const g of groups) {
    for (const i of g.instructions)
      out.push({ ...i, file: g.fullname ?? g.file, line: g.line > 0 ? g.line : undefined });
  }
  return out;
}

async function window(ctx: Context, start: bigint, end: bigint): Promise<Located[]> {
  const mi = ctx.requireMi();
  try {
    return flatten(await mi.disassembleWithSource(hex(start), hex(end)));
  } catch {
    return [];
  }
}

/** Up to `count` instructions that end exactly at `end`, from a window of `span` bytes. */
async function lineUp(ctx: Context, end: bigint, span: number): Promise<Located[]> {
  for (const slack of [span, span / 2, span / 4]) {
    const from = end > BigInt(slack) ? end - BigInt(slack) : 0n;
    const got = (await window(ctx, from, end)).filter((i) => BigInt(i.address) < end);
    const last = got[got.length - 1];
    if (last === undefined) continue;
    const size = BigInt((last.opcodes ?? "").split(" ").filter(Boolean).length);
    if (BigInt(last.address) + size === end) return got;
  }
  return [];
}

/** The whole function containing `address`, or [] (no symbol there, unreadable). */
async function functionAt(ctx: Context, address: bigint): Promise<Located[]> {
  try {
    return flatten(await ctx.requireMi().disassembleFunctionWithSource(hex(address)));
  } catch {
    return [];
  }
}

/** At most `count` instructions before `anchor`, walking back function by function. */
async function instructionsBefore(ctx: Context, anchor: bigint, count: number): Promise<Located[]> {
  let out: Located[] = [];
  let cursor = anchor;
  for (let steps = 0; out.length < count && cursor > 0n && steps < 64; steps++) {
    let part = (await functionAt(ctx, cursor - 1n)).filter((i) => BigInt(i.address) < cursor);
    const first = part[0];
    // the function's instructions must end at the cursor (a function's own padding may not)
    if (first === undefined) part = await lineUp(ctx, cursor, 64);
    if (part.length === 0) break;
    out = [...part, ...out];
    cursor = BigInt(part[0].address);
  }
  return out.slice(Math.max(0, out.length - count));
}

async function disassemble(
  ctx: Context,
  a: DebugProtocol.DisassembleArguments,
): Promise<DebugProtocol.DisassembleResponse["body"]> {
  ctx.requireStopped("disassemble");
  const anchor = parseReference(a.memoryReference, a.offset ?? 0);
  const before = Math.max(0, -(a.instructionOffset ?? 0));
  const after = Math.max(0, a.instructionCount + (a.instructionOffset ?? 0));
  const forward = after > 0 ? await window(ctx, anchor, anchor + BigInt(after * MAX_INSN)) : [];
  const backward = before > 0 ? await instructionsBefore(ctx, anchor, before) : [];
  const pick = [...backward.slice(Math.max(0, backward.length - before)), ...forward];
  const skip = Math.max(0, (a.instructionOffset ?? 0) > 0 ? (a.instructionOffset ?? 0) : 0);
  const chosen = pick.slice(skip, skip + a.instructionCount);
  const instructions: DebugProtocol.DisassembledInstruction[] = chosen.map((i) => ({
    address: wide(i.address),
    instruction: i.inst,
    instructionBytes: i.opcodes,
    symbol: i.funcName !== undefined ? `${i.funcName}+${i.offset ?? 0}` : undefined,
    location: i.file !== undefined ? { path: i.file } : undefined,
    line: i.line,
  }));
  // the client expects exactly instructionCount entries: pad with invalid ones
  const missingBefore = Math.max(0, before - backward.length);
  // unreadable memory before the first instruction found (the start of the code): one row a byte
  const firstKnown = backward[0] !== undefined ? BigInt(backward[0].address) : anchor;
  const pad = (address: bigint): DebugProtocol.DisassembledInstruction => ({
    address: wide(address),
    instruction: "??",
    presentationHint: "invalid",
  });
  const padded = [
    ...Array.from({ length: Math.min(missingBefore, a.instructionCount) }, (_, k) =>
      pad(firstKnown - BigInt(missingBefore - k)),
    ),
    ...instructions,
  ].slice(0, a.instructionCount);
  let last = padded.length > 0 ? BigInt(padded[padded.length - 1].address) : anchor;
  while (padded.length < a.instructionCount) {
    last += 1n;
    padded.push(pad(last));
  }
  return { instructions: padded };
}

export const disassembleFamily: RequestFamily = {
  name: "disassemble",
  capabilities: { supportsDisassembleRequest: true, supportsInstructionBreakpoints: false },
  requests: { disassemble: handler(disassemble) },
};
