// .debug_abbrev: one table per unit, parsed once per (offset, unit format) and shared. A table
// is a few flat arrays and no object per abbrev or per attribute: per attribute spec, its DW_AT,
// DW_FORM and the offset of its value when every earlier form has a fixed size; per abbrev, its
// tag, children flag, first spec, spec count and (if all forms are fixed-size) the DIE's size.
// Large files have ~10^5 specs that live for the whole run. Parsing appends to scratch arrays
// reused for every table and then keeps exact-size copies (typed arrays): growing each table's
// own arrays as it was parsed allocated ~4x their size, all of it copied by V8's young-generation
// collector since the tables are kept (python3.11d: 7 MB for 84,000 specs).

import { Cursor, grownF64, grownI32, grownU8 } from "../bytes";
import { DW_AT, DW_FORM } from "./constants";
import { FORM_TABLE_LIMIT, FormatParams, SKIP_UNKNOWN, formSkip, formSkipTable } from "./forms";

/** Scratch columns for the table being parsed (single-threaded, so one set serves all). */
class Scratch {
  // DW_AT and DW_TAG values are LEB128s a hostile file can make huge: kept exact in doubles.
  attrs = new Float64Array(4096);
  forms = new Int32Array(4096);
  offsets = new Int32Array(4096);
  specSizes = new Int32Array(4096);
  tags = new Float64Array(1024);
  children = new Uint8Array(1024);
  starts = new Int32Array(1024);
  counts = new Int32Array(1024);
  sizes = new Int32Array(1024);
  codes = new Float64Array(1024);

  growSpecs(): void {
    const n = this.attrs.length * 2;
    this.attrs = grownF64(this.attrs, n);
    this.forms = grownI32(this.forms, n);
    this.offsets = grownI32(this.offsets, n);
    this.specSizes = grownI32(this.specSizes, n);
  }

  growAbbrevs(): void {
    const n = this.tags.length * 2;
    this.tags = grownF64(this.tags, n);
    this.children = grownU8(this.children, n);
    this.starts = grownI32(this.starts, n);
    this.counts = grownI32(this.counts, n);
    this.sizes = grownI32(this.sizes, n);
    this.codes = grownF64(this.codes, n);
  }
}

let scratch: Scratch | undefined;

const TWO63 = 2 ** 63;
const TWO64 = 2 ** 64;

/**
 * A DW_FORM_implicit_const value (signed LEB128), as Cursor.sleb reads it but computed at half
 * scale, so that its sums are fractional doubles from the first byte: TurboFan never speculates
 * on small integers here. Cursor.sleb's speculation failed on the first long value, inside this
 * constructor once sleb was inlined, and that threw away the constructor's optimised code.
 */
function implicitConst(c: Cursor): number {
  const b = c.buf;
  const end = c.end;
  let p = c.pos;
  let half = 0;
  let weight = 0.5;
  let byte: number;
  do {
    if (p >= end) c.fail("truncated LEB128", c.pos);
    byte = b[p++];
    half += (byte & 0x7f) * weight;
    weight *= 128;
  } while (byte >= 0x80);
  if (byte & 0x40) half -= weight;
  const v = half * 2;
  if (!(v >= -TWO63 && v <= TWO64)) c.fail("LEB128 value wider than 64 bits", c.pos);
  c.pos = p;
  return v;
}

/**
 * The attributes the type model asks about, each with a slot in every abbrev's plan (the index
 * of its spec, so a query is one array read instead of a scan of the abbrev's list; absent
 * attributes are the commonest queries).
 */
const PLANNED = [
  DW_AT.name,
  DW_AT.type,
  DW_AT.byte_size,
  DW_AT.sibling,
  DW_AT.location,
  DW_AT.declaration,
  DW_AT.external,
  DW_AT.abstract_origin,
  DW_AT.specification,
  DW_AT.linkage_name,
  DW_AT.low_pc,
  DW_AT.high_pc,
  DW_AT.ranges,
  DW_AT.frame_base,
  DW_AT.data_member_location,
  DW_AT.bit_size,
  DW_AT.data_bit_offset,
  DW_AT.bit_offset,
  DW_AT.encoding,
  DW_AT.signature,
  DW_AT.prototyped,
  DW_AT.const_value,
  DW_AT.count,
  DW_AT.upper_bound,
  DW_AT.lower_bound,
];
const SLOTS = PLANNED.length;
/** DW_AT (below SLOT_LIMIT) -> slot, or -1. */
const SLOT_LIMIT = 0x100;
const SLOT_OF = new Int8Array(SLOT_LIMIT).fill(-1);
PLANNED.forEach((at, i) => (SLOT_OF[at] = i));

/** Codes below this are found through a dense array; others through a Map. */
const DENSE_CODES = 1 << 16;

