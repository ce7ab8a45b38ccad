// Where an allocating call's result goes, followed through the x86-64 code (decoded by
// x86-decode.ts). Each general-purpose register holds a symbolic value: the result, a constant,
// whatever it held where the walk started (a variable, per its DWARF location there), a value
// loaded from memory at a symbolic address (a local's stack slot, a global, a struct member
// reached through a pointer), or an address computed from those (lea, add). The walk may start
// at the beginning of the call's statement (from the line table), so that an address computed
// before the call (`a[i] = malloc(...)` at -O0 puts &a[i] in rbx first) and the constants
// passed in argument registers are known; it then goes through the call (which clobbers the
// caller-saved registers and leaves the result in rax) and follows the result until it is
// stored to memory (the receiver), returned, or lost. Unconditional jumps are followed;
// conditional ones fall through (the null check before a store). Hostile bytes end the walk,
// never throw.

import { DWARF_OF, Insn, Mem, RAX, RBP, RSP, Reg, decodeCached } from "./x86-decode";

/** A symbolic value; registers are in DWARF numbering. */
export type Sym =
  | { k: "unknown" }
  | { k: "result" }
  | { k: "const"; v: number }
  /** What register `reg` held at `pc`, where the walk started. */
  | { k: "entry"; reg: number; pc: number }
  /** An absolute address (a global). */
  | { k: "abs"; addr: number }
  /** The 64-bit value loaded from memory at `at`. */
  | { k: "load"; at: Addr }
  /** An address computed from another value (never itself an "addr": offsets are folded). */
  | { k: "addr"; at: Addr };

/** base + disp, plus an unknown multiple of an element size when `indexed`. */
export interface Addr {
  base: Sym;
  disp: number;
  indexed: boolean;
}

export type ResultSink =
  /** The result stored to memory at `at` (a stack slot, a global, a member, an element). */
  { kind: "store"; at: Addr; pc: number } | { kind: "return"; pc: number } | { kind: "none" };

export interface ResultFlow {
  sink: ResultSink;
  /** At each instruction boundary followed (from the return address), the registers holding
   * the result, as DWARF register numbers. */
  held: { pc: number; regs: number[] }[];
  /** The argument registers' values at the call (rdi, rsi, rdx, rcx, r8, r9), when the code
   * from the statement's start to the call was decoded. */
  args?: Sym[];
}

const UNKNOWN: Sym = { k: "unknown" };
const RESULT: Sym = { k: "result" };
/** rdi, rsi, rdx, rcx, r8, r9 in x86 numbering. */
const ARG_REGS = [7, 6, 2, 1, 8, 9];
const CALLER_SAVED = [0, 1, 2, 6, 7, 8, 9, 10, 11];

export type State = Sym[];

export function initial(pc: number): State {
  const s: State = [];
  for (let r = 0; r < 16; r++) s.push({ k: "entry", reg: DWARF_OF[r], pc });
  return s;
}

function isPointerish(s: Sym): boolean {
  return (
    s.k === "entry" ||
    s.k === "load" ||
    s.k === "abs" ||
    s.k === "result" ||
    (s.k === "addr" && isPointerish(s.at.base))
  );
}

/** The symbolic address of a memory operand. */
export function addressOf(st: State, m: Mem): Addr {
  let base: Sym;
  let disp = m.disp;
  let indexed = m.index !== undefined;
  if (m.base === "rip") {
    base = { k: "abs", addr: disp };
    disp = 0;
  } else if (m.base === undefined) {
    // An absolute address (non-PIE code), perhaps indexed (a global array); a small one is no
    // address but a scaled index (`lea 0x0(,%rax,8),%rdx`).
    base = disp >= 0x1000 ? { k: "abs", addr: disp } : UNKNOWN;
    disp = base.k === "abs" ? 0 : disp;
  } else {
    base = st[m.base];
    // lea (%rdx,%rax,1): the pointer may be the index, the base an offset computed from an int.
    if (m.index !== undefined && m.scale === 1 && !isPointerish(base) && isPointerish(st[m.index]))
      base = st[m.index];
  }
  if (base.k === "addr") {
    disp += base.at.disp;
    indexed ||= base.at.indexed;
    base = base.at.base;
  }
  return { base, disp, indexed };
}

