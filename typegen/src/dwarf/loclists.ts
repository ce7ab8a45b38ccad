// Location lists (DW_AT_location / DW_AT_frame_base of class loclist): .debug_loclists (DWARF 5,
// DW_LLE_* entries) and .debug_loc (DWARF 2-4). Each entry is a PC range and the bytes of a DWARF
// expression; frame layouts are built from them per range.

import { Cursor } from "../bytes";
import { DW_FORM, DW_LLE } from "./constants";
import { readAddrIndex } from "./die";
import { listOffset } from "./ranges";
import { Unit } from "./units";

/**
 * Called per entry: PC range [lo, hi) (lo = 0, hi = +Infinity for a default location) and the
 * expression's bytes c.buf[start, end), read through `c` (no copy, no view object). Returning
 * false stops the walk (a caller that only needs the first entry reads no further).
 */
export type LocSink = (lo: number, hi: number, c: Cursor, start: number, end: number) => boolean | void;

export interface LocEntry {
  lo: number;
  hi: number;
  expr: Buffer;
}

/** The entries of a location list as objects (for tools and tests; the model uses `forEachLoc`). */
export function readLocList(u: Unit, form: number, value: number): LocEntry[] {
  const out: LocEntry[] = [];
  forEachLoc(u, form, value, (lo, hi, c, start, end) => {
    out.push({ lo, hi, expr: c.buf.subarray(start, end) });
  });
  return out;
}

export function forEachLoc(u: Unit, form: number, value: number, sink: LocSink): void {
  const secs = u.src.sections;
  if (u.version >= 5) {
    const buf = secs.get("loclists");
    const off =
      form === DW_FORM.loclistx ? listOffset(u, buf, ".debug_loclists", u.loclistsBase, value) : value;
    return readLoclists(u, buf, off, sink);
  }
  return readDebugLoc(u, secs.get("loc"), value, sink);
}

/** Reads one entry's counted expression and hands it to the sink; false when the sink wants no more. */
function entry(c: Cursor, sink: LocSink, lo: number, hi: number): boolean {
  const n = c.uleb();
  c.need(n);
  const start = c.pos;
  c.pos += n;
  return sink(lo, hi, c, start, start + n) !== false;
}

function readLoclists(u: Unit, buf: Buffer, off: number, sink: LocSink): void {
  const c = new Cursor(buf, u.file, ".debug_loclists");
  c.seek(off);
  const a = u.addrSize;
  let base = u.lowPc;
  for (;;) {
    const kind = c.u8();
    switch (kind) {
      case DW_LLE.end_of_list:
        return;
      case DW_LLE.base_addressx:
        base = readAddrIndex(u, c.uleb());
        break;
      case DW_LLE.startx_endx: {
        const lo = readAddrIndex(u, c.uleb());
        if (!entry(c, sink, lo, readAddrIndex(u, c.uleb()))) return;
        break;
      }
      case DW_LLE.startx_length: {
        const lo = readAddrIndex(u, c.uleb());
        if (!entry(c, sink, lo, lo + c.uleb())) return;
        break;
      }
      case DW_LLE.offset_pair: {
        const lo = c.uleb();
        if (!entry(c, sink, base + lo, base + c.uleb())) return;
        break;
      }
      case DW_LLE.default_location:
        if (!entry(c, sink, 0, Infinity)) return;
        break;
      case DW_LLE.base_address:
        base = c.addr(a);
        break;
      case DW_LLE.start_end: {
        const lo = c.addr(a);
        if (!entry(c, sink, lo, c.addr(a))) return;
        break;
      }
      case DW_LLE.start_length: {
        const lo = c.addr(a);
        if (!entry(c, sink, lo, lo + c.uleb())) return;
        break;
      }
      case DW_LLE.GNU_view_pair:
        c.skipLeb();
        c.skipLeb();
        break;
      default:
        c.fail(`unknown location list entry kind ${kind}`, c.pos - 1);
    }
  }
}

function readDebugLoc(u: Unit, buf: Buffer, off: number, sink: LocSink): void {
  const c = new Cursor(buf, u.file, ".debug_loc");
  c.seek(off);
  const a = u.addrSize;
  const max = a === 8 ? 2 ** 64 - 1 : 0xffffffff;
  let base = u.lowPc;
  for (;;) {
    const lo = c.addr(a);
    const hi = c.addr(a);
    if (lo === 0 && hi === 0) return;
    if (lo === max) {
      base = hi;
      continue;
    }
    const n = c.u16();
    c.need(n);
    const start = c.pos;
    c.pos += n;
    if (sink(base + lo, base + hi, c, start, start + n) === false) return;
  }
}
