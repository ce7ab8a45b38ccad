// Tail calls into allocators. Optimised, `return malloc(n);` is `jmp malloc`: no return address
// is pushed, so the pc the runtime records for the chunk is the one after the *caller's* call of
// the jumping function. Such a function is an allocator in its own right (an undeclared
// wrapper): each of its calls is a site. It is found by the jumps (calls.ts scans `jmp rel32`,
// `jcc rel32` and `jmp *GOT`; gcc's DW_TAG_call_site with DW_AT_call_tail_call also marks them,
// including short `jmp rel8` and indirect jumps), repeatedly, since a function jumping to such a
// wrapper is one too. How its size argument maps to its own arguments comes from the jump's call site
// parameters (a constant, or DW_OP_entry_value of one of its argument registers) or from
// decoding its code from the entry to the jump.

import { ElfFile } from "../elf/elf-file";
import { FunctionInfo } from "../model/types";
import { AllocCall, AllocTargets, execSections, scanBranches } from "./calls";
import { CodeFacts, DwarfCallSite } from "./callsites";
import { AllocFn } from "./decls";
import { FunctionIndex } from "./fnindex";
import { argDwarfReg, argsAt, constantArg } from "./x86";

/** An allocation's size: `factor` times the product of the arguments at indices `args`. */
export interface SizeRule {
  args: number[];
  factor: number;
}

export interface TailAllocator {
  fn: FunctionInfo;
  /** Its entry: where its callers' calls go. */
  entry: number;
  /** The jump into the allocator. */
  jump: AllocCall;
  /** What the jump goes to: an allocation function's name, or another tail allocator's. */
  to: string;
  size?: SizeRule;
}

export interface TailScan {
  tails: Map<number, TailAllocator>;
  /** Every call and jump to an allocator or a tail allocator, from the last scan. */
  branches: AllocCall[];
}

/** At most this many rounds of "a function jumping to a tail allocator is one". */
const MAX_ROUNDS = 6;

export function ruleOf(fn: AllocFn | undefined): SizeRule | undefined {
  if (!fn) return undefined;
  // A found wrapper allocating a constant size has no size arguments, only a factor.
  if (fn.sizeArgs.length || fn.factor !== undefined) return { args: fn.sizeArgs, factor: fn.factor ?? 1 };
  return undefined;
}

/** Where the `jmp rel8` ending at `ret` goes, or -1 when the two bytes before it are none. */
function shortJumpTarget(elf: ElfFile, secs: ReturnType<typeof execSections>, ret: number): number {
  const sec = secs.find((s) => ret - 2 >= s.addr && ret <= s.addr + s.size);
  if (!sec) return -1;
  const code = elf.data(sec);
  const o = ret - 2 - sec.addr;
  if (code[o] !== 0xeb) return -1;
  return ret + code.readInt8(o + 1);
}

/** The DWARF register of each argument position (rdi, rsi, rdx, rcx, r8, r9). */
const ARG_DWARF = [0, 1, 2, 3, 4, 5].map((i) => argDwarfReg(i) as number);

export class TailFinder {
  private readonly tails = new Map<number, TailAllocator>();
  /** The call site DIEs of tail calls, in the order of facts.callSites (read once: find() runs
   * round after round). */
  private tailList?: DwarfCallSite[];
  /** For each of `tailList`: where the `jmp rel8` ending at its return address goes, or -1
   * (decoded once: find() asks round after round). */
  private shortTargets?: number[];

  constructor(
    private readonly elf: ElfFile,
    private readonly fns: Map<string, AllocFn>,
    private readonly functions: FunctionIndex,
    private readonly facts: CodeFacts,
    /** Entry address of a function (its first range's start when split). */
    private readonly entryOf: (fn: FunctionInfo) => number,
  ) {}