export class AbbrevTable {
  /** Per attribute spec. */
  readonly attrs: Float64Array;
  readonly forms: Int32Array;
  /** Offset of the value from the DIE's attribute start, or -1 after a variable-size form. */
  readonly offsets: Int32Array;
  /** Size of the spec's value when fixed, else a SKIP_* code (forms.ts): the cursor skips with no form switch. */
  readonly specSizes: Int32Array;
  /** `formSkip` of the forms below FORM_TABLE_LIMIT in this table's unit format (forms.ts). */
  readonly skips: Int8Array;
  /** DW_FORM_implicit_const values by spec index. */
  consts: Map<number, number> | undefined;
  /** Per abbrev (index k). */
  readonly tags: Float64Array;
  /** 1 when the abbrev's DIEs have children. */
  readonly children: Uint8Array;
  readonly starts: Int32Array;
  readonly counts: Int32Array;
  /** Size of the DIE's attribute data when every form is fixed-size, else -1. */
  readonly sizes: Int32Array;
  /** code -> k + 1 for codes below DENSE_CODES (0: undefined); larger codes in `sparse`. */
  private readonly dense: Int32Array;
  private readonly sparse = new Map<number, number>();
  /** Per abbrev and slot: the planned attribute's spec index minus the abbrev's first, or -1. */
  private readonly plan: Int16Array;

  constructor(buf: Buffer, file: string, offset: number, f: FormatParams) {
    const c = new Cursor(buf, file, ".debug_abbrev", 0);
    c.seek(offset);
    const sc = (scratch ??= new Scratch());
    const skips = (this.skips = formSkipTable(f));
    const end = c.end;
    let nSpecs = 0;
    let nAbbrevs = 0;
    let maxDense = -1;
    for (;;) {
      const code = c.uleb();
      if (code === 0) break;
      const at0 = c.pos;
      const tag = c.uleb();
      const children = c.u8() !== 0;
      const start = nSpecs;
      let off = 0;
      for (;;) {
        // An attribute and its form are one byte each but for vendor attributes and GNU forms.
        const p = c.pos;
        let at: number;
        let form: number;
        if (p + 1 < end && buf[p] < 0x80 && buf[p + 1] < 0x80) {
          at = buf[p];
          form = buf[p + 1];
          c.pos = p + 2;
        } else {
          at = c.uleb();
          form = c.uleb();
        }
        if (at === 0 && form === 0) break;
        const sz = form < FORM_TABLE_LIMIT ? skips[form] : formSkip(form, f);
        if (sz === SKIP_UNKNOWN) c.fail(`unknown form 0x${form.toString(16)} in abbrev ${code}`);
        if (form === DW_FORM.implicit_const) (this.consts ??= new Map()).set(nSpecs, implicitConst(c));
        if (nSpecs === sc.attrs.length) sc.growSpecs();
        sc.attrs[nSpecs] = at;
        sc.forms[nSpecs] = form;
        sc.offsets[nSpecs] = off;
        sc.specSizes[nSpecs] = sz;
        nSpecs++;
        if (off >= 0) off = sz >= 0 ? off + sz : -1;
        if (nSpecs - start > 4096) c.fail(`abbrev ${code} has too many attributes`, at0);
      }
      if (nAbbrevs === sc.tags.length) sc.growAbbrevs();
      const k = nAbbrevs++;
      sc.tags[k] = tag;
      sc.children[k] = children ? 1 : 0;
      sc.starts[k] = start;
      sc.counts[k] = nSpecs - start;
      sc.sizes[k] = off;
      sc.codes[k] = code;
      if (code < DENSE_CODES && code > maxDense) maxDense = code;
    }
    this.attrs = sc.attrs.slice(0, nSpecs);
    this.forms = sc.forms.slice(0, nSpecs);
    this.offsets = sc.offsets.slice(0, nSpecs);
    this.specSizes = sc.specSizes.slice(0, nSpecs);
    this.tags = sc.tags.slice(0, nAbbrevs);
    this.children = sc.children.slice(0, nAbbrevs);
    this.starts = sc.starts.slice(0, nAbbrevs);
    this.counts = sc.counts.slice(0, nAbbrevs);
    this.sizes = sc.sizes.slice(0, nAbbrevs);
    this.dense = new Int32Array(maxDense + 1);
    const plan = (this.plan = new Int16Array(nAbbrevs * SLOTS).fill(-1));
    for (let k = 0; k < nAbbrevs; k++) {
      const start = sc.starts[k];
      for (let j = sc.counts[k] - 1; j >= 0; j--) {
        const at = sc.attrs[start + j];
        // Backwards, so a repeated attribute's first spec wins, as in a scan.
        if (at < SLOT_LIMIT && SLOT_OF[at] >= 0) plan[k * SLOTS + SLOT_OF[at]] = j;
      }
    }
    // The first definition of a code wins.
    for (let k = 0; k < nAbbrevs; k++) {
      const code = sc.codes[k];
      if (code < DENSE_CODES) {
        if (this.dense[code] === 0) this.dense[code] = k + 1;
      } else if (!this.sparse.has(code)) this.sparse.set(code, k);
    }
  }

  /** Abbrev index of `code`, or -1. */
  index(code: number): number {
    if (code < DENSE_CODES) return code < this.dense.length ? this.dense[code] - 1 : -1;
    return this.sparse.get(code) ?? -1;
  }

  /** Spec index of attribute `at` within abbrev k, or -1. Lists are short, so a scan beats a map. */
  find(k: number, at: number): number {
    const slot = at < SLOT_LIMIT ? SLOT_OF[at] : -1;
    if (slot >= 0) {
      const j = this.plan[k * SLOTS + slot];
      return j < 0 ? -1 : this.starts[k] + j;
    }
    const a = this.attrs;
    const s = this.starts[k];
    const e = s + this.counts[k];
    for (let i = s; i < e; i++) if (a[i] === at) return i;
    return -1;
  }
}
