// Attribute form sizes. `fixedFormSize` lets the abbrev table precompute attribute offsets for
// DIEs whose forms are all fixed-size (most type DIEs), so the cursor can jump over them in O(1);
// `skipForm` handles the variable-size ones.

import { Cursor } from "../bytes";
import { DW_FORM } from "./constants";

/** Unit parameters that decide form sizes. */
export interface FormatParams {
  version: number;
  addrSize: number;
  offsetSize: number;
}

/** Size in bytes of a form's value when it does not depend on the data, else -1. */
export function fixedFormSize(form: number, f: FormatParams): number {
  switch (form) {
    case DW_FORM.addr:
      return f.addrSize;
    case DW_FORM.data1:
    case DW_FORM.ref1:
    case DW_FORM.flag:
    case DW_FORM.strx1:
    case DW_FORM.addrx1:
      return 1;
    case DW_FORM.data2:
    case DW_FORM.ref2:
    case DW_FORM.strx2:
    case DW_FORM.addrx2:
      return 2;
    case DW_FORM.strx3:
    case DW_FORM.addrx3:
      return 3;
    case DW_FORM.data4:
    case DW_FORM.ref4:
    case DW_FORM.ref_sup4:
    case DW_FORM.strx4:
    case DW_FORM.addrx4:
      return 4;
    case DW_FORM.data8:
    case DW_FORM.ref8:
    case DW_FORM.ref_sig8:
    case DW_FORM.ref_sup8:
      return 8;
    case DW_FORM.data16:
      return 16;
    case DW_FORM.strp:
    case DW_FORM.sec_offset:
    case DW_FORM.line_strp:
    case DW_FORM.strp_sup:
    case DW_FORM.GNU_ref_alt:
    case DW_FORM.GNU_strp_alt:
      return f.offsetSize;
    case DW_FORM.ref_addr:
      return f.version <= 2 ? f.addrSize : f.offsetSize;
    case DW_FORM.flag_present:
    case DW_FORM.implicit_const:
      return 0;
    default:
      return -1;
  }
}

/**
 * How to step over a value of each form, as one number: its size when fixed (>= 0), else one of
 * these codes. The abbrev table stores it per attribute spec, so the DIE cursor steps over a DIE's
 * values with no switch on the form (`skipForm` does the same from the form).
 */
export const SKIP_LEB = -1;
export const SKIP_CSTR = -2;
export const SKIP_BLOCK1 = -3;
export const SKIP_BLOCK2 = -4;
export const SKIP_BLOCK4 = -5;
/** DW_FORM_block / exprloc: a ULEB128 length, then the bytes. */
export const SKIP_BLOCK_LEB = -6;
export const SKIP_INDIRECT = -7;
/** A form the reader does not know. */
export const SKIP_UNKNOWN = -8;

/** `formSkip` for one form (see SKIP_*). */
export function formSkip(form: number, f: FormatParams): number {
  const n = fixedFormSize(form, f);
  if (n >= 0) return n;
  switch (form) {
    case DW_FORM.string:
      return SKIP_CSTR;
    case DW_FORM.sdata:
    case DW_FORM.udata:
    case DW_FORM.ref_udata:
    case DW_FORM.strx:
    case DW_FORM.addrx:
    case DW_FORM.loclistx:
    case DW_FORM.rnglistx:
    case DW_FORM.GNU_addr_index:
    case DW_FORM.GNU_str_index:
      return SKIP_LEB;
    case DW_FORM.block1:
      return SKIP_BLOCK1;
    case DW_FORM.block2:
      return SKIP_BLOCK2;
    case DW_FORM.block4:
      return SKIP_BLOCK4;
    case DW_FORM.block:
    case DW_FORM.exprloc:
      return SKIP_BLOCK_LEB;
    case DW_FORM.indirect:
      return SKIP_INDIRECT;
    default:
      return SKIP_UNKNOWN;
  }
}

/** Forms below this have their `formSkip` in a per-format table (the GNU forms are computed). */
export const FORM_TABLE_LIMIT = 0x30;
const skipTables = new Map<number, Int8Array>();

/** `formSkip` of every form below FORM_TABLE_LIMIT for one unit format (made once per format). */
export function formSkipTable(f: FormatParams): Int8Array {
  const key = (f.version <= 2 ? 1000 : 0) + f.addrSize * 16 + f.offsetSize;
  let t = skipTables.get(key);
  if (!t) {
    t = new Int8Array(FORM_TABLE_LIMIT);
    for (let form = 0; form < FORM_TABLE_LIMIT; form++) t[form] = formSkip(form, f);
    skipTables.set(key, t);
  }
  return t;
}

/** Advances `c` past one value of `form`. DW_FORM_indirect nests at most a few levels. */
export function skipForm(c: Cursor, form: number, f: FormatParams): void {
  let depth = 0;
  for (;;) {
    const n = fixedFormSize(form, f);
    if (n >= 0) {
      c.skip(n);
      return;
    }
    switch (form) {
      case DW_FORM.string:
        c.skipCstr();
        return;
      case DW_FORM.sdata:
      case DW_FORM.udata:
      case DW_FORM.ref_udata:
      case DW_FORM.strx:
      case DW_FORM.addrx:
      case DW_FORM.loclistx:
      case DW_FORM.rnglistx:
      case DW_FORM.GNU_addr_index:
      case DW_FORM.GNU_str_index:
        c.skipLeb();
        return;
      case DW_FORM.block1:
        c.skip(c.u8());
        return;
      case DW_FORM.block2:
        c.skip(c.u16());
        return;
      case DW_FORM.block4:
        c.skip(c.u32());
        return;
      case DW_FORM.block:
      case DW_FORM.exprloc:
        c.skip(c.uleb());
        return;
      case DW_FORM.indirect:
        if (++depth > 4) c.fail("DW_FORM_indirect nested too deeply");
        form = c.uleb();
        continue;
      default:
        c.fail(`unknown attribute form 0x${form.toString(16)}`);
    }
  }
}
