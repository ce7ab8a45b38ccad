// Where each of a function's variables lives relative to the CFA, per PC range: what a FRAME
// type's members and a function's FRAME_VAR records are made from.

import { FunctionInfo, LocatedRange, TypeId } from "../model/types";
import { LazyFunction } from "../model/lazy-locations";
import { Location } from "../dwarf/expr";

/** x86-64 with a frame pointer: after `push %rbp; mov %rsp,%rbp`, rbp = CFA - 16. */
const RBP_FROM_CFA = -16;
const DWARF_RBP = 6;
const DWARF_RSP = 7;

/** The CFA rule over each stretch of the function holding a pc (CfaRules.segments). */
export type CfaSegments = (
  pc: number,
) => { lo: number; hi: number; rule: { reg: number; offset: number } | undefined }[];

export interface FrameVarOut {
  pcLo: number;
  pcHi: number;
  cfaOffset: number;
  name: string;
  type: TypeId;
  param: boolean;
}

/** The CFA-relative offset of a frame base location, or null when it is not expressible. */
function frameBaseOffset(loc: FunctionInfo["frameBase"][number]["loc"]): number | null {
  if (loc.kind === "cfa") return 0;
  if (loc.kind === "reg" && loc.reg === DWARF_RBP) return RBP_FROM_CFA;
  if (loc.kind === "breg" && loc.reg === DWARF_RBP) return RBP_FROM_CFA + loc.offset;
  return null;
}

/** Where each of a function's variables lives relative to the CFA, per PC range. An
 * rsp-relative location (clang's frame base without a frame pointer) is placed through the CFA
 * rule over its range, where that rule is "CFA = rsp + N". */
export function frameVars(f: FunctionInfo, cfa?: CfaSegments): FrameVarOut[] {
  const out: FrameVarOut[] = [];
  const lazy = f instanceof LazyFunction ? f : undefined;
  // Decoded only when a variable is frame-base relative, as before (a malformed one fails then).
  let frameBase: LocatedRange[] | undefined;
  let segments: ReturnType<CfaSegments> | undefined;
  // The variable whose ranges `range` is handed (its name decoded only when it has a slot).
  let name: () => string = () => "";
  let type: TypeId = 0;
  let param = false;
  const begin = (n: () => string, t: TypeId, p: boolean): void => {
    name = n;
    type = t;
    param = p;
  };
  const add = (lo: number, hi: number, cfaOffset: number): void => {
    if (hi > lo) out.push({ pcLo: lo, pcHi: hi, cfaOffset, name: name(), type, param });
  };
  const fromRsp = (lo: number, hi: number, off: number): void => {
    segments ??= cfa ? cfa(f.lowPc) : [];
    for (const s of segments)
      if (s.rule?.reg === DWARF_RSP) add(Math.max(lo, s.lo), Math.min(hi, s.hi), off - s.rule.offset);
  };
  const range = (rLo: number, rHi: number, loc: Location): void => {
    if (loc.kind === "fbreg") {
      const off = loc.offset;
      frameBase ??= lazy ? lazy.frameBaseOnce() : f.frameBase;
      for (const fb of frameBase) {
        const lo = Math.max(rLo, fb.lo);
        const hi = Math.min(rHi, fb.hi);
        if (fb.loc.kind === "reg" && fb.loc.reg === DWARF_RSP) {
          fromRsp(lo, hi, off);
          continue;
        }
        const base = frameBaseOffset(fb.loc);
        if (base === null) continue;
        add(lo, hi, base + off);
      }
    } else if (loc.kind === "breg" && loc.reg === DWARF_RBP) {
      add(rLo, rHi, RBP_FROM_CFA + loc.offset);
    } else if (loc.kind === "breg" && loc.reg === DWARF_RSP) {
      fromRsp(rLo, rHi, loc.offset);
    }
  };
  if (lazy) lazy.forEachVar(begin, range);
  else
    for (const v of [...f.params, ...f.locals]) {
      begin(() => v.name, v.type, v.isParam);
      for (const r of v.locations) range(r.lo, r.hi, r.loc);
    }
  return out;
}
