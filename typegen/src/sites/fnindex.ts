// Which function's code holds a pc. The model gives each function its lowest and highest
// address only; a function split into a hot part and a far-away `.cold` part (DW_AT_ranges)
// would then seem to cover every function in between, so its exact ranges (read with the call
// sites, callsites.ts) replace that span when known. Intervals are searched by address; where
// they still overlap, the innermost (latest-starting) one that contains the pc wins.

import { Range } from "../dwarf/ranges";
import { FunctionInfo } from "../model/types";

interface Interval {
  lo: number;
  hi: number;
  fn: FunctionInfo;
}

/** How far back to look past intervals that end before the pc (overlapping spans are rare). */
const BACKTRACK = 64;

export class FunctionIndex {
  private readonly iv: Interval[] = [];

  constructor(functions: readonly FunctionInfo[], ranges: Map<number, Range[]> = new Map()) {
    for (const fn of functions) {
      if (fn.highPc <= fn.lowPc) continue;
      const rs = ranges.get(fn.lowPc);
      if (rs && rs.length > 1) for (const [lo, hi] of rs) this.iv.push({ lo, hi, fn });
      else this.iv.push({ lo: fn.lowPc, hi: fn.highPc, fn });
    }
    this.iv.sort((a, b) => a.lo - b.lo || b.hi - a.hi);
  }

  /** The function whose code contains `pc`. */
  at(pc: number): FunctionInfo | undefined {
    const iv = this.iv;
    let lo = 0;
    let hi = iv.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (iv[mid].lo <= pc) lo = mid + 1;
      else hi = mid;
    }
    for (let i = lo - 1; i >= 0 && i >= lo - BACKTRACK; i--) if (pc < iv[i].hi) return iv[i].fn;
    return undefined;
  }
}
