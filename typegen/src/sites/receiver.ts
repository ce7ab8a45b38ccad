// The DWARF side of "what receives an allocation's result": the symbolic addresses and values
// the x86 walk produces (x86.ts) turned into types. A stack slot names a local or parameter
// (through its DW_OP_fbreg / DW_OP_bregN location; rbp is CFA - 16 under DW_OP_call_frame_cfa),
// a register names the variable whose location list puts it there at that pc, an absolute
// address names a global, and memory reached through a pointer is the member (or array
// element) at that offset of the pointer's pointee. The receiver is the pointer-typed object
// stored to; what it points to is the allocated type.

import { FunctionInfo, LocalVar, StaticVar, TypeId, TypeModel } from "../model/types";
import { CfaRules } from "./cfi";
import { Addr, Sym } from "./x86";

const DWARF_RBP = 6;
const DWARF_RSP = 7;
const MAX_DEPTH = 6;

/**
 * The fbreg offset of a stack slot at reg+disp, given the function's frame base at pc: under
 * DW_OP_call_frame_cfa, the CFA rule at pc (CFA = reg + N) when the frame information gives one,
 * else rbp = CFA - 16 (a frame pointer set up by `push %rbp; mov %rsp,%rbp`).
 */
function fbregOffset(
  fn: FunctionInfo,
  pc: number,
  reg: number,
  disp: number,
  cfa?: CfaRules,
): number | undefined {
  const fb = fn.frameBase.find((r) => r.lo <= pc && pc < r.hi) ?? fn.frameBase[0];
  if (!fb) return undefined;
  const l = fb.loc;
  if (l.kind === "cfa") {
    const rule = cfa?.at(pc);
    if (rule && rule.reg === reg) return disp - rule.offset;
    return reg === DWARF_RBP ? disp - 16 : undefined;
  }
  if (l.kind === "reg" && l.reg === reg) return disp;
  if (l.kind === "breg" && l.reg === reg) return disp - l.offset;
  return undefined;
}

/** The first of `vars` held in DWARF register `reg` at `pc` (no array or closure per call: the
 * walk asks several times per allocation call). */
function inRegister(vars: LocalVar[], reg: number, pc: number): LocalVar | undefined {
  for (let i = 0; i < vars.length; i++) {
    const v = vars[i];
    const locs = v.locations;
    for (let j = 0; j < locs.length; j++) {
      const r = locs[j];
      if (r.lo <= pc && pc < r.hi && r.loc.kind === "reg" && r.loc.reg === reg) return v;
    }
  }
  return undefined;
}

/** The first of `vars` whose location starts (or, unless `exact`, holds) at h.pc in one of h.regs. */
function holding(vars: LocalVar[], h: { pc: number; regs: number[] }, exact: boolean): LocalVar | undefined {
  // Indexed loops: the walks run mostly in baseline code, where `for...of` made an iterator
  // and a result object per element (~2 MB on PostgreSQL's backend).
  for (let i = 0; i < vars.length; i++) {
    const v = vars[i];
    const locs = v.locations;
    for (let j = 0; j < locs.length; j++) {
      const r = locs[j];
      if (
        (exact ? r.lo === h.pc : r.lo <= h.pc && h.pc < r.hi) &&
        r.loc.kind === "reg" &&
        h.regs.includes(r.loc.reg)
      )
        return v;
    }
  }
  return undefined;
}

/** A receiver: the pointer type stored to, and words for a report. */
export interface Receiver {
  type: TypeId;
  name: string;
  /** A variable of the function itself (a stack slot or a register), rather than memory. */
  local?: boolean;
}

export class ReceiverTyper {
  private readonly statics: StaticVar[];

  constructor(
    private readonly model: TypeModel,
    /** The binary's frame information, for rsp-relative slots in optimised code. */
    private readonly cfa?: CfaRules,
  ) {
    this.statics = model.statics.filter((s) => !s.tls).sort((a, b) => a.addr - b.addr);
  }

  /** The variable held in DWARF register `reg` at `pc`, per the location lists. */
  registerVariable(fn: FunctionInfo, reg: number, pc: number): LocalVar | undefined {
    return inRegister(fn.params, reg, pc) ?? inRegister(fn.locals, reg, pc);
  }

  /** A variable whose location starts (or, unless `exact`, holds) where the result is held. */
  heldVariable(
    fn: FunctionInfo,
    held: { pc: number; regs: number[] }[],
    exact: boolean,
  ): LocalVar | undefined {
    for (const h of held) {
      const v = holding(fn.locals, h, exact) ?? holding(fn.params, h, exact);
      if (v) return v;
    }
    return undefined;
  }

  /** The pointer-typed object stored to at `at` (at `pc` in `fn`): the receiver. */
  storeTarget(fn: FunctionInfo, at: Addr, pc: number): Receiver | undefined {
    return this.objectAt(fn, at, pc, 0);
  }

  /** The type of a symbolic value at `pc`, when it is a variable's or a loaded pointer's. */
  private symType(fn: FunctionInfo, s: Sym, pc: number, depth: number): TypeId | undefined {
    if (depth > MAX_DEPTH) return undefined;
    if (s.k === "entry")
      return (this.registerVariable(fn, s.reg, pc) ?? this.registerVariable(fn, s.reg, s.pc))?.type;
    if (s.k === "load") return this.objectAt(fn, s.at, pc, depth + 1)?.type;
    return undefined;
  }

