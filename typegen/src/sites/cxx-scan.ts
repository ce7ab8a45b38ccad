// The x86-64 side of C++ allocation sites (cxx.ts): what the code right after a call to
// operator new does with the new memory (constructor calls on it, a vtable or a count stored
// into its first word, where its address goes), and which registers hold rip-relative
// addresses before the call (a vtable loaded ahead of an inlined constructor).

import { DWARF_OF, Mem, RAX, RBP, decode } from "./x86-decode";

/** What the code right after a call to operator new does with the new memory. */
export interface NewScan {
  /** Direct calls made with the new memory (plus `disp`) as their first argument (`this`):
   * constructors, in order. `indexed`: at an unknown multiple past disp (an array's loop). */
  thisCalls: { target: number; disp: number; indexed: boolean }[];
  /** Addresses stored into the new memory's first word: a vtable pointer (`_ZTV... + 16`)
   * when a constructor was inlined. */
  firstWordAddrs: number[];
  /** A 64-bit value stored at the new memory's start and the elements addressed 8 bytes past
   * it: the array cookie (Itanium C++ ABI 2.7) of a `new T[n]` whose T has a destructor. */
  cookie: boolean;
  /** The constant stored as the count, when one was. */
  cookieCount?: number;
  /** The rbp slot the elements' address (8 past a cookie) is stored to, and where. */
  elementsSlot?: { disp: number; pc: number };
  /** The rbp slots the new memory's address itself is stored to, and where, in order (a
   * compiler's temporary first, at -O0, then the variable). */
  slots0: { disp: number; pc: number }[];
  /** At each instruction boundary, the registers (DWARF numbers) holding the new memory's
   * address (`at0`) or 8 past it (`at8`), for the variables whose locations are there. */
  at0: { pc: number; regs: number[] }[];
  at8: { pc: number; regs: number[] }[];
}

/** A register's value as far as the scan follows it: the new memory plus `disp` (`indexed`:
 * plus some multiple of an element size), or a known absolute address. */
type NewVal = { k: "new"; disp: number; indexed: boolean };
export type Val = NewVal | { k: "abs"; addr: number };

const RDI = 7;
const CALLER_SAVED = [0, 1, 2, 6, 7, 8, 9, 10, 11];

const CALLEE_SAVED = [3, 5, 12, 13, 14, 15];

/**
 * The callee-saved registers holding an address computed rip-relative (`lea X(%rip),%r14`)
 * somewhere before the call at code[callOff], decoding in address order from the function's
 * entry code[from]: an optimised constructor inlined after operator new stores a vtable
 * address loaded before the call. Best effort: an undecodable instruction forgets everything.
 */
export function addressesBefore(
  code: Buffer,
  from: number,
  callOff: number,
  fromPc: number,
): Map<number, Val> {
  const out = new Map<number, Val>();
  let pc = fromPc;
  for (let at = from, n = 0; at < callOff && n < 4096; n++) {
    const insn = decode(code, at, pc);
    if (!insn) return new Map();
    if (insn.op === "lea" && insn.mem.base === "rip" && insn.wide)
      out.set(insn.dst, { k: "abs", addr: insn.mem.disp });
    else if (insn.op === "lea") out.delete(insn.dst);
    else if (insn.op === "mov" && insn.dst.kind === "reg") out.delete(insn.dst.reg);
    else if ((insn.op === "addi" && insn.dst.kind === "reg") || insn.op === "zero" || insn.op === "add")
      out.delete(
        insn.op === "addi" ? (insn.dst as { kind: "reg"; reg: number }).reg : (insn as { dst: number }).dst,
      );
    else if (insn.op === "other") for (const r of insn.regs) out.delete(r);
    else if (insn.op === "call")
      for (const r of [...out.keys()]) if (!CALLEE_SAVED.includes(r)) out.delete(r);
    at += insn.len;
    pc += insn.len;
  }
  for (const r of [...out.keys()]) if (!CALLEE_SAVED.includes(r)) out.delete(r);
  return out;
}

/**
 * Scans the straight-line code after operator new's return address (code[off], virtual address
 * `vaddr`) for at most `maxInsns` instructions, in address order: jumps are not followed, so a
 * constructor loop's body (`new T[n]` at -O0 jumps over it to the test) is still seen. The
 * scan follows the new memory through registers and the stack slots of an rbp frame; a call
 * clobbers the caller-saved registers, and the scan ends at a return or an unknown instruction.
 */
