// A DIE cursor: reads one DIE at a time straight from the section buffer. It records where each
// attribute's value starts (no object per attribute) and decodes a value only when asked, by
// attribute code. One cursor is reused for a whole walk; callers copy out what they keep.

import { Cursor } from "../bytes";
import { AbbrevTable } from "./abbrev";
import { DW_AT, DW_FORM } from "./constants";
import { FORM_TABLE_LIMIT, SKIP_LEB, skipForm } from "./forms";
import { ALT_LINE_STR, ALT_STR, LINE_STR, NO_STR, inlineStr } from "./str-ref";
import { Unit } from "./units";

/** Resolves DW_FORM_ref_sig8 signatures to DIE keys (supplied by the Dwarf set). */
export type SigResolver = (sig: bigint) => number;

/**
 * The forms whose value `udata` / `ref` read as a little-endian unsigned number of the form's
 * fixed size (AbbrevTable.skips), by one shared reader: every accessor's fast path is the same
 * few operations, so V8's type feedback for it is complete once any attribute has used a size
 * (the per-form switches were each compiled before some form reached them, and recompiled
 * after). Other forms, and DW_FORM_indirect, take the general switch.
 */
const UDATA_FIXED = 1;
const REF_FIXED = 2;
const FORM_CLASS = new Uint8Array(FORM_TABLE_LIMIT);
for (const f of [
  DW_FORM.data1,
  DW_FORM.data2,
  DW_FORM.data4,
  DW_FORM.data8,
  DW_FORM.flag,
  DW_FORM.ref1,
  DW_FORM.ref2,
  DW_FORM.ref4,
  DW_FORM.ref8,
  DW_FORM.sec_offset,
])
  FORM_CLASS[f] |= UDATA_FIXED;
for (const f of [DW_FORM.ref1, DW_FORM.ref2, DW_FORM.ref4, DW_FORM.ref8]) FORM_CLASS[f] |= REF_FIXED;

const TWO32 = 4294967296;

/**
 * The unsigned little-endian value of `size` (1, 2, 4 or 8) bytes at p, as Cursor's u8..u64 read
 * it. The caller's DIE was read whole, so its fixed-size values are inside its unit.
 */
function readFixed(b: Buffer, p: number, size: number): number {
  if (size === 1) return b[p];
  if (size === 2) return b[p] | (b[p + 1] << 8);
  const lo = (b[p] | (b[p + 1] << 8) | (b[p + 2] << 16)) + b[p + 3] * 0x1000000;
  if (size === 4) return lo;
  const hi = (b[p + 4] | (b[p + 5] << 8) | (b[p + 6] << 16)) + b[p + 7] * 0x1000000;
  return hi * TWO32 + lo;
}

export class DieCursor {
  unit!: Unit;
  c!: Cursor;
  /** Section offset of the current DIE. */
  off = 0;
  /** Section offset just past the current DIE (its first child, or its next sibling). */
  next = 0;
  /** The current DIE's abbrev index in `tab`; -1 for a null entry (end of a sibling list). */
  ai = -1;
  tab!: AbbrevTable;
  /** The current DIE's tag (0 for a null entry) and children flag. */
  tag = 0;
  hasChildren = false;
  private attrBase = 0;
  private variable = false;
  /** The unit's form sizes (AbbrevTable.skips) and what a DW_FORM_strp reference adds (str-ref.ts). */
  private skips: Int8Array = new Int8Array(0);
  private strpBase = 0;
  private positions = new Int32Array(64);
  /** The unit's abbrev table (read once per unit: Unit.abbrevs may parse it on first use). */
  private utab!: AbbrevTable;
  /** Start and end of the last block/exprloc value read by `block`. */
  blockStart = 0;
  blockEnd = 0;

  constructor(private readonly sigs: SigResolver) {}

  setUnit(u: Unit): void {
    if (this.unit === u) return;
    this.unit = u;
    this.c = new Cursor(u.src.buf, u.src.sections.file, u.src.secName, u.offset, u.end);
    this.utab = u.abbrevs;
    this.skips = this.utab.skips;
    // The same forms name the alt file's own sections in one of its units.
    this.strpBase = u.src.isAlt ? ALT_STR : 0;
    if (!u.initialised) this.initUnit(u);
  }