  /** The pointer-typed object at a symbolic address. */
  private objectAt(fn: FunctionInfo, at: Addr, pc: number, depth: number): Receiver | undefined {
    const b = at.base;
    if (b.k === "abs") return this.staticAt(b.addr + at.disp, at.indexed);
    if (b.k === "entry" && (b.reg === DWARF_RBP || b.reg === DWARF_RSP)) {
      // rbp is a frame pointer unless a variable lives in it (optimised code uses it freely).
      if (!this.registerVariable(fn, b.reg, pc) && !this.registerVariable(fn, b.reg, b.pc))
        return this.stackAt(fn, b.reg, at.disp, at.indexed, pc);
    }
    const bt = this.symType(fn, b, pc, depth);
    const ptr = bt === undefined ? undefined : this.model.types[bt];
    if (ptr?.kind !== "pointer" || ptr.target === undefined) return undefined;
    const t = this.pointerAt(ptr.target, at.disp, at.indexed, 0);
    return t === undefined ? undefined : { type: t, name: this.describe(ptr.target, at) };
  }

  private describe(container: TypeId, at: Addr): string {
    const c = this.model.types[container]?.cName ?? "?";
    return at.indexed ? `an element of a ${c} array` : at.disp === 0 ? `*(${c} *)` : `${c} at +${at.disp}`;
  }

  /** The pointer-typed object at a stack slot: a local or parameter, or inside one (an array). */
  private stackAt(
    fn: FunctionInfo,
    reg: number,
    disp: number,
    indexed: boolean,
    pc: number,
  ): Receiver | undefined {
    const fbo = fbregOffset(fn, pc, reg, disp, this.cfa);
    // Where each variable starts, in the slot's own coordinates (fbreg or reg-relative).
    const start = (v: LocalVar, strict: boolean): number | undefined => {
      for (const r of v.locations) {
        if (strict && !(r.lo <= pc && pc < r.hi)) continue;
        if (r.loc.kind === "fbreg" && fbo !== undefined) return disp - (fbo - r.loc.offset);
        if (r.loc.kind === "breg" && r.loc.reg === reg) return r.loc.offset;
      }
      return undefined;
    };
    const vars = [...fn.locals, ...fn.params];
    for (const strict of [true, false]) {
      for (const v of vars)
        if (start(v, strict) === disp) {
          const t = this.pointerAt(v.type, 0, indexed, 0);
          if (t !== undefined) return { type: t, name: v.name, local: true };
        }
      for (const v of vars) {
        const s = start(v, strict);
        const size = this.model.types[v.type]?.byteSize;
        if (s === undefined || !size || disp < s || disp >= s + size) continue;
        const t = this.pointerAt(v.type, disp - s, indexed, 0);
        if (t !== undefined) return { type: t, name: `${v.name} at +${disp - s}`, local: true };
      }
    }
    return undefined;
  }

  /** The pointer-typed object at an absolute address: a global, or inside one. */
  private staticAt(addr: number, indexed: boolean): Receiver | undefined {
    const ss = this.statics;
    let lo = 0;
    let hi = ss.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (ss[mid].addr <= addr) lo = mid + 1;
      else hi = mid;
    }
    for (let i = lo - 1; i >= 0 && i >= lo - 4; i--) {
      const s = ss[i];
      const size = s.size ?? this.model.types[s.type]?.byteSize ?? 0;
      if (addr !== s.addr && addr >= s.addr + size) continue;
      const t = this.pointerAt(s.type, addr - s.addr, indexed, 0);
      if (t !== undefined)
        return { type: t, name: addr === s.addr ? s.name : `${s.name} at +${addr - s.addr}` };
    }
    return undefined;
  }

  /**
   * The pointer type at byte `off` of an object of type `t` (or, when `indexed`, of an array of
   * them): a pointer at offset 0, a struct's member, an array's element,
   * a union's first pointer member. Past the end of a struct whose last member is an array,
   * that array goes on (the C struct hack: `PyObject *ob_item[1]`).
   */
  pointerAt(t: TypeId, off: number, indexed: boolean, depth: number): TypeId | undefined {
    const ty = this.model.types[t];
    if (!ty || depth > 8) return undefined;
    const size = ty.byteSize ?? 0;
    if (ty.kind === "struct" && size && off >= size && !indexed) {
      const ms = ty.members ?? [];
      const last = ms[ms.length - 1];
      if (last && this.model.types[last.type]?.kind === "array" && off >= last.offset)
        return this.pointerAt(last.type, off - last.offset, true, depth + 1);
    }
    // An element of an array of them. A constant offset outside a struct is no member of it
    // (more often a cast to a bigger struct, as PyObject * to PyUnicodeObject *, than s[k].f);
    // outside a pointer or a scalar it is p[k].
    const aggregate = ty.kind === "struct" || ty.kind === "union";
    if (size && (indexed || (!aggregate && (off < 0 || off >= size)))) off = ((off % size) + size) % size;
    else if (off < 0 || (size && off >= size)) return undefined;
    switch (ty.kind) {
      case "pointer":
        return off === 0 ? t : undefined;
      case "array": {
        const es = ty.target === undefined ? 0 : (this.model.types[ty.target]?.byteSize ?? 0);
        return es && ty.target !== undefined
          ? this.pointerAt(ty.target, off % es, false, depth + 1)
          : undefined;
      }
      case "struct": {
        let best: { type: TypeId; offset: number } | undefined;
        for (const m of ty.members ?? []) {
          if (m.bitSize !== undefined || m.offset > off) continue;
          const ms = this.model.types[m.type]?.byteSize;
          if (ms !== null && ms !== undefined && off >= m.offset + ms) continue;
          if (!best || m.offset >= best.offset) best = m;
        }
        return best ? this.pointerAt(best.type, off - best.offset, false, depth + 1) : undefined;
      }
      case "union":
        for (const m of ty.members ?? []) {
          const r = this.pointerAt(m.type, off, false, depth + 1);
          if (r !== undefined) return r;
        }
        return undefined;
      default:
        return undefined;
    }
  }
}
