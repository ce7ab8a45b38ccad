// Allocation wrappers found in the code, with no declaration: a function that returns what an
// allocator returned (malloc and its family, a tail allocator of tails.ts, or another wrapper:
// found round by round up to a fixpoint), directly, through a local, after a NULL check that
// aborts or returns NULL, or past a constant header (wrapper-flow.ts). Its callers become the
// allocation sites. For each allocator call whose result a wrapper returns, the metadata gets a
// WRAPPER record carrying the wrapper's CFA offset at the call's return address (from
// .eh_frame: CFA = rsp + k), with which the runtime finds the wrapper's return address in one
// load, *(CFA at the allocator's entry + k - 8), instead of unwinding. Calls inside declared
// wrappers (LIBALLOCS_ALLOC_FNS) get the same records when their result is returned.

import { ElfFile, SectionHeader } from "../elf/elf-file";
import { FunctionInfo, TypeModel } from "../model/types";
import { AllocCall, allocTargets, execSections } from "./calls";
import { CfaRules } from "./cfi";
import { CodeFacts } from "./callsites";
import { AllocFn } from "./decls";
import { FunctionIndex } from "./fnindex";
import { SizeRule, ruleOf } from "./tails";
import { argsThroughSlots, returnedResult } from "./wrapper-flow";
import { Sym, argDwarfReg, argsAt, constantArg } from "./x86";

export interface Wrapper {
  fn: FunctionInfo;
  entry: number;
  /** Bytes the returned pointer is past the chunk's start (a header it writes); usually 0. */
  offset: number;
  size?: SizeRule;
}

/** A call whose result the function around it returns: the runtime steps over that frame. */
export interface WrapperCall {
  ret: number;
  /** The function's CFA minus rsp at `ret`; 0 when the CFA is not rsp-based there. */
  cfaOffset: number;
}

const ARG_DWARF = [0, 1, 2, 3, 4, 5].map((i) => argDwarfReg(i) as number);
const DWARF_RSP = 7;
const DWARF_RBP = 6;

/**
 * How far below the CFA rsp is in the body of a function with the usual frame-pointer prologue
 * (`[endbr64] push %rbp; mov %rsp,%rbp; [push %reg]...; [sub $N,%rsp]`, what gcc and clang emit
 * at -O0, which keep rsp fixed after it around calls with register arguments); undefined for any
 * other prologue.
 */
export function prologueDepth(code: Buffer, o: number): number | undefined {
  const at = (i: number): number | undefined => (o + i < code.length ? code[o + i] : undefined);
  let i = 0;
  if (at(0) === 0xf3 && at(1) === 0x0f && at(2) === 0x1e && at(3) === 0xfa) i = 4; // endbr64
  if (at(i) !== 0x55) return undefined; // push %rbp
  i++;
  if (!(at(i) === 0x48 && at(i + 1) === 0x89 && at(i + 2) === 0xe5)) return undefined; // mov %rsp,%rbp
  i += 3;
  let depth = 16;
  for (let n = 0; n < 6; n++) {
    const b = at(i);
    if (b !== undefined && b >= 0x50 && b <= 0x57 && b !== 0x54 && b !== 0x55) {
      depth += 8; // push %rbx etc.
      i++;
    } else if (b === 0x41 && (at(i + 1) ?? 0) >= 0x50 && (at(i + 1) ?? 0) <= 0x57) {
      depth += 8; // push %r8-%r15
      i += 2;
    } else break;
  }
  if (at(i) === 0x48 && at(i + 1) === 0x83 && at(i + 2) === 0xec)
    depth += at(i + 3) ?? 0; // sub $imm8
  else if (at(i) === 0x48 && at(i + 1) === 0x81 && at(i + 2) === 0xec && o + i + 7 <= code.length)
    depth += code.readUInt32LE(o + i + 3); // sub $imm32
  return depth % 8 === 0 ? depth : undefined;
}
/** libc functions returning their first argument. */
const PASS_FIRST_ARG = new Set(["memset", "memcpy", "memmove", "strcpy", "strcat", "strncpy"]);

export class WrapperFinder {
  /** Wrappers found, by entry address. */
  readonly wrappers = new Map<number, Wrapper>();
  /** Calls whose result is returned, by return address. */
  readonly calls = new Map<number, WrapperCall>();
  private readonly checked = new Set<number>();
  private readonly cfa: CfaRules;
  private readonly passFirstArg: Set<number>;

