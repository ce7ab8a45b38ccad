// Does a function return what the allocator it calls returned? Followed through the x86-64 code
// from the call's return address (the symbolic walk of x86.ts), along every path (both ways at
// a conditional jump: the NULL check before an abort, or before `return NULL`), through the
// registers, the local stack slots it is saved to and reloaded from (-O0), and a constant
// added to it (`p = malloc(n + H); return p + H`, a header). The function is an allocation
// wrapper when some path returns the result, and every path that returns it returns it at the
// same offset, and no path stores the pointer anywhere but the stack or the new chunk itself.
// Bytes this decoder does not know end a path, never throw.

import { decodeCached, RAX, RBP, RSP } from "./x86-decode";
import { Addr, State, Sym, addressOf, apply, initial } from "./x86";

/** x86 numbering: rax, rcx, rdx, rsi, rdi, r8-r11. */
const CALLER_SAVED = [0, 1, 2, 6, 7, 8, 9, 10, 11];
/** Instructions followed over all paths, and paths, at most. */
const MAX_INSNS = 160;
const MAX_PATHS = 12;

export interface ReturnedResult {
  /** Bytes the returned pointer is past the allocation's start (a header); usually 0. */
  offset: number;
}

interface Path {
  at: number;
  pc: number;
  st: State;
  /** Stack slots (by their rbp- or rsp-relative key) and what they hold. */
  slots: Map<number, Sym>;
}

/** The result's offset in a symbolic value: 0 for the result, d for result + d, else undefined. */
function resultOffset(v: Sym): number | undefined {
  if (v.k === "result") return 0;
  if (v.k === "addr" && v.at.base.k === "result" && !v.at.indexed) return v.at.disp;
  return undefined;
}

/** A stack slot's key when `a` addresses one (relative to the entry rbp or rsp): a number (a
 * string made per stored or loaded word was most of a walk's own cost). */
function slotKey(a: Addr): number | undefined {
  const b = a.base;
  if (b.k !== "entry" || a.indexed) return undefined;
  if (b.reg === 6 /* DWARF rbp */) return a.disp * 4 + 1;
  if (b.reg === 7 /* DWARF rsp */) return a.disp * 4 + 2;
  return undefined;
}

/**
 * Whether the code after a call whose return address is at `code[off]` (virtual address
 * `vaddr`) returns the call's result; undefined when no path does, or paths disagree.
 */
