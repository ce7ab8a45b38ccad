// Source lines of code addresses, from the DWARF line tables, read lazily: a unit's table is
// decoded the first time an address inside the unit's code ranges (its root DIE's low_pc/high_pc
// or DW_AT_ranges) is asked about. The site analysis asks about a few call addresses, and on a
// large program decoding every table was most of its cost (~0.25 s of CPU on python3.11d). A unit
// whose ranges cannot be read is decoded up front, as every unit was before.

import * as path from "node:path";
import { openDebugElf, openDwarf } from "../index";
import { ElfFile } from "../elf/elf-file";
import { Dwarf } from "../dwarf/dwarf";
import { DW_AT } from "../dwarf/constants";
import { DieCursor } from "../dwarf/die";
import { readLineTable, LineTable } from "../dwarf/line";
import { Range, readRanges } from "../dwarf/ranges";
import { Unit } from "../dwarf/units";

/** One sequence of a line table: rows [first, end) with addresses in [lo, hi). */
interface Sequence {
  lo: number;
  hi: number;
  table: LineTable;
  compDir: string;
  first: number;
  end: number;
  /** The unit's position in the DWARF: sequences at one address keep the units' order. */
  unit: number;
}

/** A code range of a unit whose line table is not read yet. */
interface PendingRange {
  lo: number;
  hi: number;
  unit: number;
}

/** Every line table of a binary, indexed by address through its sequences (each sequence's rows
 * are already in address order, so no row is copied or sorted). */
export class LineIndex {
  /** The sequences read so far, by (lo, unit, first): the order of a stable sort by lo of
   * every unit's sequences in unit order, as when every table was read up front. */
  private seqs: Sequence[] = [];
  /** Sequences read since the last lookup, merged into `seqs` by the next one. */
  private fresh: Sequence[] = [];
  private units: Unit[] = [];
  private read: boolean[] = [];
  /** Code ranges of the units not read yet, by lo, and the running maximum of their his. */
  private pending: PendingRange[] = [];
  private pendingMaxHi: number[] = [];
  /** Set when a table read on demand failed and `tolerant`: nothing is known from then on. */
  private broken = false;

  /**
   * A malformed table throws: here when it is read up front, or from the lookup that reads it.
   * With `tolerant`, a lookup that meets one answers undefined, as does every later lookup (the
   * same as having no index, which is what a caller that catches the constructor's error has).
   */
  constructor(
    elf: ElfFile,
    dwarf: Dwarf = openDwarf(openDebugElf(elf)),
    private readonly tolerant = false,
  ) {
    const cur = dwarf.cursor();
    for (const u of dwarf.units) {
      if (u.typeSignature !== undefined) continue;
      cur.setUnit(u);
      if (u.stmtList < 0) continue;
      const k = this.units.length;
      this.units.push(u);
      this.read.push(false);
      const ranges = codeRanges(cur, u);
      if (ranges === undefined) this.readUnit(k);
      else for (const [lo, hi] of ranges) if (hi > lo) this.pending.push({ lo, hi, unit: k });
    }
    this.pending.sort((a, b) => a.lo - b.lo);
    let maxHi = -Infinity;
    for (const p of this.pending) this.pendingMaxHi.push((maxHi = Math.max(maxHi, p.hi)));
  }

  /** Decodes unit k's line table into sequences. */
  private readUnit(k: number): void {
    if (this.read[k]) return;
    this.read[k] = true;
    const u = this.units[k];
    const table = readLineTable(u.src.sections, u.stmtList, u.addrSize);
    let first = 0;
    for (let i = 0; i < table.length; i++) {
      if ((table.flags[i] & 2) === 0) continue;
      if (i > first)
        this.fresh.push({
          lo: table.addresses[first],
          hi: table.addresses[i],
          table,
          compDir: u.compDir,
          first,
          end: i,
          unit: k,
        });
      first = i + 1;
    }
  }

