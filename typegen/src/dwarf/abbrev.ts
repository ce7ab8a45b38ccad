// .debug_abbrev: one table per unit, parsed once per (offset, unit format) and shared. A table
// is a few flat arrays and no object per abbrev or per attribute: per attribute spec, its DW_AT,
// DW_FORM and the offset of its value when every earlier form has a fixed size; per abbrev, its
// tag, children flag, first spec, spec count and (if all forms are fixed-size) the DIE's size.
// Large files have ~10^5 abbrevs that live for the whole run; as objects, V8 spent more time
// copying them through the young generation than parsing them. Plain packed arrays, not typed
// arrays: typed arrays over 64 bytes get off-heap buffers whose accounting also triggers GC.

import { Cursor } from "../bytes";
import { DW_FORM } from "./constants";
import { FormatParams, fixedFormSize, isKnownForm } from "./forms";

export class AbbrevTable {
  /** Per attribute spec. */
  readonly attrs: number[] = [];
  readonly forms: number[] = [];
  /** Offset of the value from the DIE's attribute start, or -1 after a variable-size form. */
  readonly offsets: number[] = [];
  /** Size of the spec's value when fixed, else -1 (lets the cursor skip without a form switch). */
  readonly specSizes: number[] = [];
  /** DW_FORM_implicit_const values by spec index. */
  consts: Map<number, number> | undefined;
  /** Per abbrev (index k). */
  readonly tags: number[] = [];
  readonly children: boolean[] = [];
  readonly starts: number[] = [];
  readonly counts: number[] = [];
  /** Size of the DIE's attribute data when every form is fixed-size, else -1. */
  readonly sizes: number[] = [];
  /** code -> k + 1 for codes below 2^16 (0: undefined); larger codes in `sparse`. */
  private readonly dense: number[] = [];
  private readonly sparse = new Map<number, number>();

  constructor(buf: Buffer, file: string, offset: number, f: FormatParams) {
    const c = new Cursor(buf, file, ".debug_abbrev", 0);
    c.seek(offset);
    const { attrs, forms, offsets, specSizes } = this;
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
        if (form === DW_FORM.implicit_const) (this.consts ??= new Map()).set(attrs.length, c.sleb());
        attrs.push(at);
        forms.push(form);
        offsets.push(off);
        const sz = fixedFormSize(form, f);
        specSizes.push(sz);
        if (off >= 0) off = sz >= 0 ? off + sz : -1;
        if (attrs.length - start > 4096) c.fail(`abbrev ${code} has too many attributes`, at0);
      }
      const k = this.tags.length;
      this.tags.push(tag);
      this.children.push(children);
      this.starts.push(start);
      this.counts.push(attrs.length - start);
      this.sizes.push(off);
      if (code < 1 << 16) {
        // Extend with explicit zeros (not holes) so the array stays packed.
        while (this.dense.length <= code) this.dense.push(0);
        if (this.dense[code] === 0) this.dense[code] = k + 1;
      } else if (!this.sparse.has(code)) this.sparse.set(code, k);
    }
  }

  /** Abbrev index of `code`, or -1. */
  index(code: number): number {
    if (code < 1 << 16) return code < this.dense.length ? this.dense[code] - 1 : -1;
    return this.sparse.get(code) ?? -1;
  }

  /** Spec index of attribute `at` within abbrev k, or -1. Lists are short, so a scan beats a map. */
  find(k: number, at: number): number {
    const a = this.attrs;
    const s = this.starts[k];
    const e = s + this.counts[k];
    for (let i = s; i < e; i++) if (a[i] === at) return i;
    return -1;
  }
}
