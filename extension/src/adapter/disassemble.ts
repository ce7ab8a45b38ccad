// disassemble: instructionCount instructions around memoryReference + offset, starting
// instructionOffset instructions away (negative: before it). x86 instructions have no fixed
// length, so instructions before the address come from disassembling a window that ends
// there and keeping the ones that line up with it.
import type { DebugProtocol } from "@vscode/debugprotocol";

import type { MIInstruction, MISourceAndInstructions } from "../mi";
import type { Context } from "./context";
import { handler, type RequestFamily } from "./handler";
import { parseReference } from "./memory";

const MAX_INSN = 15;

function hex(a: bigint): string {
  return `0x${a.toString(16)}`;
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

async function disassemble(
  ctx: Context,
  a: DebugProtocol.DisassembleArguments,
): Promise<DebugProtocol.DisassembleResponse["body"]> {
  ctx.requireStopped("disassemble");
  const anchor = parseReference(a.memoryReference, a.offset ?? 0);
  const before = Math.max(0, -(a.instructionOffset ?? 0));
  const after = Math.max(0, a.instructionCount + (a.instructionOffset ?? 0));
  const forward = after > 0 ? await window(ctx, anchor, anchor + BigInt(after * MAX_INSN)) : [];
  let backward: Located[] = [];
  if (before > 0) {
    // try windows that end exactly at the anchor, from further back to nearer
    for (const slack of [before * MAX_INSN, before * 8, before * 4]) {
      const from = anchor > BigInt(slack) ? anchor - BigInt(slack) : 0n;
      const got = (await window(ctx, from, anchor)).filter((i) => BigInt(i.address) < anchor);
      const last = got[got.length - 1];
      if (last === undefined) continue;
      const size = BigInt((last.opcodes ?? "").split(" ").filter(Boolean).length);
      if (backward.length === 0 || BigInt(last.address) + size === anchor) backward = got;
      if (BigInt(last.address) + size === anchor && got.length >= before) break;
    }
  }
  const pick = [...backward.slice(Math.max(0, backward.length - before)), ...forward];
  const skip = Math.max(0, (a.instructionOffset ?? 0) > 0 ? (a.instructionOffset ?? 0) : 0);
  const chosen = pick.slice(skip, skip + a.instructionCount);
  const instructions: DebugProtocol.DisassembledInstruction[] = chosen.map((i) => ({
    address: i.address,
    instruction: i.inst,
    instructionBytes: i.opcodes,
    symbol: i.funcName !== undefined ? `${i.funcName}+${i.offset ?? 0}` : undefined,
    location: i.file !== undefined ? { path: i.file } : undefined,
    line: i.line,
  }));
  // the client expects exactly instructionCount entries: pad with invalid ones
  const missingBefore = Math.max(0, before - backward.length);
  const pad = (address: bigint): DebugProtocol.DisassembledInstruction => ({
    address: hex(address),
    instruction: "??",
    presentationHint: "invalid",
  });
  const padded = [
    ...Array.from({ length: Math.min(missingBefore, a.instructionCount) }, (_, k) =>
      pad(anchor - BigInt(missingBefore - k)),
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