  get key(): number {
    return this.unit.src.base + this.off;
  }

  fail(detail: string, at: number = this.off): never {
    return this.c.fail(detail, at);
  }

  /** Reads the DIE at section offset `off` of the current unit. False for a null entry. */
  read(off: number): boolean {
    const c = this.c;
    c.seek(off);
    this.off = off;
    const code = c.uleb();
    if (code === 0) {
      this.ai = -1;
      this.tag = 0;
      this.hasChildren = false;
      this.next = c.pos;
      return false;
    }
    const tab = this.utab;
    const k = tab.index(code);
    if (k < 0) return c.fail(`unknown abbrev code ${code}`, off);
    this.tab = tab;
    this.ai = k;
    this.tag = tab.tags[k];
    this.hasChildren = tab.children[k] !== 0;
    this.attrBase = c.pos;
    const size = tab.sizes[k];
    if (size >= 0) {
      this.variable = false;
      c.skip(size);
    } else {
      this.variable = true;
      const s = tab.starts[k];
      const n = tab.counts[k];
      if (this.positions.length < n) this.positions = new Int32Array(n * 2);
      const pos = this.positions;
      const sizes = tab.specSizes;
      const b = c.buf;
      const end = c.end;
      let p = c.pos;
      for (let i = 0; i < n; i++) {
        pos[i] = p;
        const sz = sizes[s + i];
        if (sz >= 0) p += sz;
        else if (sz === SKIP_LEB && p < end && b[p] < 0x80) p++;
        else p = this.skipValue(p, s + i, off);
      }
      if (p > end) c.fail("DIE runs past the end of its unit", off);
      c.pos = p;
    }
    this.next = c.pos;
    return true;
  }

  /** Steps over spec i's variable-size value at p; returns the position after it. */
  private skipValue(p: number, i: number, off: number): number {
    const c = this.c;
    c.pos = p;
    skipForm(c, this.tab.forms[i], this.unit);
    if (c.pos > c.end) c.fail("DIE runs past the end of its unit", off);
    return c.pos;
  }

  /** Spec index (in the abbrev table) of attribute `at` of the current DIE, or -1. */
  private find(at: number): number {
    return this.ai < 0 ? -1 : this.tab.find(this.ai, at);
  }

  /** Byte position of the value of spec `i`. */
  private posOf(i: number): number {
    return this.variable ? this.positions[i - this.tab.starts[this.ai]] : this.attrBase + this.tab.offsets[i];
  }

  /** Positions the inner cursor on spec i's value and returns its form (resolving DW_FORM_indirect). */
  private prep(i: number): number {
    const c = this.c;
    c.pos = this.posOf(i);
    let form = this.tab.forms[i];
    for (let d = 0; form === DW_FORM.indirect; d++) {
      if (d > 4) c.fail("DW_FORM_indirect nested too deeply");
      form = c.uleb();
    }
    return form;
  }

  has(at: number): boolean {
    return this.find(at) >= 0;
  }

  /** The form of attribute `at` (after DW_FORM_indirect), or 0 if absent. */
  form(at: number): number {
    const i = this.find(at);
    return i < 0 ? 0 : this.prep(i);
  }

  /** A constant-class or offset-class value, unsigned; undefined if absent or not a number. */
  udata(at: number): number | undefined {
    const i = this.find(at);
    if (i < 0) return undefined;
    const form = this.tab.forms[i];
    if (form < FORM_TABLE_LIMIT && (FORM_CLASS[form] & UDATA_FIXED) !== 0)
      return readFixed(this.c.buf, this.posOf(i), this.skips[form]);
    if (form === DW_FORM.flag_present) return 1;
    return this.udataAt(i);
  }

  /** `udata` of spec i, any form. */
  private udataAt(i: number): number | undefined {
    const form = this.prep(i);
    const c = this.c;
    switch (form) {
      case DW_FORM.data1:
      case DW_FORM.flag:
      case DW_FORM.ref1:
        return c.u8();
      case DW_FORM.data2:
      case DW_FORM.ref2:
        return c.u16();
      case DW_FORM.data4:
      case DW_FORM.ref4:
        return c.u32();
      case DW_FORM.data8:
      case DW_FORM.ref8:
        return c.u64();
      case DW_FORM.udata:
      case DW_FORM.ref_udata:
        return c.uleb();
      case DW_FORM.sdata:
        return c.sleb();
      case DW_FORM.implicit_const:
        return this.tab.consts?.get(i) ?? 0;
      case DW_FORM.flag_present:
        return 1;
      case DW_FORM.sec_offset:
        return c.offset(this.unit.offsetSize);
      case DW_FORM.loclistx:
      case DW_FORM.rnglistx:
        return c.uleb();
      default:
        return undefined;
    }
  }

