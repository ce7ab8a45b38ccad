// Which function's code holds a pc. The model gives each function its lowest and highest
// address only; a function split into a hot part and a far-away `.cold` part (DW_AT_ranges)
// would then seem to cover every function in between, so its exact ranges (read with the call
// sites, callsites.ts) replace that span when known. Intervals are searched by address; where
// they still overlap, the innermost (latest-starting) one that contains the pc wins.

import { Range } from "../dwarf/ranges";
import { FunctionInfo } from "../model/types";
import { stableOrderBy } from "./sort-order";

/** How far back to look past intervals that end before the pc (overlapping spans are rare). */
const BACKTRACK = 64;

export class FunctionIndex {
  /** The intervals, by lo, then by hi from the highest (ties in the functions' order): columns,
   * as a large program has ~10^4 functions (an object each, sorted with a comparator, was most
   * of building the index). */
  private readonly ivLo: Float64Array;
  private readonly ivHi: Float64Array;
  private readonly ivFn: FunctionInfo[];

  constructor(functions: readonly FunctionInfo[], ranges: Map<number, Range[]> = new Map()) {
    let n = 0;
    for (let i = 0; i < functions.length; i++) {
      const fn = functions[i];
      if (fn.highPc <= fn.lowPc) continue;
      const rs = ranges.get(fn.lowPc);
      n += rs && rs.length > 1 ? rs.length : 1;
    }
    const lo = new Float64Array(n);
    const hi = new Float64Array(n);
    const fns = new Array<FunctionInfo>(n);
    let m = 0;
    for (let i = 0; i < functions.length; i++) {
      const fn = functions[i];
      if (fn.highPc <= fn.lowPc) continue;
      const rs = ranges.get(fn.lowPc);
      if (rs && rs.length > 1)
        for (let j = 0; j < rs.length; j++) {
          lo[m] = rs[j][0];
          hi[m] = rs[j][1];
          fns[m++] = fn;
        }
      else {
        lo[m] = fn.lowPc;
        hi[m] = fn.highPc;
        fns[m++] = fn;
      }
    }
    // Two stable sorts: by hi from the highest, then by lo.
    const negHi = new Float64Array(n);
    for (let i = 0; i < n; i++) negHi[i] = -hi[i];
    const byHi = stableOrderBy(negHi);
    const loByHi = new Float64Array(n);
    for (let j = 0; j < n; j++) loByHi[j] = lo[byHi[j]];
    const byLo = stableOrderBy(loByHi);
    this.ivLo = new Float64Array(n);
    this.ivHi = new Float64Array(n);
    this.ivFn = new Array<FunctionInfo>(n);
    for (let j = 0; j < n; j++) {
      const k = byHi[byLo[j]];
      this.ivLo[j] = lo[k];
      this.ivHi[j] = hi[k];
      this.ivFn[j] = fns[k];
    }
  }

  /** The function whose code contains `pc`. */
  at(pc: number): FunctionInfo | undefined {
    const ivLo = this.ivLo;
    let lo = 0;
    let hi = ivLo.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (ivLo[mid] <= pc) lo = mid + 1;
      else hi = mid;
    }
    for (let i = lo - 1; i >= 0 && i >= lo - BACKTRACK; i--) if (pc < this.ivHi[i]) return this.ivFn[i];
    return undefined;
  }
}