  find(base: AllocTargets): TailScan {
    const targets: AllocTargets = { code: new Map(base.code), got: base.got };
    // Called again (wrappers.ts found more targets): the tail allocators found before stay targets.
    for (const [entry, t] of this.tails) targets.code.set(entry, t.fn.name);
    let branches: AllocCall[] = [];
    for (let round = 0; round < MAX_ROUNDS; round++) {
      branches = scanBranches(this.elf, targets, true);
      const seen = new Set(branches.map((b) => b.ret));
      // Tail calls the byte scan does not see (a short jmp, an indirect one): gcc marks them.
      const tailSites = this.tailSites();
      for (let i = 0; i < tailSites.length; i++) {
        const cs = tailSites[i];
        const ret = cs.ret;
        if (seen.has(ret)) continue;
        const short = this.shortJump(ret, this.shortTargets![i], targets);
        if (short) branches.push(short);
        else if (cs.callee && this.fns.has(cs.callee))
          branches.push({ call: ret - 1, ret, callee: cs.callee, tail: true, approx: true });
      }
      let grew = false;
      for (const b of branches) {
        if (!b.tail) continue;
        const f = this.functions.at(b.call);
        if (!f || this.fns.has(f.name.split(".")[0])) continue; // an allocator or declared wrapper
        const entry = this.entryOf(f);
        if (this.tails.has(entry) || b.target === entry) continue;
        const t: TailAllocator = { fn: f, entry, jump: b, to: b.callee };
        const size = this.rule(b, entry);
        if (size) t.size = size;
        this.tails.set(entry, t);
        targets.code.set(entry, f.name);
        grew = true;
      }
      if (!grew) break;
    }
    return { tails: this.tails, branches };
  }

  private tailSites(): DwarfCallSite[] {
    if (!this.tailList) {
      // Keyed by their own return address (callsites.ts), so cs.ret is the map's key.
      this.tailList = this.facts.callSites.tailSites();
      const secs = execSections(this.elf);
      this.shortTargets = this.tailList.map((cs) => shortJumpTarget(this.elf, secs, cs.ret));
    }
    return this.tailList;
  }

  /** The `jmp rel8` ending at `ret` (a call site DIE says a tail call ends there; `to` is where
   * it goes, -1 for no such jump), when it goes to one of the targets. Not scanned for: a 2-byte
   * pattern matches too much by chance. */
  private shortJump(ret: number, to: number, targets: AllocTargets): AllocCall | undefined {
    if (to < 0) return undefined;
    const callee = targets.code.get(to);
    return callee ? { call: ret - 2, ret, callee, target: to, tail: true } : undefined;
  }

  /** How the size of what `jump` allocates follows from the arguments of the function it ends
   * (whose entry is `entry`). */
  private rule(jump: AllocCall, entry: number): SizeRule | undefined {
    const inner = jump.target !== undefined ? this.tails.get(jump.target) : undefined;
    const g = inner ? inner.size : ruleOf(this.fns.get(jump.callee));
    if (!g) return undefined;
    const site = this.facts.callSites.get(jump.ret);
    const params = site && this.facts.params(site);
    const sec = execSections(this.elf).find((s) => jump.call >= s.addr && jump.call < s.addr + s.size);
    const code = sec ? this.elf.data(sec) : undefined;
    const syms =
      code && sec && entry >= sec.addr && !jump.approx
        ? argsAt(code, entry - sec.addr, jump.call - sec.addr, entry)
        : undefined;
    const out: SizeRule = { args: [], factor: g.factor };
    for (const i of g.args) {
      const v = params?.get(ARG_DWARF[i]);
      const s = syms?.[i];
      let c: number | undefined;
      let reg: number | undefined;
      if (v?.k === "const") c = v.v;
      else if (v?.k === "entry") reg = v.reg;
      else if (s?.k === "const") c = s.v;
      else if (s?.k === "entry" && s.pc === entry) reg = s.reg;
      else if (code && sec && !jump.approx) c = constantArg(code, jump.call - sec.addr, i);
      if (c !== undefined) out.factor *= c;
      else if (reg !== undefined && ARG_DWARF.includes(reg)) out.args.push(ARG_DWARF.indexOf(reg));
      else return undefined;
    }
    return out;
  }
}
