// Allocation sites inside inlined wrappers. When the compiler inlines an allocation wrapper
// (`static inline void *xmalloc(size_t n) { ... malloc(n) ... }`), the allocating call is in
// the caller's code, but the line table gives the wrapper's own line. The site a person wants
// is the line where the caller called the wrapper: DW_AT_call_line of the
// DW_TAG_inlined_subroutine holding the call (callsites.ts reads them). Wrappers inlined into
// wrappers are stepped over to the outermost one's call line. An inlined function counts as a
// wrapper when it is an allocation function (declared, or found in the code by wrappers.ts),
// or when it returns a pointer and has no out-of-line copy to check.
//
// The metadata gets the line as the INLINED flag's argument, with how many inlined function
// blocks to step out of (from the innermost) to reach the function the line belongs to, for a
// reader that asks its debugger for that function's name and file (docs/metadata-format.md).

import { InlinedCall } from "./callsites";
import { stableOrderBy } from "./sort-order";

/** Bits of the INLINED argument holding the line; above them, the blocks to step out of. */
export const INLINED_LINE_BITS = 20;

/** How far back to look past intervals that end before the pc. */
const BACKTRACK = 64;

export class InlinedSites {
  /** The code intervals of the inlined calls, by lo (ties in reading order): columns, as a
   * large program has ~10^5 (an object each, sorted with a comparator, was ~40 ms). */
  private readonly ivLo: Float64Array;
  private readonly ivHi: Float64Array;
  /** The interval's inlined call (an index into `calls`). */
  private readonly ivIdx: Int32Array;
  private readonly depth: Int32Array;

  constructor(
    private readonly calls: InlinedCall[],
    /** Whether the named function is an allocation wrapper. */
    private readonly isWrapper: (c: InlinedCall) => boolean,
  ) {
    const depth = new Int32Array(calls.length);
    // Indexed loops, no destructuring: this runs once, mostly before V8 compiles it, and
    // baseline code made an iterator and a result object per range.
    let count = 0;
    for (let i = 0; i < calls.length; i++) count += calls[i].ranges.length;
    const lo = new Float64Array(count);
    const hi = new Float64Array(count);
    const idx = new Int32Array(count);
    let m = 0;
    for (let i = 0; i < calls.length; i++) {
      const c = calls[i];
      depth[i] = c.parent >= 0 ? depth[c.parent] + 1 : 0;
      const rs = c.ranges;
      for (let j = 0; j < rs.length; j++) {
        const l = rs[j][0];
        const h = rs[j][1];
        if (h > l) {
          lo[m] = l;
          hi[m] = h;
          idx[m++] = i;
        }
      }
    }
    this.depth = depth;
    const order = stableOrderBy(lo.subarray(0, m));
    this.ivLo = new Float64Array(m);
    this.ivHi = new Float64Array(m);
    this.ivIdx = new Int32Array(m);
    for (let j = 0; j < m; j++) {
      const k = order[j];
      this.ivLo[j] = lo[k];
      this.ivHi[j] = hi[k];
      this.ivIdx[j] = idx[k];
    }
  }

  /** The innermost inlined call whose code holds pc. */
  private innermost(pc: number): number | undefined {
    const ivLo = this.ivLo;
    let lo = 0;
    let hi = ivLo.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (ivLo[mid] <= pc) lo = mid + 1;
      else hi = mid;
    }
    let best: number | undefined;
    for (let i = lo - 1; i >= 0 && i >= lo - BACKTRACK; i--) {
      const idx = this.ivIdx[i];
      if (pc < this.ivHi[i] && (best === undefined || this.depth[idx] > this.depth[best])) best = idx;
    }
    return best;
  }

  /** The inlined function whose inlined code holds pc (innermost), when one does. */
  calleeAt(pc: number): InlinedCall | undefined {
    const i = this.innermost(pc);
    return i === undefined ? undefined : this.calls[i];
  }

  /** For a call at `pc` inside an inlined wrapper: the INLINED argument (the outermost
   * wrapper's call line, and the blocks to step out of); undefined otherwise. */
  argAt(pc: number): number | undefined {
    let i = this.innermost(pc);
    if (i === undefined || !this.isWrapper(this.calls[i])) return undefined;
    let levels = 1;
    let line = this.calls[i].line;
    for (let p = this.calls[i].parent; p >= 0 && this.isWrapper(this.calls[p]); p = this.calls[p].parent) {
      i = p;
      line = this.calls[p].line;
      levels++;
    }
    if (!line || line >= 1 << INLINED_LINE_BITS || levels > 15) return undefined;
    return line | (levels << INLINED_LINE_BITS);
  }
}
