// Address ranges (DW_AT_ranges): .debug_rnglists (DWARF 5, DW_RLE_* entries, optionally via
// DW_FORM_rnglistx and the unit's offsets table) and .debug_ranges (DWARF 2-4 address pairs
// relative to the unit's base address). Every entry consumes bytes, so loops end at the section end.

import { Cursor } from "../bytes";
import { DW_FORM, DW_RLE } from "./constants";
import { readAddrIndex } from "./die";
import { Unit } from "./units";

export type Range = [lo: number, hi: number];

/** Section offset of list `idx` through a DWARF 5 offsets table based at `base` (rnglists_base/loclists_base). */
export function listOffset(u: Unit, buf: Buffer, section: string, base: number, idx: number): number {
  const c = new Cursor(buf, u.file, section);
  const b = base >= 0 ? base : 12;
  c.seek(b + idx * u.offsetSize);
  return b + c.offset(u.offsetSize);
}

/** The ranges of an attribute whose value is `value` in form `form` (sec_offset or rnglistx). */
export function readRanges(u: Unit, form: number, value: number): Range[] {
  const secs = u.src.sections;
  if (u.version >= 5) {
    const buf = secs.get("rnglists");
    const off =
      form === DW_FORM.rnglistx ? listOffset(u, buf, ".debug_rnglists", u.rnglistsBase, value) : value;
    return readRnglist(u, buf, off);
  }
  return readDebugRanges(u, secs.get("ranges"), value);
}

function readRnglist(u: Unit, buf: Buffer, off: number): Range[] {
  const c = new Cursor(buf, u.file, ".debug_rnglists");
  c.seek(off);
  const a = u.addrSize;
  let base = u.lowPc;
  const out: Range[] = [];
  for (;;) {
    const kind = c.u8();
    switch (kind) {
      case DW_RLE.end_of_list:
        return out;
      case DW_RLE.base_addressx:
        base = readAddrIndex(u, c.uleb());
        break;
      case DW_RLE.startx_endx: {
        const lo = readAddrIndex(u, c.uleb());
        out.push([lo, readAddrIndex(u, c.uleb())]);
        break;
      }
      case DW_RLE.startx_length: {
        const lo = readAddrIndex(u, c.uleb());
        out.push([lo, lo + c.uleb()]);
        break;
      }
      case DW_RLE.offset_pair: {
        const lo = c.uleb();
        out.push([base + lo, base + c.uleb()]);
        break;
      }
      case DW_RLE.base_address:
        base = c.addr(a);
        break;
      case DW_RLE.start_end: {
        const lo = c.addr(a);
        out.push([lo, c.addr(a)]);
        break;
      }
      case DW_RLE.start_length: {
        const lo = c.addr(a);
        out.push([lo, lo + c.uleb()]);
        break;
      }
      default:
        c.fail(`unknown range list entry kind ${kind}`, c.pos - 1);
    }
  }
}

function readDebugRanges(u: Unit, buf: Buffer, off: number): Range[] {
  const c = new Cursor(buf, u.file, ".debug_ranges");
  c.seek(off);
  const a = u.addrSize;
  const max = a === 8 ? 2 ** 64 - 1 : 0xffffffff;
  let base = u.lowPc;
  const out: Range[] = [];
  for (;;) {
    const lo = c.addr(a);
    const hi = c.addr(a);
    if (lo === 0 && hi === 0) return out;
    if (lo === max) base = hi;
    else out.push([base + lo, base + hi]);
  }
}
