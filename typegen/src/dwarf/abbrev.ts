// .debug_abbrev: one table per unit, parsed once per (offset, unit format) and shared. All of a
// table's attribute specs live in three flat typed arrays (attribute, form, offset of the value
// when every earlier form has a fixed size); an Abbrev is a small record pointing into them.
// This keeps a large file (~10^5 abbrevs) at a handful of allocations per table: one array per
// abbrev made V8 spend most of the parse in young-generation GC.

import { Cursor } from "../bytes";
import { DW_FORM } from "./constants";
import { FormatParams, fixedFormSize, isKnownForm } from "./forms";

export class Abbrev {
  constructor(
    readonly code: number,
    readonly tag: number,
    readonly hasChildren: boolean,
    /** Index of this abbrev's first attribute in the table arrays. */
    readonly start: number,
    /** Number of attributes. */
    readonly count: number,
    /** Size of the DIE's attribute data if every form is fixed-size, else -1. */
    readonly fixedSize: number,
    /** Table-wide: DW_AT of each attribute spec. */
    readonly attrs: Int32Array,
    /** Table-wide: DW_FORM of each attribute spec. */
    readonly forms: Int32Array,
    /** Table-wide: offset of each value from the DIE's attribute start, or -1 after a variable-size form. */
    readonly offsets: Int32Array,
    /** Table-wide: DW_FORM_implicit_const values by spec index (absent for other forms). */
    readonly consts: Map<number, number> | undefined,
  ) {}

  /** Local index (0..count-1) of attribute `at`, or -1. Lists are short, so a scan beats a map. */
  find(at: number): number {
    const a = this.attrs;
    const s = this.start;
    for (let i = 0; i < this.count; i++) if (a[s + i] === at) return i;
    return -1;
  }

  form(i: number): number {
    return this.forms[this.start + i];
  }

  fixedOffset(i: number): number {
    return this.offsets[this.start + i];
  }

  implicitConst(i: number): number {
    return this.consts?.get(this.start + i) ?? 0;
  }
}

export class AbbrevTable {
  /** Dense codes index the array; sparse or huge codes fall back to the map. */
  private readonly dense: (Abbrev | undefined)[] = [];
  private readonly sparse = new Map<number, Abbrev>();

  constructor(buf: Buffer, file: string, offset: number, f: FormatParams) {
    const c = new Cursor(buf, file, ".debug_abbrev", 0);
    c.seek(offset);
    const attrs: number[] = [];
    const forms: number[] = [];
    const offs: number[] = [];
    let consts: Map<number, number> | undefined;
    const pending: { code: number; tag: number; children: boolean; start: number; count: number; size: number }[] = [];
    for (;;) {
      const code = c.uleb();
      if (code === 0) break;
      const at0 = c.pos;
      const tag = c.uleb();
      const children = c.u8() !== 0;
      const start = attrs.length;
      let off = 0;
      for (;;) {
        const at = c.uleb();
        const form = c.uleb();
        if (at === 0 && form === 0) break;
        if (!isKnownForm(form)) c.fail(`unknown form 0x${form.toString(16)} in abbrev ${code}`);
        if (form === DW_FORM.implicit_const) (consts ??= new Map()).set(attrs.length, c.sleb());
        attrs.push(at);
        forms.push(form);
        offs.push(off);
        if (off >= 0) {
          const sz = fixedFormSize(form, f);
          off = sz >= 0 ? off + sz : -1;
        }
        if (attrs.length - start > 4096) c.fail(`abbrev ${code} has too many attributes`, at0);
      }
      pending.push({ code, tag, children, start, count: attrs.length - start, size: off });
    }
    const A = new Int32Array(attrs);
    const F = new Int32Array(forms);
    const O = new Int32Array(offs);
    for (const p of pending) {
      const a = new Abbrev(p.code, p.tag, p.children, p.start, p.count, p.size, A, F, O, consts);
      if (p.code < 1 << 16) {
        if (this.dense[p.code] === undefined) this.dense[p.code] = a;
      } else if (!this.sparse.has(p.code)) this.sparse.set(p.code, a);
    }
  }

  get(code: number): Abbrev | undefined {
    return code < 1 << 16 ? this.dense[code] : this.sparse.get(code);
  }
}