  constructor(
    private readonly model: TypeModel,
    private readonly elf: ElfFile,
    /** Allocation functions; found wrappers are added (their callers' size rules need them). */
    private readonly fns: Map<string, AllocFn>,
    private readonly functions: FunctionIndex,
    private readonly facts: CodeFacts,
    private readonly entryOf: (fn: FunctionInfo) => number,
    /** Size rules of the tail allocators, by entry. */
    private readonly tailRule: (target: number) => SizeRule | undefined,
  ) {
    this.cfa = CfaRules.of(elf);
    this.passFirstArg = new Set(allocTargets(elf, PASS_FIRST_ARG).code.keys());
  }

  /** Looks at every call not looked at before; true when a new wrapper was found. */
  scan(branches: AllocCall[]): boolean {
    let grew = false;
    for (const b of branches) {
      if (b.tail || b.approx || this.checked.has(b.ret)) continue;
      this.checked.add(b.ret);
      const f = this.functions.at(b.call);
      // A void function may leave the result in rax (`s->next = malloc(...)` then ret): only a
      // function returning a pointer can return it.
      if (!f || f.name === "main" || !this.returnsPointer(f)) continue;
      const sec = this.sectionAt(b.ret);
      if (!sec) continue;
      const code = this.elf.data(sec);
      const r = returnedResult(code, b.ret - sec.addr, b.ret, this.passFirstArg);
      if (!r) continue;
      const rule = this.cfa.at(b.ret);
      const name = f.name.split(".")[0];
      const entry = this.entryOf(f);
      let k = rule?.reg === DWARF_RSP ? rule.offset : 0;
      // A frame pointer (-O0): CFA = rbp + 16, and rsp sits a fixed distance below rbp.
      if (rule?.reg === DWARF_RBP && rule.offset === 16 && entry >= sec.addr)
        k = prologueDepth(code, entry - sec.addr) ?? 0;
      this.calls.set(b.ret, { ret: b.ret, cfaOffset: k });
      if (this.fns.has(name) || this.wrappers.has(entry) || b.target === entry) continue;
      const w: Wrapper = { fn: f, entry, offset: r.offset };
      const size = this.rule(b, entry, sec, code);
      if (size) w.size = size;
      this.wrappers.set(entry, w);
      this.fns.set(name, {
        name,
        sizeArgs: size?.args ?? [],
        factor: size?.factor,
        wrapper: false,
        found: true,
        offset: r.offset,
      });
      grew = true;
    }
    return grew;
  }

  /** Typedefs and qualifiers are resolved away in the model. */
  private returnsPointer(f: FunctionInfo): boolean {
    const t = this.model.types[f.type]?.returns;
    return t !== undefined && this.model.types[t]?.kind === "pointer";
  }

  private sectionAt(pc: number): SectionHeader | undefined {
    return execSections(this.elf).find((s) => pc >= s.addr && pc < s.addr + s.size);
  }

  /** How the size the wrapper allocates follows from its own arguments. */
  private rule(call: AllocCall, entry: number, sec: SectionHeader, code: Buffer): SizeRule | undefined {
    const inner = call.target !== undefined ? this.tailRule(call.target) : undefined;
    const g = inner ?? ruleOf(this.fns.get(call.callee));
    if (!g) return undefined;
    const site = this.facts.callSites.get(call.ret);
    const params = site && this.facts.params(site);
    const syms =
      entry >= sec.addr
        ? (argsThroughSlots(code, entry - sec.addr, call.call - sec.addr, entry) ??
          argsAt(code, entry - sec.addr, call.call - sec.addr, entry))
        : undefined;
    const out: SizeRule = { args: [], factor: g.factor };
    const entryReg = (s: Sym | undefined): number | undefined => {
      if (s?.k === "entry" && s.pc === entry) return s.reg;
      // n + H (a header): the size argument is still the caller's n.
      if (s?.k === "addr" && !s.at.indexed && s.at.base.k === "entry" && s.at.base.pc === entry)
        return s.at.base.reg;
      return undefined;
    };
    for (const i of g.args) {
      const v = params?.get(ARG_DWARF[i]);
      const s = syms?.[i];
      let c: number | undefined;
      let reg: number | undefined;
      if (v?.k === "const") c = v.v;
      else if (v?.k === "entry") reg = v.reg;
      else if (s?.k === "const") c = s.v;
      else if ((reg = entryReg(s)) === undefined) c = constantArg(code, call.call - sec.addr, i);
      if (c !== undefined) out.factor *= c;
      else if (reg !== undefined && ARG_DWARF.includes(reg)) out.args.push(ARG_DWARF.indexOf(reg));
      else return undefined;
    }
    return out;
  }
}