export function scanNew(
  code: Buffer,
  off: number,
  vaddr: number,
  before: Map<number, Val> = new Map(),
  maxInsns = 48,
): NewScan {
  const out: NewScan = { thisCalls: [], firstWordAddrs: [], cookie: false, at0: [], at8: [], slots0: [] };
  const regs = new Map<number, Val>(before);
  for (const r of CALLER_SAVED) regs.delete(r);
  regs.set(RAX, { k: "new", disp: 0, indexed: false });
  const slots = new Map<number, Val>();
  let cookieStored = false;
  let pc = vaddr;
  for (let n = 0, at = off; n < maxInsns && at < code.length; n++) {
    const held = (disp: number): number[] =>
      [...regs].filter(([, v]) => v.k === "new" && v.disp === disp && !v.indexed).map(([r]) => DWARF_OF[r]);
    out.at0.push({ pc, regs: held(0) });
    out.at8.push({ pc, regs: held(8) });
    const insn = decode(code, at, pc);
    if (!insn || insn.op === "ret" || insn.op === "stop") break;
    const memVal = (m: Mem): Val | undefined => {
      if (m.base === "rip") return { k: "abs", addr: m.disp };
      if (m.base === RBP && m.index === undefined) return slots.get(m.disp);
      return undefined;
    };
    /** The new memory's address plus the operand's displacement, for a store through it. */
    const intoNew = (m: Mem): NewVal | undefined => {
      if (m.base === undefined || m.base === "rip") return undefined;
      const b = regs.get(m.base);
      return b?.k === "new"
        ? { k: "new", disp: b.disp + m.disp, indexed: b.indexed || m.index !== undefined }
        : undefined;
    };
    switch (insn.op) {
      case "mov": {
        const src = insn.src;
        if (insn.dst.kind === "mem") {
          const dm = insn.dst.mem;
          if (dm.base === RBP && dm.index === undefined) {
            const v = src.kind === "reg" && insn.wide ? regs.get(src.reg) : undefined;
            if (v?.k === "new" && v.disp === 8 && !v.indexed) out.elementsSlot ??= { disp: dm.disp, pc };
            if (v?.k === "new" && v.disp === 0 && !v.indexed) out.slots0.push({ disp: dm.disp, pc });
            if (v) slots.set(dm.disp, v);
            else slots.delete(dm.disp);
          }
          const into = intoNew(dm);
          if (into && into.disp === 0 && !into.indexed && insn.wide) {
            const v = src.kind === "reg" ? regs.get(src.reg) : undefined;
            if (v?.k === "abs") out.firstWordAddrs.push(v.addr);
            else if (src.kind === "imm" && src.value >= 0x1000) out.firstWordAddrs.push(src.value);
            if (!v || v.k === "abs") cookieStored = true;
            if (src.kind === "imm") out.cookieCount ??= src.value;
          }
          break;
        }
        const d = insn.dst.reg;
        const v = !insn.wide
          ? undefined
          : src.kind === "reg"
            ? regs.get(src.reg)
            : src.kind === "mem"
              ? memVal(src.mem)
              : undefined;
        // a load through rip is a value in memory, not its address
        if (v && !(src.kind === "mem" && src.mem.base === "rip")) regs.set(d, v);
        else regs.delete(d);
        break;
      }
      case "lea": {
        const m = insn.mem;
        const v = m.base === "rip" ? ({ k: "abs", addr: m.disp } as Val) : intoNew(m);
        if (v && insn.wide) regs.set(insn.dst, v);
        else regs.delete(insn.dst);
        break;
      }
      case "addi": {
        if (insn.dst.kind !== "reg") break;
        const v = regs.get(insn.dst.reg);
        // The first add moves past a cookie; a constructor loop's step adds an element size:
        // either way the elements start at a displacement the caller checks against sizeof.
        if (v?.k === "new" && insn.wide)
          regs.set(insn.dst.reg, { k: "new", disp: v.disp + insn.value, indexed: v.indexed });
        else regs.delete(insn.dst.reg);
        break;
      }
      case "zero":
        regs.delete(insn.dst);
        break;
      case "add":
        regs.delete(insn.dst);
        break;
      case "other":
        for (const r of insn.regs) regs.delete(r);
        break;
      case "call": {
        const self = regs.get(RDI);
        if (insn.target !== undefined && self?.k === "new")
          out.thisCalls.push({ target: insn.target, disp: self.disp, indexed: self.indexed });
        for (const r of CALLER_SAVED) regs.delete(r);
        break;
      }
      case "leave":
        regs.delete(RBP);
        break;
    }
    if (cookieStored && [...regs.values(), ...slots.values()].some((v) => v.k === "new" && v.disp === 8))
      out.cookie = true;
    at += insn.len;
    pc += insn.len;
  }
  return out;
}