export function returnedResult(
  code: Buffer,
  off: number,
  vaddr: number,
  /** Call targets that return their first argument (memset, memcpy...: `return memset(p, ...)`). */
  passFirstArg: ReadonlySet<number> = new Set(),
  /** Follow on past a store of the pointer elsewhere (only whether it is returned matters). */
  o: { escapes?: boolean; escaped?: boolean } = {},
): ReturnedResult | undefined {
  const st0 = initial(vaddr);
  for (const r of CALLER_SAVED) st0[r] = { k: "unknown" };
  st0[RAX] = { k: "result" };
  const work: Path[] = [{ at: off, pc: vaddr, st: st0, slots: new Map() }];
  const seen = new Set<number>();
  let paths = 1;
  let budget = MAX_INSNS;
  const offsets = new Set<number>();
  while (work.length && budget > 0) {
    const p = work.pop()!;
    for (; budget > 0 && p.at >= 0 && p.at < code.length; budget--) {
      const insn = decodeCached(code, p.at, p.pc);
      if (!insn || insn.op === "stop") break;
      if (insn.op === "ret") {
        const o = resultOffset(p.st[RAX]);
        if (o !== undefined) offsets.add(o);
        break;
      }
      if (insn.op === "jmp") {
        if (insn.target === undefined) break; // indirect, or a tail call out of reach
        const to = p.at + (insn.target - p.pc);
        if (to < 0 || to >= code.length) break;
        if (insn.cond) {
          if (!seen.has(insn.target) && paths < MAX_PATHS) {
            seen.add(insn.target);
            paths++;
            work.push({ at: to, pc: insn.target, st: [...p.st], slots: new Map(p.slots) });
          }
          p.at += insn.len;
          p.pc += insn.len;
          continue;
        }
        if (seen.has(insn.target)) break; // a loop: its other way is followed already
        seen.add(insn.target);
        p.at = to;
        p.pc = insn.target;
        continue;
      }
      if (insn.op === "mov" && insn.wide && insn.dst.kind === "mem" && insn.src.kind === "reg") {
        const to = addressOf(p.st, insn.dst.mem);
        const k = slotKey(to);
        const v = p.st[insn.src.reg];
        if (k !== undefined) p.slots.set(k, v);
        // The pointer kept somewhere else (`table[i] = p = malloc(...)`): a registry or a
        // get-or-create, whose own line is the better site; not a wrapper.
        else if (resultOffset(v) !== undefined && resultOffset({ k: "addr", at: to }) === undefined) {
          if (!o.escapes) return undefined;
          o.escaped = true;
        }
      } else if (insn.op === "mov" && insn.wide && insn.dst.kind === "reg" && insn.src.kind === "mem") {
        const k = slotKey(addressOf(p.st, insn.src.mem));
        const v = k !== undefined ? p.slots.get(k) : undefined;
        if (v && insn.dst.reg !== RSP) {
          p.st[insn.dst.reg] = v;
          p.at += insn.len;
          p.pc += insn.len;
          continue;
        }
      }
      if (insn.op === "leave") {
        // rsp = rbp; pop rbp: slots keyed by rsp no longer mean the same; rbp's are gone.
        p.slots.clear();
      }
      const first = p.st[7]; // rdi
      apply(p.st, insn);
      if (insn.op === "call" && insn.target !== undefined && passFirstArg.has(insn.target)) p.st[RAX] = first;
      if (insn.op === "other" && insn.regs.includes(RBP)) p.slots.clear();
      p.at += insn.len;
      p.pc += insn.len;
    }
  }
  // `if (!h) return NULL; ... return h + 1;`: the NULL path returns the result unchanged.
  if (offsets.size === 2 && offsets.has(0)) offsets.delete(0);
  return offsets.size === 1 ? { offset: [...offsets][0] } : undefined;
}

/** The argument registers' values at the call at code[callOff], decoded from code[from]
 * (virtual address `fromPc`, a function's entry) through straight-line code, following values
 * through the stack slots they are spilled to and reloaded from (-O0 keeps every argument in
 * its slot); undefined when the code in between is not straight-line code this decoder knows. */
export function argsThroughSlots(
  code: Buffer,
  from: number,
  callOff: number,
  fromPc: number,
): Sym[] | undefined {
  if (from > callOff || callOff - from >= 512) return undefined;
  const st = initial(fromPc);
  const slots = new Map<number, Sym>();
  let o = from;
  let pc = fromPc;
  for (let n = 0; o < callOff && n < 96; n++) {
    const insn = decodeCached(code, o, pc);
    if (!insn || insn.op === "jmp" || insn.op === "ret" || insn.op === "stop") return undefined;
    let done = false;
    if (insn.op === "mov" && insn.wide && insn.dst.kind === "mem" && insn.src.kind === "reg") {
      const k = slotKey(addressOf(st, insn.dst.mem));
      if (k !== undefined) slots.set(k, st[insn.src.reg]);
    } else if (insn.op === "mov" && insn.wide && insn.dst.kind === "reg" && insn.src.kind === "mem") {
      const k = slotKey(addressOf(st, insn.src.mem));
      const v = k !== undefined ? slots.get(k) : undefined;
      if (v && insn.dst.reg !== RSP) {
        st[insn.dst.reg] = v;
        done = true;
      }
    }
    if (!done) apply(st, insn);
    o += insn.len;
    pc += insn.len;
  }
  return o === callOff ? [7, 6, 2, 1, 8, 9].map((r) => st[r]) : undefined;
}