  /** Merges the sequences read since the last lookup into `seqs`. */
  private mergeFresh(): void {
    const a = this.seqs;
    const b = this.fresh.sort(bySequenceOrder);
    this.fresh = [];
    if (a.length === 0) {
      this.seqs = b;
      return;
    }
    const out: Sequence[] = new Array<Sequence>(a.length + b.length);
    let i = 0;
    let j = 0;
    let k = 0;
    while (i < a.length && j < b.length) out[k++] = bySequenceOrder(a[i], b[j]) <= 0 ? a[i++] : b[j++];
    while (i < a.length) out[k++] = a[i++];
    while (j < b.length) out[k++] = b[j++];
    this.seqs = out;
  }

  /** Reads the tables of the units whose code ranges hold pc. */
  private readFor(pc: number): void {
    const ps = this.pending;
    let lo = 0;
    let hi = ps.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (ps[mid].lo <= pc) lo = mid + 1;
      else hi = mid;
    }
    for (let j = lo - 1; j >= 0 && this.pendingMaxHi[j] > pc; j--) {
      const p = ps[j];
      if (pc < p.hi) this.readUnit(p.unit);
    }
  }

  /** The sequence holding pc and the index of its last row at or before pc. */
  private rowAt(pc: number): { s: Sequence; i: number } | undefined {
    if (this.broken) return undefined;
    if (this.pending.length) {
      try {
        this.readFor(pc);
      } catch (e) {
        if (!this.tolerant) throw e;
        this.broken = true;
        return undefined;
      }
    }
    if (this.fresh.length) this.mergeFresh();
    const ss = this.seqs;
    let lo = 0;
    let hi = ss.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (ss[mid].lo <= pc) lo = mid + 1;
      else hi = mid;
    }
    // Sequences of code the linker discarded all start at 0 and may overlap: look back a little.
    for (let k = lo - 1; k >= 0 && k >= lo - 8; k--) {
      const s = ss[k];
      if (pc >= s.hi) continue;
      const a = s.table.addresses;
      let l = s.first;
      let h = s.end;
      while (l < h) {
        const mid = (l + h) >> 1;
        if (a[mid] <= pc) l = mid + 1;
        else h = mid;
      }
      return { s, i: l - 1 };
    }
    return undefined;
  }

  /** Where the code of pc's source line starts: the first of the consecutive rows, up to pc's
   * own, for the same file and line (a statement's code before a call in it). */
  lineStart(pc: number): number | undefined {
    const r = this.rowAt(pc);
    if (!r) return undefined;
    const t = r.s.table;
    const line = t.lines[r.i];
    const file = t.fileIdx[r.i];
    let i = r.i;
    while (i > r.s.first && t.lines[i - 1] === line && t.fileIdx[i - 1] === file) i--;
    return t.addresses[i];
  }

  lookup(pc: number): { file: string; line: number; column: number } | undefined {
    const r = this.rowAt(pc);
    if (!r) return undefined;
    const t = r.s.table;
    const f = t.fileName(t.fileIdx[r.i]);
    if (!f) return undefined;
    // A relative compilation directory (a reproducible build) is kept as written, not made ours.
    const dir = r.s.compDir;
    const file = path.isAbsolute(dir) ? path.resolve(dir, f) : path.join(dir, f);
    return { file, line: t.lines[r.i], column: t.columns[r.i] };
  }
}

function bySequenceOrder(a: Sequence, b: Sequence): number {
  return a.lo - b.lo || a.unit - b.unit || a.first - b.first;
}

/** The code ranges of a unit's root DIE, or undefined when it gives none or they cannot be read
 * (its line table is then read up front). */
function codeRanges(cur: DieCursor, u: Unit): Range[] | undefined {
  try {
    if (u.dieOffset >= u.end || !cur.read(u.dieOffset)) return undefined;
    if (cur.has(DW_AT.ranges)) return readRanges(u, cur.form(DW_AT.ranges), cur.udata(DW_AT.ranges) ?? 0);
    const lo = cur.addr(DW_AT.low_pc);
    const hi = lo === undefined ? undefined : cur.highPc(lo);
    return lo === undefined || hi === undefined ? undefined : [[lo, hi]];
  } catch {
    return undefined;
  }
}
