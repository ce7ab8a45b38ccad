// Location lists (DW_AT_location / DW_AT_frame_base of class loclist): .debug_loclists (DWARF 5,
// DW_LLE_* entries) and .debug_loc (DWARF 2-4). Each entry is a PC range and the bytes of a DWARF
// expression; frame layouts are built from them per range. `LocListWalker` steps through a list
// entry by entry with no callback and no object per entry (the metadata writer walks every
// variable's list); `forEachLoc` and `readLocList` are built on it.

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

const NO_BYTES = Buffer.alloc(0);

/**
 * One location list at a time, entry by entry: `open` it, then each `next()` that returns true
 * leaves the entry in `lo`, `hi` (0 and +Infinity for a default location), and its expression's
 * bytes c.buf[start, end). A walker keeps its cursor while the section is the same, so walking a
 * list allocates nothing. Reads and errors are those of reading the list in one go, in order.
 */
export class LocListWalker {
  /** Addresses start as NaN, so V8 makes these fields doubles from the start (an address may
   * exceed its small integers; changing a field's representation later deoptimises its readers). */
  lo = NaN;
  hi = NaN;
  start = 0;
  end = 0;
  c = new Cursor(NO_BYTES, "", "");
  private u: Unit | null = null;
  private v5 = false;
  private done = true;
  private base = NaN;
  /** .debug_loc's base-address selector (the largest address). */
  private max = NaN;

  /** Starts list `value` (in form `form`) of unit `u`. */
  open(u: Unit, form: number, value: number): void {
    const secs = u.src.sections;
    this.u = u;
    this.base = u.lowPc;
    this.done = false;
    if (u.version >= 5) {
      const buf = secs.get("loclists");
      const off =
        form === DW_FORM.loclistx ? listOffset(u, buf, ".debug_loclists", u.loclistsBase, value) : value;
      this.v5 = true;
      this.cursor(buf, u.file, ".debug_loclists").seek(off);
    } else {
      this.v5 = false;
      this.max = u.addrSize === 8 ? 2 ** 64 - 1 : 0xffffffff;
      this.cursor(secs.get("loc"), u.file, ".debug_loc").seek(value);
    }
  }

  /** The next entry; false at the end of the list (and after it). */
  next(): boolean {
    if (this.done) return false;
    const more = this.v5 ? this.nextLle() : this.nextLoc();
    if (!more) this.done = true;
    return more;
  }

  private cursor(buf: Buffer, file: string, section: string): Cursor {
    let c = this.c;
    if (c.buf === buf && c.file === file && c.section === section) c.end = buf.length;
    else this.c = c = new Cursor(buf, file, section);
    return c;
  }

  /** Reads one entry's counted expression. */
  private entry(lo: number, hi: number): boolean {
    const c = this.c;
    const n = c.uleb();
    c.need(n);
    this.lo = lo;
    this.hi = hi;
    this.start = c.pos;
    c.pos += n;
    this.end = c.pos;
    return true;
  }

  private nextLle(): boolean {
    const c = this.c;
    const u = this.u!;
    for (;;) {
      const kind = c.u8();
      switch (kind) {
        case DW_LLE.end_of_list:
          return false;
        case DW_LLE.base_addressx:
          this.base = readAddrIndex(u, c.uleb());
          break;
        case DW_LLE.startx_endx: {
          const lo = readAddrIndex(u, c.uleb());
          return this.entry(lo, readAddrIndex(u, c.uleb()));
        }
        case DW_LLE.startx_length: {
          const lo = readAddrIndex(u, c.uleb());
          return this.entry(lo, lo + c.uleb());
        }
        case DW_LLE.offset_pair: {
          const lo = c.uleb();
          return this.entry(this.base + lo, this.base + c.uleb());
        }
        case DW_LLE.default_location:
          return this.entry(0, Infinity);
        case DW_LLE.base_address:
          this.base = c.addr(u.addrSize);
          break;
        case DW_LLE.start_end: {
          const lo = c.addr(u.addrSize);
          return this.entry(lo, c.addr(u.addrSize));
        }
        case DW_LLE.start_length: {
          const lo = c.addr(u.addrSize);
          return this.entry(lo, lo + c.uleb());
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

  private nextLoc(): boolean {
    const c = this.c;
    const a = this.u!.addrSize;
    for (;;) {
      const lo = c.addr(a);
      const hi = c.addr(a);
      if (lo === 0 && hi === 0) return false;
      if (lo === this.max) {
        this.base = hi;
        continue;
      }
      const n = c.u16();
      c.need(n);
      this.lo = this.base + lo;
      this.hi = this.base + hi;
      this.start = c.pos;
      c.pos += n;
      this.end = c.pos;
      return true;
    }
  }
}

/** The entries of a location list as objects (for tools and tests; the model uses `forEachLoc`). */
export function readLocList(u: Unit, form: number, value: number): LocEntry[] {
  const out: LocEntry[] = [];
  forEachLoc(u, form, value, (lo, hi, c, start, end) => {
    out.push({ lo, hi, expr: c.buf.subarray(start, end) });
  });
  return out;
}

/** Hands each entry of the list to `sink`, in order, until the end or the sink returns false. */
export function forEachLoc(u: Unit, form: number, value: number, sink: LocSink): void {
  // A walker of its own: a sink may walk another list meanwhile.
  const w = new LocListWalker();
  w.open(u, form, value);
  while (w.next()) if (sink(w.lo, w.hi, w.c, w.start, w.end) === false) return;
}