  /** A constant read as signed (data1..data8 sign-extended), for bounds and enumerator values. */
  sdata(at: number): number | undefined {
    const i = this.find(at);
    if (i < 0) return undefined;
    const form = this.prep(i);
    const c = this.c;
    switch (form) {
      case DW_FORM.data1:
        return c.i8();
      case DW_FORM.data2: {
        const v = c.u16();
        return v >= 0x8000 ? v - 0x10000 : v;
      }
      case DW_FORM.data4:
        return c.i32();
      case DW_FORM.data8:
        return c.i64();
      case DW_FORM.sdata:
        return c.sleb();
      case DW_FORM.udata:
        return c.uleb();
      case DW_FORM.implicit_const:
        return this.tab.consts?.get(i) ?? 0;
      default:
        return undefined;
    }
  }

  /** Exact 64-bit constant (for enumerators of unsigned 64-bit enums). */
  bigdata(at: number, signed: boolean): bigint | undefined {
    const i = this.find(at);
    if (i < 0) return undefined;
    const form = this.prep(i);
    if (form === DW_FORM.data8) {
      const v = this.c.u64big();
      return signed ? BigInt.asIntN(64, v) : v;
    }
    const v = signed ? this.sdata(at) : this.udata(at);
    return v === undefined ? undefined : BigInt(Math.trunc(v));
  }

  flag(at: number): boolean {
    const v = this.udata(at);
    return v !== undefined && v !== 0;
  }

  /** A string-class attribute. */
  str(at: number): string | undefined {
    const i = this.find(at);
    if (i < 0) return undefined;
    const form = this.prep(i);
    const c = this.c;
    const u = this.unit;
    const secs = u.src.sections;
    switch (form) {
      case DW_FORM.string:
        return c.cstr();
      case DW_FORM.strp:
        return secs.str(c.offset(u.offsetSize));
      case DW_FORM.line_strp:
        return secs.lineStr(c.offset(u.offsetSize));
      case DW_FORM.strx:
      case DW_FORM.GNU_str_index:
        return this.strIndex(c.uleb());
      case DW_FORM.strx1:
        return this.strIndex(c.u8());
      case DW_FORM.strx2:
        return this.strIndex(c.u16());
      case DW_FORM.strx3:
        return this.strIndex(c.u24());
      case DW_FORM.strx4:
        return this.strIndex(c.u32());
      case DW_FORM.GNU_strp_alt:
      case DW_FORM.strp_sup: {
        const off = c.offset(u.offsetSize);
        return u.src.alt ? u.src.alt.str(off) : undefined;
      }
      default:
        return undefined;
    }
  }

  private strIndex(idx: number): string {
    return this.unit.src.sections.str(this.strIndexOffset(idx));
  }

  /** The .debug_str offset of string index `idx` (DW_FORM_strx*). */
  private strIndexOffset(idx: number): number {
    const u = this.unit;
    const secs = u.src.sections;
    const tab = secs.get("str_offsets");
    // Without DW_AT_str_offsets_base (e.g. a DWARF 4 GNU split unit) the table starts after its header.
    const base = u.strOffsetsBase >= 0 ? u.strOffsetsBase : u.version >= 5 ? 8 : 0;
    const at = base + idx * u.offsetSize;
    const tc = new Cursor(tab, secs.file, ".debug_str_offsets", at);
    if (!(at >= 0 && at + u.offsetSize <= tab.length)) tc.fail(`string index ${idx} out of range`, at);
    return tc.offset(u.offsetSize);
  }

