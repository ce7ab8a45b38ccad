// Where each of a function's variables lives relative to the CFA, per PC range: what a FRAME
// type's members and a function's FRAME_VAR records are made from.

import { FunctionInfo, LocatedRange, TypeId } from "../model/types";
import { LazyFunction } from "../model/lazy-locations";

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
  const one = (name: () => string, type: TypeId, param: boolean, locations: LocatedRange[]): void => {
    const add = (lo: number, hi: number, cfaOffset: number): void => {
      if (hi > lo) out.push({ pcLo: lo, pcHi: hi, cfaOffset, name: name(), type, param });
    };
    const fromRsp = (lo: number, hi: number, off: number): void => {
      segments ??= cfa ? cfa(f.lowPc) : [];
      for (const s of segments)
        if (s.rule?.reg === DWARF_RSP) add(Math.max(lo, s.lo), Math.min(hi, s.hi), off - s.rule.offset);
    };
    for (const r of locations) {
      if (r.loc.kind === "fbreg") {
        const off = r.loc.offset;
        frameBase ??= lazy ? lazy.frameBaseOnce() : f.frameBase;
        for (const fb of frameBase) {
          const lo = Math.max(r.lo, fb.lo);
          const hi = Math.min(r.hi, fb.hi);
          if (fb.loc.kind === "reg" && fb.loc.reg === DWARF_RSP) {
            fromRsp(lo, hi, off);
            continue;
          }
          const base = frameBaseOffset(fb.loc);
          if (base === null) continue;
          add(lo, hi, base + off);
        }
      } else if (r.loc.kind === "breg" && r.loc.reg === DWARF_RBP) {
        add(r.lo, r.hi, RBP_FROM_CFA + r.loc.offset);
      } else if (r.loc.kind === "breg" && r.loc.reg === DWARF_RSP) {
        fromRsp(r.lo, r.hi, r.loc.offset);
      }
    }
  };
  if (lazy) lazy.forEachVar(one);
  else for (const v of [...f.params, ...f.locals]) one(() => v.name, v.type, v.isParam, v.locations);
  return out;
}
