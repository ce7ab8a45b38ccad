// .debug_abbrev: one table per unit, parsed once per (offset, unit format) and shared. Each entry
// keeps its attributes in packed number arrays (no object per attribute) and, for the common
// case where every form has a fixed size, the byte offset of each attribute and the DIE's total
// size. Plain arrays, not typed arrays: a large file has ~10^5 abbrevs, and one ArrayBuffer each
// made V8 spend seconds in GC on external-memory accounting.

import { Cursor } from "../bytes";
import { DW_FORM } from "./constants";
import { FormatParams, fixedFormSize, isKnownForm } from "./forms";

export class Abbrev {
  /** Offset of each attribute's value from the end of the abbrev code, or -1 once any earlier form is variable. */
  readonly fixedOffsets: number[];
  /** Size of the DIE's attribute data if every form is fixed-size, else -1. */
  readonly fixedSize: number;

  constructor(
    readonly code: number,
    readonly tag: number,
    readonly hasChildren: boolean,
    readonly attrs: number[],
    readonly forms: number[],
    /** DW_FORM_implicit_const values, by attribute index (0 for other forms). */
    readonly consts: number[],
    f: FormatParams,
  ) {
    const n = attrs.length;
    this.fixedOffsets = new Array<number>(n).fill(0);
    let off = 0;
    for (let i = 0; i < n; i++) {
      this.fixedOffsets[i] = off;
      if (off >= 0) {
        const sz = fixedFormSize(forms[i], f);
        off = sz >= 0 ? off + sz : -1;
      }
    }
    this.fixedSize = off;
  }

  /** Index of attribute `at`, or -1. Lists are short (under ~15), so a scan beats a map. */
  find(at: number): number {
    const a = this.attrs;
    for (let i = 0; i < a.length; i++) if (a[i] === at) return i;
    return -1;
  }
}

export class AbbrevTable {
  /** Dense codes index the array; sparse or huge codes fall back to the map. */
  private readonly dense: (Abbrev | undefined)[] = [];
  private readonly sparse = new Map<number, Abbrev>();

  constructor(buf: Buffer, file: string, offset: number, f: FormatParams) {
    const c = new Cursor(buf, file, ".debug_abbrev", 0);
    c.seek(offset);
    for (;;) {
      const code = c.uleb();
      if (code === 0) break;
      const start = c.pos;
      const tag = c.uleb();
      const children = c.u8();
      const attrs: number[] = [];
      const forms: number[] = [];
      const consts: number[] = [];
      for (;;) {
        const at = c.uleb();
        const form = c.uleb();
        if (at === 0 && form === 0) break;
        if (!isKnownForm(form)) c.fail(`unknown form 0x${form.toString(16)} in abbrev ${code}`);
        attrs.push(at);
        forms.push(form);
        consts.push(form === DW_FORM.implicit_const ? c.sleb() : 0);
        if (attrs.length > 4096) c.fail(`abbrev ${code} has too many attributes`, start);
      }
      const a = new Abbrev(code, tag, children !== 0, attrs, forms, consts, f);
      if (code < 1 << 16) {
        if (this.dense[code] === undefined) this.dense[code] = a;
      } else if (!this.sparse.has(code)) this.sparse.set(code, a);
    }
  }

  get(code: number): Abbrev | undefined {
    return code < 1 << 16 ? this.dense[code] : this.sparse.get(code);
  }
}