  /**
   * A string-class attribute as a string reference (str-ref.ts), decoded later by resolveStr;
   * NO_STR if absent. An inline string's terminator is checked now.
   */
  strRef(at: number): number {
    const i = this.find(at);
    if (i < 0) return NO_STR;
    if (this.tab.forms[i] === DW_FORM.strp)
      return this.strpBase + readFixed(this.c.buf, this.posOf(i), this.unit.offsetSize);
    return this.strRefAt(i);
  }

  /** `strRef` of spec i, any form. */
  private strRefAt(i: number): number {
    const form = this.prep(i);
    const c = this.c;
    const u = this.unit;
    // The same forms name the alt file's own sections in one of its units.
    const isAlt = u.src.isAlt;
    switch (form) {
      case DW_FORM.string: {
        const pos = c.pos;
        c.skipCstr();
        return inlineStr(u.src.base + pos);
      }
      case DW_FORM.strp:
        return (isAlt ? ALT_STR : 0) + c.offset(u.offsetSize);
      case DW_FORM.line_strp:
        return (isAlt ? ALT_LINE_STR : LINE_STR) + c.offset(u.offsetSize);
      case DW_FORM.strx:
      case DW_FORM.GNU_str_index:
        return (isAlt ? ALT_STR : 0) + this.strIndexOffset(c.uleb());
      case DW_FORM.strx1:
        return (isAlt ? ALT_STR : 0) + this.strIndexOffset(c.u8());
      case DW_FORM.strx2:
        return (isAlt ? ALT_STR : 0) + this.strIndexOffset(c.u16());
      case DW_FORM.strx3:
        return (isAlt ? ALT_STR : 0) + this.strIndexOffset(c.u24());
      case DW_FORM.strx4:
        return (isAlt ? ALT_STR : 0) + this.strIndexOffset(c.u32());
      case DW_FORM.GNU_strp_alt:
      case DW_FORM.strp_sup: {
        const off = c.offset(u.offsetSize);
        return u.src.alt ? ALT_STR + off : NO_STR;
      }
      default:
        return NO_STR;
    }
  }

  /** A reference, as a global DIE key; -1 if absent or unresolvable (missing alt file, unknown signature). */
  ref(at: number): number {
    const i = this.find(at);
    if (i < 0) return -1;
    const form = this.tab.forms[i];
    if (form < FORM_TABLE_LIMIT && (FORM_CLASS[form] & REF_FIXED) !== 0) {
      const rel = readFixed(this.c.buf, this.posOf(i), this.skips[form]);
      const u = this.unit;
      const off = u.offset + rel;
      if (off >= u.end) this.c.fail(`reference 0x${rel.toString(16)} outside its unit`, this.off);
      return u.src.base + off;
    }
    return this.refAt(i);
  }

  /** `ref` of spec i, any form. */
  private refAt(i: number): number {
    const form = this.prep(i);
    const c = this.c;
    const u = this.unit;
    let rel: number;
    switch (form) {
      case DW_FORM.ref1:
        rel = c.u8();
        break;
      case DW_FORM.ref2:
        rel = c.u16();
        break;
      case DW_FORM.ref4:
        rel = c.u32();
        break;
      case DW_FORM.ref8:
        rel = c.u64();
        break;
      case DW_FORM.ref_udata:
        rel = c.uleb();
        break;
      case DW_FORM.ref_addr: {
        const off = u.version <= 2 ? c.addr(u.addrSize) : c.offset(u.offsetSize);
        return u.src.infoBase + off;
      }
      case DW_FORM.GNU_ref_alt:
      case DW_FORM.ref_sup4:
      case DW_FORM.ref_sup8: {
        const off =
          form === DW_FORM.ref_sup4 ? c.u32() : form === DW_FORM.ref_sup8 ? c.u64() : c.offset(u.offsetSize);
        return u.src.altInfoBase < 0 ? -1 : u.src.altInfoBase + off;
      }
      case DW_FORM.ref_sig8:
        return this.sigs(c.u64big());
      default:
        return -1;
    }
    const off = u.offset + rel;
    if (off >= u.end) c.fail(`reference 0x${rel.toString(16)} outside its unit`, this.off);
    return u.src.base + off;
  }