export function apply(st: State, insn: Insn): void {
  switch (insn.op) {
    case "mov": {
      if (insn.dst.kind !== "reg") return;
      const d = insn.dst.reg;
      if (d === RSP) return; // the frame registers keep their meaning
      const src = insn.src;
      if (src.kind === "imm") st[d] = insn.wide ? { k: "const", v: src.value } : UNKNOWN;
      else if (!insn.wide) st[d] = UNKNOWN;
      else if (src.kind === "reg") st[d] = st[src.reg];
      else st[d] = { k: "load", at: addressOf(st, src.mem) };
      return;
    }
    case "lea":
      if (insn.dst === RSP) return;
      st[insn.dst] = insn.wide ? { k: "addr", at: addressOf(st, insn.mem) } : UNKNOWN;
      return;
    case "addi": {
      if (insn.dst.kind !== "reg" || insn.dst.reg === RSP) return;
      const d = insn.dst.reg;
      const v = st[d];
      if (!insn.wide) st[d] = UNKNOWN;
      else if (v.k === "const") st[d] = { k: "const", v: v.v + insn.value };
      else if (v.k === "addr") st[d] = { k: "addr", at: { ...v.at, disp: v.at.disp + insn.value } };
      else if (isPointerish(v)) st[d] = { k: "addr", at: { base: v, disp: insn.value, indexed: false } };
      else st[d] = UNKNOWN;
      return;
    }
    case "zero":
      st[insn.dst] = { k: "const", v: 0 };
      return;
    case "add": {
      // base + scaled index (`add 0x8(%r13),%rbp` after `lea 0x0(,%r12,8),%rbp`): an element.
      if (insn.dst === RSP) return;
      const a = st[insn.dst];
      const b =
        insn.src.kind === "reg" ? st[insn.src.reg] : { k: "load" as const, at: addressOf(st, insn.src.mem) };
      const p = isPointerish(a) && !isPointerish(b) ? a : isPointerish(b) && !isPointerish(a) ? b : undefined;
      if (!p) st[insn.dst] = UNKNOWN;
      else if (p.k === "addr") st[insn.dst] = { k: "addr", at: { ...p.at, indexed: true } };
      else st[insn.dst] = { k: "addr", at: { base: p, disp: 0, indexed: true } };
      return;
    }
    // Indexed loops: this runs mostly in baseline code, where `for...of` made an iterator and
    // a result object per register.
    case "other": {
      const regs = insn.regs;
      for (let i = 0; i < regs.length; i++) if (regs[i] !== RSP) st[regs[i]] = UNKNOWN;
      return;
    }
    case "call":
      for (let i = 0; i < CALLER_SAVED.length; i++) st[CALLER_SAVED[i]] = UNKNOWN;
      return;
    case "leave":
      st[RBP] = UNKNOWN;
      return;
  }
}

export interface FollowOptions {
  /** Code offset of the call's statement's first instruction (decoded up to the call). */
  from?: number;
  /** Code offset of the call instruction itself. */
  callOff?: number;
  /** Instructions followed after the call. */
  maxInsns?: number;
}

/** Decodes from `o` to exactly `stop`; the state there, or undefined if the code in between
 * is not straight-line code this decoder knows. */
function walkPrefix(code: Buffer, o: number, stop: number, pc: number): State | undefined {
  const st = initial(pc);
  for (let n = 0; o < stop && n < 64; n++) {
    const insn = decodeCached(code, o, pc);
    if (!insn || insn.op === "jmp" || insn.op === "ret" || insn.op === "stop") return undefined;
    apply(st, insn);
    o += insn.len;
    pc += insn.len;
  }
  return o === stop ? st : undefined;
}

/**
 * Follows the result of a call whose return address is at `code[off]` (virtual address
 * `vaddr`), for at most `maxInsns` instructions (default 16).
 */
export function followResult(code: Buffer, off: number, vaddr: number, o: FollowOptions = {}): ResultFlow {
  let st: State | undefined;
  let args: Sym[] | undefined;
  if (o.from !== undefined && o.callOff !== undefined && o.from <= o.callOff && o.callOff - o.from < 512) {
    st = walkPrefix(code, o.from, o.callOff, vaddr - (off - o.from));
    if (st) args = ARG_REGS.map((r) => st![r]);
  }
  st ??= initial(vaddr);
  for (const r of CALLER_SAVED) st[r] = UNKNOWN;
  st[RAX] = RESULT;
  const held: ResultFlow["held"] = [];
  let pc = vaddr;
  let at = off;
  const max = o.maxInsns ?? 16;
  for (let n = 0; n < max && at >= 0 && at < code.length; n++) {
    const regs: number[] = [];
    for (let r = 0; r < 16; r++) if (st[r].k === "result") regs.push(DWARF_OF[r]);
    if (regs.length === 0) break;
    held.push({ pc, regs });
    const insn = decodeCached(code, at, pc);
    if (!insn || insn.op === "stop") break;
    if (insn.op === "ret")
      return { sink: st[RAX].k === "result" ? { kind: "return", pc } : { kind: "none" }, held, args };
    if (insn.op === "mov" && insn.dst.kind === "mem" && insn.src.kind === "reg" && insn.wide) {
      const to = addressOf(st, insn.dst.mem);
      // A store into the new chunk itself (`p->self = p`) is not a receiver.
      if (st[insn.src.reg].k === "result" && to.base.k !== "result")
        return { sink: { kind: "store", at: to, pc }, held, args };
    }
    if (insn.op === "jmp" && !insn.cond) {
      // Follow a direct jump within this code; an indirect one (or a tail call out) ends it.
      if (insn.target === undefined) break;
      const to = at + (insn.target - pc);
      if (to < 0 || to >= code.length) break;
      at = to;
      pc = insn.target;
      continue;
    }
    apply(st, insn);
    at += insn.len;
    pc += insn.len;
  }
  return { sink: { kind: "none" }, held, args };
}

/** The DWARF register number of argument `arg` (0 rdi, 1 rsi, ... 5 r9), or undefined. */
export function argDwarfReg(arg: number): number | undefined {
  const r: Reg | undefined = ARG_REGS[arg];
  return r === undefined ? undefined : DWARF_OF[r];
}

/** The argument registers' values at the call or jump at code[callOff], from decoding the
 * straight-line code from code[from] (virtual address `fromPc`) to it; undefined when that
 * code is not straight-line code this decoder knows. */
export function argsAt(code: Buffer, from: number, callOff: number, fromPc: number): Sym[] | undefined {
  if (from > callOff || callOff - from >= 512) return undefined;
  const st = walkPrefix(code, from, callOff, fromPc);
  return st && ARG_REGS.map((r) => st[r]);
}

/**
 * The constant loaded into argument register `arg` (0 edi, 1 esi, 2 edx, 3 ecx) by one of the
 * (at most three) `mov $imm32,%e?x` / `mov $imm32,%r?x` instructions right before the call at
 * `code[callOff]`; undefined when the code before the call is anything else.
 */
export function constantArg(code: Buffer, callOff: number, arg: number): number | undefined {
  const want = [7, 6, 2, 1][arg];
  if (want === undefined) return undefined;
  let o = callOff;
  for (let k = 0; k < 3; k++) {
    // mov $imm32,%r32: B8+r imm32 (5 bytes); mov $imm32,%r64: 48 C7 C0+r imm32 (7 bytes).
    if (
      o >= 7 &&
      code[o - 7] === 0x48 &&
      code[o - 6] === 0xc7 &&
      code[o - 5] >= 0xc0 &&
      code[o - 5] <= 0xc7
    ) {
      if ((code[o - 5] & 7) === want) return code.readInt32LE(o - 4);
      o -= 7;
    } else if (o >= 5 && code[o - 5] >= 0xb8 && code[o - 5] <= 0xbf) {
      if ((code[o - 5] & 7) === want) return code.readUInt32LE(o - 4);
      o -= 5;
    } else return undefined;
  }
  return undefined;
}