  /** An address-class attribute (DW_FORM_addr or an index into .debug_addr). */
  addr(at: number): number | undefined {
    const i = this.find(at);
    if (i < 0) return undefined;
    const form = this.prep(i);
    const c = this.c;
    switch (form) {
      case DW_FORM.addr:
        return c.addr(this.unit.addrSize);
      case DW_FORM.addrx:
      case DW_FORM.GNU_addr_index:
        return this.addrIndex(c.uleb());
      case DW_FORM.addrx1:
        return this.addrIndex(c.u8());
      case DW_FORM.addrx2:
        return this.addrIndex(c.u16());
      case DW_FORM.addrx3:
        return this.addrIndex(c.u24());
      case DW_FORM.addrx4:
        return this.addrIndex(c.u32());
      default:
        return undefined;
    }
  }

  addrIndex(idx: number): number {
    return readAddrIndex(this.unit, idx);
  }

  /** An exprloc/block value: sets blockStart/blockEnd (positions in the unit's buffer); false if absent. */
  block(at: number): boolean {
    const i = this.find(at);
    if (i < 0) return false;
    const form = this.prep(i);
    const c = this.c;
    let n: number;
    switch (form) {
      case DW_FORM.exprloc:
      case DW_FORM.block:
        n = c.uleb();
        break;
      case DW_FORM.block1:
        n = c.u8();
        break;
      case DW_FORM.block2:
        n = c.u16();
        break;
      case DW_FORM.block4:
        n = c.u32();
        break;
      default:
        return false;
    }
    c.need(n);
    this.blockStart = c.pos;
    this.blockEnd = c.pos + n;
    return true;
  }

  /** DW_AT_high_pc resolved to an address (it is an offset from low_pc when constant-class). */
  highPc(low: number): number | undefined {
    const f = this.form(DW_AT.high_pc);
    if (f === 0) return undefined;
    if (f === DW_FORM.addr || (f >= DW_FORM.addrx1 && f <= DW_FORM.addrx4) || f === DW_FORM.addrx)
      return this.addr(DW_AT.high_pc);
    const d = this.udata(DW_AT.high_pc);
    return d === undefined ? undefined : low + d;
  }

  /** Skips the current DIE's children (using DW_AT_sibling when present); returns the next sibling's offset. */
  skipChildren(): number {
    if (!this.hasChildren) return this.next;
    if (this.find(DW_AT.sibling) >= 0) {
      const k = this.ref(DW_AT.sibling);
      const off = k - this.unit.src.base;
      if (off > this.off && off <= this.unit.end) return off;
    }
    let depth = 1;
    let off = this.next;
    const start = this.off;
    while (depth > 0) {
      if (off >= this.unit.end) return this.unit.end;
      const isDie = this.read(off);
      if (isDie && this.hasChildren) depth++;
      else if (!isDie) depth--;
      off = this.next;
    }
    this.off = start;
    return off;
  }

  /** Reads the unit's root DIE for the bases later forms depend on (two passes: bases first). */
  private initUnit(u: Unit): void {
    u.initialised = true;
    if (u.dieOffset >= u.end || !this.read(u.dieOffset)) return;
    u.rootTag = this.tag;
    u.strOffsetsBase = this.udata(DW_AT.str_offsets_base) ?? -1;
    u.addrBase = this.udata(DW_AT.addr_base) ?? -1;
    u.rnglistsBase = this.udata(DW_AT.rnglists_base) ?? -1;
    u.loclistsBase = this.udata(DW_AT.loclists_base) ?? -1;
    u.stmtList = this.udata(DW_AT.stmt_list) ?? -1;
    u.language = this.udata(DW_AT.language) ?? 0;
    u.lowPc = this.addr(DW_AT.low_pc) ?? 0;
    u.nameRef = this.strRef(DW_AT.name);
    u.compDirRef = this.strRef(DW_AT.comp_dir);
    u.producerRef = this.strRef(DW_AT.producer);
  }
}

/** Reads entry `idx` of the unit's .debug_addr table. */
export function readAddrIndex(u: Unit, idx: number): number {
  const secs = u.src.sections;
  const tab = secs.get("addr");
  const base = u.addrBase >= 0 ? u.addrBase : 8;
  const at = base + idx * u.addrSize;
  const c = new Cursor(tab, secs.file, ".debug_addr", 0);
  if (!(at >= 0 && at + u.addrSize <= tab.length)) c.fail(`address index ${idx} out of range`, at);
  c.pos = at;
  return c.addr(u.addrSize);
}
